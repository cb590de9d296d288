// A user namespace joined by path, as containerd's CRI gives a user-namespaced pod (it
// pins the pod's namespace and every container joins it): the init becomes root in
// it, device nodes are bound, and a bind source only host root may reach (containerd's
// sandbox state) is opened by the runtime.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class JoinedUserNamespace : public BerthTest {
 protected:
  void SetUp() override {
    BerthTest::SetUp();
    // A process that holds a user namespace mapping container 0.. to host 200000..
    holder_ = ::fork();
    ASSERT_GE(holder_, 0);
    if (holder_ == 0) {
      ::execlp("unshare", "unshare", "--user", "sleep", "1000", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      char a[64] = {}, b[64] = {};
      ::readlink(("/proc/" + std::to_string(holder_) + "/ns/user").c_str(), a, sizeof a - 1);
      ::readlink("/proc/self/ns/user", b, sizeof b - 1);
      if (std::string(a) != b && std::string(a).starts_with("user:")) break;
      ::usleep(10000);
    }
    std::string proc = "/proc/" + std::to_string(holder_);
    std::ofstream(proc + "/uid_map") << "0 200000 65536\n";
    std::ofstream(proc + "/gid_map") << "0 200000 65536\n";
    path_ = proc + "/ns/user";
  }
  void TearDown() override {
    BerthTest::TearDown();
    if (holder_ > 0) {
      ::kill(holder_, SIGKILL);
      ::waitpid(holder_, nullptr, 0);
    }
  }
  pid_t holder_ = -1;
  std::string path_;
};

TEST_F(JoinedUserNamespace, RunsAsRootWithDevicesAndAHostOnlyBindSource) {
  // Only host root may enter `locked`; the container's root is host 200000.
  std::string locked = dir_ + "/locked";
  ASSERT_EQ(::mkdir(locked.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((locked + "/vol").c_str(), 0755), 0);
  std::ofstream(locked + "/vol/file") << "inside\n";
  std::string id = NewId();
  auto r = Berth({"run", "-b", MakeBundle({"sh", "-c", "id -u; cat /tmp/vol/file; test -c /dev/null"},
                                         [&](json& s) {
                    s["linux"]["namespaces"].push_back({{"type", "user"}, {"path", path_}});
                    s["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
                    s["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
                    s["mounts"].push_back({{"destination", "/tmp/vol"}, {"type", "bind"},
                                           {"source", locked + "/vol"}, {"options", {"rbind", "ro"}}});
                  }),
                  id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\ninside\n");
}

}  // namespace
}  // namespace berth::testing
