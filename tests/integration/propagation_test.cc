// linux.rootfsPropagation and per-mount propagation, seen from the host: what CRI's
// mountPropagation Bidirectional (rootfsPropagation rshared, a bind with rshared)
// needs, against a shared host directory the test makes.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Propagation : public BerthTest {
 protected:
  void SetUp() override {
    BerthTest::SetUp();
    shared_ = dir_ + "/shared";
    ASSERT_EQ(::mkdir(shared_.c_str(), 0755), 0);
    ASSERT_EQ(::mount(shared_.c_str(), shared_.c_str(), nullptr, MS_BIND, nullptr), 0);
    mounted_ = true;
    ASSERT_EQ(::mount(nullptr, shared_.c_str(), nullptr, MS_SHARED | MS_REC, nullptr), 0);
  }
  void TearDown() override {
    BerthTest::TearDown();  // the containers first
    // What propagated from the container, then the shared directory itself.
    (void)::umount2((shared_ + "/m").c_str(), MNT_DETACH);
    if (mounted_) (void)::umount2(shared_.c_str(), MNT_DETACH);
  }

  // A container that mounts a tmpfs on the volume's m/ and waits; the volume is the
  // shared directory with `options`, the root has `root_propagation`.
  std::string StartMounter(const std::string& root_propagation,
                           const std::vector<std::string>& options) {
    std::string id = NewId();
    std::string bundle = MakeBundle(
        {"sh", "-c", "exec >/dev/null 2>/tmp/vol/err; mkdir -p /tmp/vol/m && mount -t tmpfs tmpfs /tmp/vol/m && "
                     "touch /tmp/vol/m/from-container && exec sleep 100"},
        [&](json& s) {
          s["linux"]["rootfsPropagation"] = root_propagation;
          s["mounts"].push_back({{"destination", "/tmp/vol"}, {"type", "bind"},
                                 {"source", shared_}, {"options", options}});
          for (const char* set : {"bounding", "effective", "permitted"})
            s["process"]["capabilities"][set].push_back("CAP_SYS_ADMIN");
        });
    auto r = Berth({"run", "-d", "-b", bundle, id});
    EXPECT_EQ(r.status, 0) << r.err;
    return id;
  }
  bool HostSees(const std::string& path, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 50) {
      if (::access(path.c_str(), F_OK) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string shared_;
  bool mounted_ = false;
};

TEST_F(Propagation, RsharedRootAndVolumePropagateMountsBackToTheHost) {
  std::string id = StartMounter("rshared", {"rbind", "rshared"});
  EXPECT_TRUE(HostSees(shared_ + "/m/from-container", 10000))
      << "the container's mount under the bidirectional volume is not on the host";
  EXPECT_EQ(Berth({"delete", "-f", id}).status, 0);
}

TEST_F(Propagation, SlaveVolumeKeepsTheContainersMountsInside) {
  std::string id = StartMounter("rslave", {"rbind", "rslave"});
  // The container has mounted when its file exists inside; the host must not see it.
  bool inside = false;
  for (int i = 0; i < 200 && !inside; ++i) {
    auto e = Berth({"exec", id, "test", "-e", "/tmp/vol/m/from-container"});
    inside = e.status == 0;
    if (i == 199) ADD_FAILURE() << e.err << Berth({"state", id}).out;
    if (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(inside) << "the container never mounted: " << ReadFileOrEmpty(shared_ + "/err");
  EXPECT_FALSE(HostSees(shared_ + "/m/from-container", 300));
  EXPECT_EQ(Berth({"delete", "-f", id}).status, 0);
}

}  // namespace
}  // namespace berth::testing
