// Terminals, stdio ownership, reaping and the shim's own placement, shim against shim.
#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <thread>

#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "tests/shim/shim_fixture.h"

namespace berth::shimtest {
namespace {

using namespace std::chrono_literals;

class ShimIoTest : public ShimApiTest {
 protected:
  // A fifo at `path`, opened for reading (non-blocking) as containerd's client does.
  int ReaderFifo(const std::string& path) {
    ::mkfifo(path.c_str(), 0600);
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    log_fds_.push_back(fd);
    return fd;
  }

  // Everything from `fd` until end of file after some data (a fifo reads end of file
  // before its writer first opens it), or until `timeout`.
  static std::string ReadToEof(int fd, std::chrono::milliseconds timeout = 10s) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      char buf[4096];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 && !out.empty()) break;
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 20);
      if (n == 0) std::this_thread::sleep_for(20ms);  // no writer yet: POLLHUP at once
    }
    return out;
  }
};

TEST_P(ShimIoTest, TerminalWithResize) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sh", "-c", "sleep 0.5; tty; stty size"},
                              [](nlohmann::json& j) { j["process"]["terminal"] = true; });
  ShimProcess* shim = StartShim(id, bundle);
  ASSERT_TRUE(shim);
  int out = ReaderFifo(dir_ + "/" + id + "-stdout");
  task::CreateTaskRequest req;
  req.set_id(id);
  req.set_bundle(bundle);
  req.set_terminal(true);
  req.set_stdout(dir_ + "/" + id + "-stdout");
  ttrpc::Status s = Create(*shim, req);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  task::ResizePtyRequest resize = WithId<task::ResizePtyRequest>(id);
  resize.set_width(100);
  resize.set_height(40);
  ASSERT_TRUE(Call(*shim, "ResizePty", resize).ok());
  std::string text = ReadToEof(out);
  EXPECT_NE(text.find("/dev/pts/"), std::string::npos) << text;
  EXPECT_NE(text.find("40 100"), std::string::npos) << text;
  task::WaitResponse waited;
  ASSERT_TRUE(shim->Call("Wait", WithId<task::WaitRequest>(id), waited).ok());
  EXPECT_EQ(waited.exit_status(), 0u);
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
}

TEST_P(ShimIoTest, PipesBelongToIoUidAndGid) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"stat", "-L", "-c", "%u:%g", "/proc/self/fd/1"});
  containerd::runc::v1::Options o;
  o.set_root(root_);
  o.set_io_uid(1234);
  o.set_io_gid(4321);
  google::protobuf::Any any;
  any.set_type_url("containerd.runc.v1.Options");
  any.set_value(o.SerializeAsString());
  ShimProcess* shim = StartShim(id, bundle);
  ASSERT_TRUE(shim);
  int out = ReaderFifo(dir_ + "/" + id + "-stdout");
  task::CreateTaskRequest req;
  req.set_id(id);
  req.set_bundle(bundle);
  req.set_stdout(dir_ + "/" + id + "-stdout");
  ReaderFifo(dir_ + "/" + id + "-stderr");  // runc's shim wants all three, as containerd sends them
  req.set_stderr(dir_ + "/" + id + "-stderr");
  *req.mutable_options() = any;
  ttrpc::Status s = Create(*shim, req);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  // The init then gives stdio to the process's user (runc's fixStdioPermissions, berth's
  // GiveStdioToUser: uid 0 here), keeping the group.
  EXPECT_EQ(ReadToEof(out), "0:4321\n");
  ASSERT_TRUE(Call(*shim, "Wait", WithId<task::WaitRequest>(id)).ok());
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
}

std::set<pid_t> ZombieChildren(pid_t pid) {
  std::set<pid_t> out;
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(tasks.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(tasks + "/" + e->d_name + "/children");
    pid_t child;
    while (in >> child) {
      std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z')
        out.insert(child);
    }
  }
  ::closedir(d);
  return out;
}

// Without a pid namespace the init's children outlive it: the shim kills them (as
// runc's shim does) and, as their subreaper, reaps them; no zombie stays.
TEST_P(ShimIoTest, OrphansOfAContainerWithoutPidNamespaceAreReaped) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sh", "-c", "sleep 60 & sleep 60 & exit 7"}, [](nlohmann::json& j) {
    auto& ns = j["linux"]["namespaces"];
    for (auto it = ns.begin(); it != ns.end();)
      it = (*it)["type"] == "pid" ? ns.erase(it) : it + 1;
  });
  ShimProcess* shim = StartShim(id, bundle);
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Create(*shim, id, bundle).ok());
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  task::WaitResponse waited;
  ASSERT_TRUE(shim->Call("Wait", WithId<task::WaitRequest>(id), waited).ok());
  EXPECT_EQ(waited.exit_status(), 7u);
  bool clean = false;
  for (int i = 0; i < 60 && !clean; ++i) {
    std::this_thread::sleep_for(100ms);
    // No zombie of the shim's, and no process left in the container's cgroups (gone,
    // or empty).
    clean = ZombieChildren(shim->pid()).empty();
    for (const auto& dir : testing::CgroupDirsNamed(id))
      clean = clean && testing::ReadFileOrEmpty(dir + "/cgroup.procs").empty();
  }
  std::string left = std::to_string(ZombieChildren(shim->pid()).size()) + " zombies;";
  for (const auto& dir : testing::CgroupDirsNamed(id))
    left += " " + dir + ": [" + testing::ReadFileOrEmpty(dir + "/cgroup.procs") + "]";
  if (!clean && !is_berth())
    GTEST_SKIP() << "the reference runc-v2 2.3 + runc 1.4 left processes: " << left;
  EXPECT_TRUE(clean) << "zombies or processes left after the init exited: " << left;
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
}

TEST_P(ShimIoTest, ShimCgroupOption) {
  if (!is_berth()) GTEST_SKIP() << "runc's shim needs the cgroup in every v1 hierarchy";
  std::string cg = "/berth-shimcg-" + std::to_string(::getpid());
  std::vector<std::string> made;
  for (const char* c : {"memory", "pids", "cpu"}) {
    std::string d = std::string("/sys/fs/cgroup/") + c + cg;
    if (::mkdir(d.c_str(), 0755) == 0) made.push_back(d);
  }
  if (made.empty()) GTEST_SKIP() << "no v1 hierarchy to place the shim in";
  containerd::runc::v1::Options o;
  o.set_root(root_);
  o.set_shim_cgroup(cg);
  google::protobuf::Any any;
  any.set_type_url("containerd.runc.v1.Options");
  any.set_value(o.SerializeAsString());
  std::string id = NewId();
  std::string bundle = Bundle(id, {"true"});
  ShimProcess* shim = StartShim(id, bundle, any.SerializeAsString());
  ASSERT_TRUE(shim);
  std::string cgroups = testing::ReadFileOrEmpty("/proc/" + std::to_string(shim->pid()) + "/cgroup");
  EXPECT_NE(cgroups.find(":memory:" + cg + "\n"), std::string::npos) << cgroups;
  (void)Call(*shim, "Shutdown", WithId<task::ShutdownRequest>(id));
  for (int i = 0; i < 100 && ProcessAlive(shim->pid()); ++i) std::this_thread::sleep_for(20ms);
  for (const auto& d : made) EXPECT_EQ(::rmdir(d.c_str()), 0) << d;
}

INSTANTIATE_TEST_SUITE_P(Shims, ShimIoTest, ::testing::ValuesIn(Shims()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace berth::shimtest
