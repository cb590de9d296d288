// The ENOSYS stub (linux/seccomp_enosys.cc, runc's patchbpf): with a denying default,
// a syscall numbered above every syscall the profile names fails with ENOSYS, one the
// profile knows but does not allow gets the default errno.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "tests/seccomp/seccomp_test_support.h"

namespace berth::linux {
namespace {

using testing::ChildReport;
using testing::ErrnoOf;
using testing::Profile;
using testing::Rule;
using testing::RunUnderFilter;

constexpr long kUnknownSyscall = 1000;  // above every x86_64 syscall

// What the child needs to report and exit; getppid is left to the default.
oci::Seccomp Denying(std::string default_action, std::optional<uint32_t> errno_ret = {}) {
  oci::Seccomp p = Profile(std::move(default_action),
                           {Rule({"write", "exit_group", "exit", "close", "getpid"}, "SCMP_ACT_ALLOW")});
  p.default_errno_ret = errno_ret;
  return p;
}

std::vector<long> Answers(const oci::Seccomp& profile) {
  auto program = CompileSeccomp(profile);
  EXPECT_TRUE(program.has_value()) << (program ? "" : program.error().message);
  if (!program) return {};
  auto out = RunUnderFilter(*program, [](ChildReport& r) {
    r.Put(ErrnoOf(syscall(kUnknownSyscall, 0, 0, 0)));
    r.Put(ErrnoOf(syscall(SYS_getppid)));
    r.Put(ErrnoOf(syscall(SYS_getpid)));
  });
  EXPECT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  return out.values;
}

TEST(SeccompEnosys, UnknownSyscallGetsEnosysKnownOneTheDefaultErrno) {
  EXPECT_EQ(Answers(Denying("SCMP_ACT_ERRNO")), (std::vector<long>{ENOSYS, EPERM, 0}));
  EXPECT_EQ(Answers(Denying("SCMP_ACT_ERRNO", EACCES)), (std::vector<long>{ENOSYS, EACCES, 0}));
}

// Under the number of the profile's last syscall the default action still answers.
TEST(SeccompEnosys, OnlyAboveTheProfilesLastSyscall) {
  oci::Seccomp p = Denying("SCMP_ACT_ERRNO");
  p.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_ERRNO", EACCES));  // 110 < exit_group's 231
  EXPECT_EQ(Answers(p), (std::vector<long>{ENOSYS, EACCES, 0}));
}

// A permissive default needs no stub: the kernel answers ENOSYS itself.
TEST(SeccompEnosys, NoStubForAnAllowingDefault) {
  auto plain = CompileSeccomp(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_ERRNO")}));
  ASSERT_TRUE(plain.has_value());
  for (const sock_filter& f : plain->filter)
    EXPECT_FALSE(f.code == (BPF_RET | BPF_K) && f.k == (SECCOMP_RET_ERRNO | ENOSYS));
  auto out = RunUnderFilter(*plain, [](ChildReport& r) {
    r.Put(ErrnoOf(syscall(kUnknownSyscall)));
    r.Put(ErrnoOf(syscall(SYS_getppid)));
  });
  EXPECT_EQ(out.values, (std::vector<long>{ENOSYS, EPERM}));
}

// With x86 and x32 in the profile as well, native calls keep their answers.
TEST(SeccompEnosys, ExtraArchitectures) {
  oci::Seccomp p = Denying("SCMP_ACT_ERRNO");
  p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  EXPECT_EQ(Answers(p), (std::vector<long>{ENOSYS, EPERM, 0}));
}

}  // namespace
}  // namespace berth::linux
