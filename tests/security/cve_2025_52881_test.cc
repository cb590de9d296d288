// CVE-2025-52881: the runtime's writes into /proc (the LSM label in
// /proc/self/attr/*, sysctls) redirected to another, real procfs file by a
// mount over the target (through racing shared mounts, or the /dev/null and
// /dev/console tricks of CVE-2025-31133 / CVE-2025-52565): a no-op write makes
// the container run unconfined, a write to /proc/sysrq-trigger or
// /proc/sys/kernel/core_pattern breaks the host. runc's "is it procfs?" check
// passes, since the redirect target is procfs too.
//
// Defence (linux/procfs.h): every such write opens its file beneath a verified
// procfs root with openat2(RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH): a mount anywhere on the path fails
// the open (EXDEV). These tests cover the writer with real procfs overmounts in
// a private mount namespace, and the create path end to end.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "linux/lsm.h"
#include "linux/procfs.h"
#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2025_52881 : public CveTest {
 protected:
  // A fresh procfs at <dir_>/proc (in the caller's private mount namespace).
  std::string MountProc() {
    std::string proc = dir_ + "/proc";
    ::mkdir(proc.c_str(), 0755);
    if (::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
      return "";
    return proc;
  }
};

std::string Bind(const std::string& from, const std::string& to) {
  return ::mount(from.c_str(), to.c_str(), nullptr, MS_BIND, nullptr) == 0
             ? ""
             : std::string("bind failed: ") + std::strerror(errno) + "\n";
}

