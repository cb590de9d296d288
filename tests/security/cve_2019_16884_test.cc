// CVE-2019-16884 and CVE-2023-27561 (with CVE-2023-28642): a mount target that
// is, or leads to, a fake procfs, so that what the runtime writes into /proc
// afterwards (the AppArmor/SELinux label, sysctls) lands in the attacker's files
// and the container runs unconfined.
//
// Defences (container/init_plan_mounts.cc, init_rootfs.cc, linux/procfs.h):
// nothing but procfs may be mounted on /proc and nothing but lxcfs's files over
// procfs, checked on the config and again on the resolved target (symlinks in
// the rootfs included); procfs itself only goes on a real directory reached
// without symlinks; and every write into /proc goes through a verified procfs
// root with mounts and symlinks refused.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "linux/lsm.h"
#include "linux/procfs.h"
#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2019_16884 : public CveTest {
 protected:
  // A directory that looks like /proc: self/attr/exec and a sysctl file.
  std::string FakeProc() {
    std::string fake = dir_ + "/fakeproc";
    for (const char* d : {"", "/self", "/self/attr", "/sys", "/sys/net", "/sys/net/ipv4"})
      ::mkdir((fake + d).c_str(), 0755);
    std::ofstream(fake + "/self/attr/exec") << "";
    std::ofstream(fake + "/sys/net/ipv4/ip_forward") << "0\n";
    return fake;
  }
  // `berth run` of a marker command; the attack must make it fail before it runs.
  void ExpectRefused(const std::function<void(json&)>& edit, const std::string& why) {
    std::string id = NewId();
    auto r = Berth({"run", "-b", MakeBundle({"sh", "-c", "echo RAN"}, edit), id});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos);
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
};

TEST_F(Cve_2019_16884, FakeProcfsBoundOverProcIsRefused) {
  std::string fake = FakeProc();
  ExpectRefused(
      [&](json& s) {
        s["mounts"].push_back(
            {{"destination", "/proc"}, {"type", "bind"}, {"source", fake}, {"options", {"rbind"}}});
        s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
      },
      "only procfs may be mounted on /proc");
  EXPECT_EQ(ReadFileOrEmpty(fake + "/sys/net/ipv4/ip_forward"), "0\n");
  // Not over a part of it either.
  ExpectRefused(
      [&](json& s) {
        s["mounts"].push_back({{"destination", "/proc/self/attr"},
                               {"type", "bind"},
                               {"source", fake + "/self/attr"},
                               {"options", {"rbind"}}});
      },
      "only procfs may be mounted on /proc");
}

TEST_F(Cve_2019_16884, MountLeadingToProcThroughASymlinkIsRefused) {
  std::string rootfs = PrivateRootfs();
  ASSERT_EQ(::symlink("/proc", (rootfs + "/evil").c_str()), 0);
  std::string fake = FakeProc();
  ExpectRefused(
      [&](json& s) {
        s["root"]["path"] = rootfs;
        s["mounts"].push_back(
            {{"destination", "/evil"}, {"type", "bind"}, {"source", fake}, {"options", {"rbind"}}});
      },
      "the target is on procfs");
  ExpectRefused(
      [&](json& s) {
        s["root"]["path"] = rootfs;
        s["mounts"].push_back({{"destination", "/evil/sys/net/ipv4/ip_forward"},
                               {"type", "bind"},
                               {"source", fake + "/sys/net/ipv4/ip_forward"},
                               {"options", {"bind"}}});
        s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
      },
      "the target is on procfs");
  EXPECT_EQ(ReadFileOrEmpty(fake + "/sys/net/ipv4/ip_forward"), "0\n");
}

// CVE-2023-27561 / CVE-2023-28642: /proc itself a symlink in the image.
TEST_F(Cve_2019_16884, ProcThatIsASymlinkInTheImageIsRefused) {
  std::string rootfs = PrivateRootfs();
  std::string fake = FakeProc();
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", fake, rootfs + "/fakeproc"}).status, 0);
  ASSERT_EQ(::rmdir((rootfs + "/proc").c_str()), 0);
  ASSERT_EQ(::symlink("/fakeproc", (rootfs + "/proc").c_str()), 0);
  ExpectRefused(
      [&](json& s) {
        s["root"]["path"] = rootfs;
        s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
      },
      "mount proc on /proc");
  EXPECT_EQ(ReadFileOrEmpty(rootfs + "/fakeproc/sys/net/ipv4/ip_forward"), "0\n");
}

// The label writer itself refuses anything but the procfs root, and a file
// outside procfs even when handed a fake root (the LSMs are off on this host,
// so this is checked at the function that writes the labels).
TEST_F(Cve_2019_16884, LabelsAreNeverWrittenToAFakeProc) {
  std::string fake = FakeProc();
  ASSERT_EQ(::symlink("self", (fake + "/thread-self").c_str()), 0);
  EXPECT_EQ(linux::OpenProcRoot(fake.c_str()), -EXDEV);
  int fake_root = ::open(fake.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fake_root, 0);
  EXPECT_EQ(ErrnoName(-linux::SetAppArmorExecProfile(fake_root, "unconfined")), "EXDEV");
  EXPECT_EQ(ErrnoName(-linux::SetSelinuxExecLabel(fake_root, "system_u:system_r:spc_t:s0")),
            "EXDEV");
  ::close(fake_root);
  EXPECT_EQ(ReadFileOrEmpty(fake + "/self/attr/exec"), "");
}

}  // namespace
}  // namespace berth::testing
