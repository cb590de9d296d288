// CVE-2025-31133: files in maskedPaths are masked by binding the container's
// /dev/null over them. A container that shares the /dev volume (or races it)
// replaces /dev/null with a symlink to a procfs file such as
// /proc/sys/kernel/core_pattern, and the runtime binds that file, writable, over
// the masked path; or deletes /dev/null and masking silently stops.
//
// Defence (container/init_rootfs.cc): /dev/null is opened once inside the root
// (magic links refused), must be the character device 1:3, and the bind uses
// that fd; anything else fails the create, a missing /dev/null included.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>

#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2025_31133 : public CveTest {
 protected:
  // An attacker-controlled /dev: a host directory bound over the container's /dev.
  std::string AttackerDev() {
    std::string dev = dir_ + "/dev-volume";
    ::mkdir(dev.c_str(), 0755);
    for (auto [name, minor] : {std::pair{"zero", 5}, std::pair{"urandom", 9}})
      ::mknod((dev + "/" + name).c_str(), S_IFCHR | 0666, makedev(1, minor));
    return dev;
  }
  // `berth run` of `script` with `dev` bind-mounted as the container's /dev.
  CommandResult RunOnDev(const std::string& dev, const std::string& script) {
    return Berth({"run", "-b",
                  MakeBundle({"sh", "-c", script},
                             [&](json& s) {
                               for (auto& m : s["mounts"])
                                 if (m["destination"] == "/dev")
                                   m = {{"destination", "/dev"},
                                        {"type", "bind"},
                                        {"source", dev},
                                        {"options", {"rbind"}}};
                             }),
                  NewId()});
  }
  void ExpectRefused(const std::string& dev) {
    auto r = RunOnDev(dev, "echo RAN; cat /proc/kcore | head -c 1 | wc -c");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("/dev/null"), std::string::npos) << r.err;
  }
};

TEST_F(Cve_2025_31133, DevNullSymlinkToAProcfsFileIsRefused) {
  std::string core_pattern = ReadFileOrEmpty("/proc/sys/kernel/core_pattern");
  std::string dev = AttackerDev();
  for (const char* target : {"/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger"}) {
    ::unlink((dev + "/null").c_str());
    ASSERT_EQ(::symlink(target, (dev + "/null").c_str()), 0);
    ExpectRefused(dev);
  }
  EXPECT_EQ(ReadFileOrEmpty("/proc/sys/kernel/core_pattern"), core_pattern);
}

TEST_F(Cve_2025_31133, DevNullSymlinkToAHostFileIsRefused) {
  std::string host_file = dir_ + "/host-secret";
  std::ofstream(host_file) << "secret\n";
  std::string dev = AttackerDev();
  ASSERT_EQ(::symlink(host_file.c_str(), (dev + "/null").c_str()), 0);
  ExpectRefused(dev);
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::symlink(("/proc/self/root" + host_file).c_str(), (dev + "/null").c_str()), 0);
  ExpectRefused(dev);
  EXPECT_EQ(ReadFileOrEmpty(host_file), "secret\n");
}

TEST_F(Cve_2025_31133, DevNullThatIsNotTheNullDeviceIsRefused) {
  std::string dev = AttackerDev();
  std::ofstream(dev + "/null") << "";  // a regular file
  ExpectRefused(dev);
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::mknod((dev + "/null").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);  // /dev/zero
  ExpectRefused(dev);
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::mkfifo((dev + "/null").c_str(), 0666), 0);
  ExpectRefused(dev);
}

// runc's "Attack 2": with /dev/null deleted, masking was skipped and
// /proc/kcore readable. Here the create fails instead.
TEST_F(Cve_2025_31133, MissingDevNullFailsInsteadOfSkippingTheMasks) {
  ExpectRefused(AttackerDev());
}

// The real null device works, and masks: /proc/kcore reads as empty.
TEST_F(Cve_2025_31133, RealDevNullMasks) {
  std::string dev = AttackerDev();
  ASSERT_EQ(::mknod((dev + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  auto r = RunOnDev(dev, "echo RAN; cat /proc/kcore | wc -c");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "RAN\n0\n");
}

}  // namespace
}  // namespace berth::testing