TEST_F(Cve_2025_52881, SysctlWriteOverAProcfsOvermountFails) {
  std::string out = InPrivateMountNamespace([&] {
    std::string proc = MountProc();
    if (proc.empty()) return std::string("mount proc failed");
    int root = linux::OpenProcRoot(proc.c_str());
    if (root < 0) return "OpenProcRoot: " + ErrnoName(-root);
    std::string result;
    // Untouched: the write path opens fine.
    int fd = linux::OpenProcFile(root, "sys/kernel/domainname", O_WRONLY);
    result += "clean=" + ErrnoName(fd < 0 ? -fd : 0) + "\n";
    if (fd >= 0) ::close(fd);
    // A real procfs file (the no-op /proc/uptime, another sysctl, the
    // destructive sysrq-trigger where the kernel has it) bound over the sysctl:
    // runc's "is it procfs" check would pass.
    for (const char* gadget : {"/uptime", "/sys/kernel/hostname", "/sysrq-trigger"}) {
      struct stat st;
      if (::stat((proc + gadget).c_str(), &st) < 0) continue;
      result += Bind(proc + gadget, proc + "/sys/kernel/domainname");
      result += std::string(gadget) + "=" +
                ErrnoName(-linux::WriteProcFile(root, "sys/kernel/domainname", "x", 1)) + "\n";
      ::umount2((proc + "/sys/kernel/domainname").c_str(), MNT_DETACH);
    }
    // A mount on a directory of the path counts as much as one on the file.
    result += Bind(proc + "/sys/vm", proc + "/sys/kernel");
    result +=
        "dir=" + ErrnoName(-linux::WriteProcFile(root, "sys/kernel/domainname", "x", 1)) + "\n";
    ::close(root);
    return result;
  });
  EXPECT_EQ(out.substr(0, out.find("/sys/kernel/hostname")), "clean=OK\n/uptime=EXDEV\n") << out;
  EXPECT_NE(out.find("/sys/kernel/hostname=EXDEV\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("=OK", 8), std::string::npos) << out;
  EXPECT_NE(out.find("dir=EXDEV\n"), std::string::npos) << out;
}

TEST_F(Cve_2025_52881, LabelWriteOverAProcfsOvermountFails) {
  std::string out = InPrivateMountNamespace([&] {
    std::string proc = MountProc();
    if (proc.empty()) return std::string("mount proc failed");
    int root = linux::OpenProcRoot(proc.c_str());
    if (root < 0) return "OpenProcRoot: " + ErrnoName(-root);
    std::string self = std::to_string(::getpid());
    std::string attr = proc + "/" + self + "/task/" + self + "/attr";
    std::string result;
    int fd = linux::OpenThreadAttr(root, "exec", O_WRONLY);
    result += "clean=" + ErrnoName(fd < 0 ? -fd : 0) + "\n";
    if (fd >= 0) ::close(fd);
    // The no-op variant: attr/exec turned into /proc/self/sched; the label
    // write "succeeds" into the wrong file and the process runs unconfined.
    result += Bind(proc + "/" + self + "/sched", attr + "/exec");
    struct stat st;
    bool apparmor_dir = ::stat((attr + "/apparmor/exec").c_str(), &st) == 0;
    if (apparmor_dir) result += Bind(proc + "/" + self + "/sched", attr + "/apparmor/exec");
    result +=
        "sched=" + ErrnoName(-linux::SetSelinuxExecLabel(root, "system_u:system_r:x:s0")) + "\n";
    result += "apparmor=" + ErrnoName(-linux::SetAppArmorExecProfile(root, "unconfined")) + "\n";
    ::umount2((attr + "/exec").c_str(), MNT_DETACH);
    if (apparmor_dir) ::umount2((attr + "/apparmor/exec").c_str(), MNT_DETACH);
    ::close(root);
    return result;
  });
  EXPECT_EQ(out, "clean=OK\nsched=EXDEV\napparmor=EXDEV\n");
}

TEST_F(Cve_2025_52881, ProcRootMustBeAProcfsRoot) {
  std::string out = InPrivateMountNamespace([&] {
    std::string proc = MountProc();
    if (proc.empty()) return std::string("mount proc failed");
    std::string sub = dir_ + "/sub";
    ::mkdir(sub.c_str(), 0755);
    std::string result = Bind(proc + "/sys", sub);  // a procfs directory, not its root
    result += "sub=" + ErrnoName(-linux::OpenProcRoot(sub.c_str())) + "\n";
    result += "tmp=" + ErrnoName(-linux::OpenProcRoot(dir_.c_str())) + "\n";
    int root = linux::OpenProcRoot(proc.c_str());
    result += "proc=" + ErrnoName(root < 0 ? -root : 0) + "\n";
    // A symlink on the way is refused too.
    int fd = linux::OpenProcFile(root, "self/status", O_RDONLY);
    result += "symlink=" + ErrnoName(fd < 0 ? -fd : 0) + "\n";
    if (fd >= 0) ::close(fd);
    if (root >= 0) ::close(root);
    return result;
  });
  EXPECT_EQ(out, "sub=EXDEV\ntmp=EXDEV\nproc=OK\nsymlink=ELOOP\n");
}

// End to end: a config that covers the sysctl's file with another procfs file
// (the lxcfs exception is the only mount allowed on procfs) is refused, and a
// plain sysctl still works.
TEST_F(Cve_2025_52881, SysctlTargetCoveredByAMountIsRefused) {
  std::string id = NewId();
  auto r =
      Berth({"run", "-b",
             MakeBundle({"sh", "-c", "echo RAN"},
                        [](json& s) {
                          s["mounts"].push_back({{"destination", "/proc/sys/net/ipv4/ip_forward"},
                                                 {"type", "bind"},
                                                 {"source", "/proc/sysrq-trigger"},
                                                 {"options", {"bind"}}});
                          s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
                        }),
             id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out.find("RAN"), std::string::npos);
  EXPECT_NE(r.err.find("/proc/sys/net/ipv4/ip_forward"), std::string::npos) << r.err;
  auto ok = Berth({"run", "-b",
                   MakeBundle({"cat", "/proc/sys/net/ipv4/ip_forward"},
                              [](json& s) {
                                s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
                              }),
                   NewId()});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "1\n");
}

}  // namespace
}  // namespace berth::testing
