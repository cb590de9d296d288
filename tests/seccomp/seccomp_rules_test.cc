// Argument comparisons, architectures, flags and the errors of an invalid profile.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cctype>
#include <functional>

#include "tests/seccomp/seccomp_test_support.h"

namespace berth::linux {
namespace {

using testing::Arg;
using testing::ChildReport;
using testing::ErrnoOf;
using testing::Profile;
using testing::Rule;
using testing::RunUnderFilter;

// close(2) on fds that are not open fails with EBADF; a matching rule answers ENOMSG.
constexpr int kFirstFd = 896;
constexpr int kFdCount = 16;

struct OpCase {
  const char* op;
  uint64_t value, value_two;
  std::function<bool(uint64_t)> matches;
};

class SeccompOperators : public ::testing::TestWithParam<OpCase> {};

TEST_P(SeccompOperators, CloseIsFilteredByItsFdArgument) {
  const OpCase& c = GetParam();
  auto program = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW",
              {Rule({"close"}, "SCMP_ACT_ERRNO", ENOMSG, {Arg(0, c.op, c.value, c.value_two)})}));
  ASSERT_TRUE(program.has_value()) << program.error().message;
  auto out = RunUnderFilter(*program, [](ChildReport& r) {
    for (int fd = kFirstFd; fd < kFirstFd + kFdCount; ++fd) r.Put(ErrnoOf(syscall(SYS_close, fd)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), static_cast<size_t>(kFdCount));
  for (int i = 0; i < kFdCount; ++i) {
    uint64_t fd = kFirstFd + i;
    EXPECT_EQ(out.values[i], c.matches(fd) ? ENOMSG : EBADF) << c.op << " fd " << fd;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, SeccompOperators,
    ::testing::Values(OpCase{"SCMP_CMP_EQ", 900, 0, [](uint64_t a) { return a == 900; }},
                      OpCase{"SCMP_CMP_NE", 900, 0, [](uint64_t a) { return a != 900; }},
                      OpCase{"SCMP_CMP_LT", 900, 0, [](uint64_t a) { return a < 900; }},
                      OpCase{"SCMP_CMP_LE", 900, 0, [](uint64_t a) { return a <= 900; }},
                      OpCase{"SCMP_CMP_GT", 900, 0, [](uint64_t a) { return a > 900; }},
                      OpCase{"SCMP_CMP_GE", 900, 0, [](uint64_t a) { return a >= 900; }},
                      // value is the mask, valueTwo the expected result (Docker's clone rule).
                      OpCase{"SCMP_CMP_MASKED_EQ", 0x3, 0x1,
                             [](uint64_t a) { return (a & 0x3) == 0x1; }}),
    [](const ::testing::TestParamInfo<OpCase>& info) { return std::string(info.param.op + 9); });

TEST(SeccompArguments, MaskedEqOnDup3Flags) {
  auto program = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW", {Rule({"dup3"}, "SCMP_ACT_ERRNO", ENOMSG,
                                      {Arg(2, "SCMP_CMP_MASKED_EQ", O_CLOEXEC, O_CLOEXEC)})}));
  ASSERT_TRUE(program.has_value()) << program.error().message;
  auto out = RunUnderFilter(*program, [](ChildReport& r) {
    r.Put(ErrnoOf(syscall(SYS_dup3, 900, 901, O_CLOEXEC)));
    r.Put(ErrnoOf(syscall(SYS_dup3, 900, 901, 0)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 2u);
  EXPECT_EQ(out.values[0], ENOMSG);
  EXPECT_EQ(out.values[1], EBADF);
}

TEST(SeccompArguments, ConditionsOnDifferentArgumentsAreAnded) {
  auto program = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW",
              {Rule({"socket"}, "SCMP_ACT_ERRNO", ENOMSG,
                    {Arg(0, "SCMP_CMP_EQ", AF_INET), Arg(1, "SCMP_CMP_EQ", SOCK_DGRAM)})}));
  ASSERT_TRUE(program.has_value()) << program.error().message;
  auto out = RunUnderFilter(*program, [](ChildReport& r) {
    for (auto [domain, type] : {std::pair{AF_INET, SOCK_DGRAM}, std::pair{AF_INET, SOCK_STREAM},
                                std::pair{AF_UNIX, SOCK_DGRAM}}) {
      long fd = syscall(SYS_socket, domain, type, 0);
      r.Put(ErrnoOf(fd));
      if (fd >= 0) syscall(SYS_close, fd);
    }
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 3u);
  EXPECT_EQ(out.values[0], ENOMSG) << "both conditions hold";
  EXPECT_EQ(out.values[1], 0) << "only the domain matches";
  EXPECT_EQ(out.values[2], 0) << "only the type matches";
}

TEST(SeccompArguments, ConditionsOnTheSameArgumentAreOredLikeRunc) {
  // Under AND semantics no fd could equal both 900 and 901, and nothing would match.
  auto program = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW", {Rule({"close"}, "SCMP_ACT_ERRNO", ENOMSG,
                                      {Arg(0, "SCMP_CMP_EQ", 900), Arg(0, "SCMP_CMP_EQ", 901)})}));
  ASSERT_TRUE(program.has_value()) << program.error().message;
  auto out = RunUnderFilter(*program, [](ChildReport& r) {
    for (int fd : {900, 901, 902}) r.Put(ErrnoOf(syscall(SYS_close, fd)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 3u);
  EXPECT_EQ(out.values[0], ENOMSG);
  EXPECT_EQ(out.values[1], ENOMSG);
  EXPECT_EQ(out.values[2], EBADF);
}

bool ComparesArch(const SeccompProgram& p, uint32_t arch) {
  for (const sock_filter& f : p.filter)
    if (BPF_CLASS(f.code) == BPF_JMP && BPF_OP(f.code) == BPF_JEQ && f.k == arch) return true;
  return false;
}

TEST(SeccompArchitectures, ExtraArchitecturesJoinTheNativeOne) {
  auto native = CompileSeccomp(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_ERRNO")}));
  oci::Seccomp multi = Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_ERRNO")});
  multi.architectures = {"SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"};
  auto both = CompileSeccomp(multi);
  ASSERT_TRUE(native.has_value()) << native.error().message;
  ASSERT_TRUE(both.has_value()) << both.error().message;
  EXPECT_TRUE(ComparesArch(*both, AUDIT_ARCH_I386));
  EXPECT_TRUE(ComparesArch(*both, AUDIT_ARCH_AARCH64));
  EXPECT_FALSE(ComparesArch(*native, AUDIT_ARCH_I386));
  EXPECT_TRUE(ComparesArch(*native, seccomp_arch_native())) << "native is always present";
  EXPECT_TRUE(ComparesArch(*both, seccomp_arch_native())) << "native is always present";
}

#if defined(__x86_64__)
// i386's getppid through the compat entry point, from a 64-bit process.
long CompatGetppid() {
  long ret = 64;  // __NR_getppid on i386
  asm volatile("int $0x80" : "+a"(ret) : : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

TEST(SeccompArchitectures, CompatSyscallsFollowTheX86Rules) {
  oci::Seccomp allow_both = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  allow_both.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  auto probe =
      RunUnderFilter(*CompileSeccomp(allow_both), [](ChildReport& r) { r.Put(CompatGetppid()); });
  if (!probe.Exited() || probe.values.size() != 1 || probe.values[0] < 0)
    GTEST_SKIP() << "no IA-32 emulation on this kernel (" << testing::DescribeStatus(probe.status)
                 << ")";

  oci::Seccomp with_x86 = Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_ERRNO", ENOMSG)});
  with_x86.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  auto out =
      RunUnderFilter(*CompileSeccomp(with_x86), [](ChildReport& r) { r.Put(CompatGetppid()); });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], -ENOMSG);

  // Without SCMP_ARCH_X86 a compat call hits libseccomp's bad-architecture action (kill).
  oci::Seccomp native_only =
      Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_ERRNO", ENOMSG)});
  auto killed =
      RunUnderFilter(*CompileSeccomp(native_only), [](ChildReport& r) { r.Put(CompatGetppid()); });
  EXPECT_TRUE(killed.KilledBy(SIGSYS)) << testing::DescribeStatus(killed.status);
}
#endif

TEST(SeccompFlags, FlagsGoToTheSeccompCall) {
  auto flagged = [](std::vector<std::string> flags, bool notify = false) {
    oci::Seccomp p = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO")});
    if (notify) {
      p.syscalls.push_back(Rule({"rmdir"}, "SCMP_ACT_NOTIFY"));
      p.listener_path = "/run/agent.sock";
    }
    p.flags = std::move(flags);
    return CompileSeccomp(p);
  };
  auto log = flagged({"SECCOMP_FILTER_FLAG_LOG"});
  ASSERT_TRUE(log.has_value()) << log.error().message;
  EXPECT_EQ(log->flags, SECCOMP_FILTER_FLAG_LOG);
  auto spec = flagged({"SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"});
  ASSERT_TRUE(spec.has_value()) << spec.error().message;
  EXPECT_EQ(spec->flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_LOG);
  auto tsync = flagged({"SECCOMP_FILTER_FLAG_TSYNC"});
  ASSERT_TRUE(tsync.has_value()) << tsync.error().message;
  EXPECT_EQ(tsync->flags, 0u) << "TSYNC is accepted and ignored, as runc does";
  auto killable = flagged({"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"});
  ASSERT_TRUE(killable.has_value()) << killable.error().message;
  EXPECT_EQ(killable->flags, 0u) << "the kernel takes it only with a listener";
  auto killable_notify = flagged({"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}, true);
  ASSERT_TRUE(killable_notify.has_value()) << killable_notify.error().message;
  EXPECT_EQ(killable_notify->flags, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  EXPECT_TRUE(killable_notify->wants_listener);

  // The kernel accepts what we pass: the filter loads and works.
  auto out = RunUnderFilter(
      *spec, [](ChildReport& r) { r.Put(ErrnoOf(syscall(SYS_mkdir, "/proc/berth-never", 0700))); });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], EPERM);
}

struct BadProfile {
  const char* what;
  std::function<void(oci::Seccomp&)> edit;
  const char* message;  // expected prefix of Error::message
};

class SeccompInvalidProfile : public ::testing::TestWithParam<BadProfile> {};

TEST_P(SeccompInvalidProfile, IsAnErrorNamingTheField) {
  oci::Seccomp p = Profile("SCMP_ACT_ALLOW",
                           {Rule({"mkdir"}, "SCMP_ACT_ERRNO"), Rule({"rmdir"}, "SCMP_ACT_ERRNO"),
                            Rule({"chdir"}, "SCMP_ACT_ERRNO"), Rule({"fchdir"}, "SCMP_ACT_ERRNO")});
  GetParam().edit(p);
  auto r = CompileSeccomp(p);
  ASSERT_FALSE(r.has_value()) << GetParam().what << " compiled";
  EXPECT_EQ(r.error().message.rfind(GetParam().message, 0), 0u)
      << "got: " << r.error().message << "\nwant prefix: " << GetParam().message;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, SeccompInvalidProfile,
    ::testing::Values(
        BadProfile{"action", [](oci::Seccomp& p) { p.syscalls[3].action = "SCMP_ACT_FOO"; },
                   "linux.seccomp.syscalls[3].action: unknown action SCMP_ACT_FOO"},
        BadProfile{"default", [](oci::Seccomp& p) { p.default_action = "SCMP_ACT_BAR"; },
                   "linux.seccomp.defaultAction: unknown action SCMP_ACT_BAR"},
        BadProfile{"arch",
                   [](oci::Seccomp& p) {
                     p.architectures = {"SCMP_ARCH_X86", "SCMP_ARCH_Z80"};
                   },
                   "linux.seccomp.architectures[1]: unknown architecture SCMP_ARCH_Z80"},
        BadProfile{"op",
                   [](oci::Seccomp& p) {
                     p.syscalls[0].args = {Arg(0, "SCMP_CMP_EQ", 1), Arg(1, "SCMP_CMP_ABOUT", 2)};
                   },
                   "linux.seccomp.syscalls[0].args[1].op: unknown operator SCMP_CMP_ABOUT"},
        BadProfile{"flag",
                   [](oci::Seccomp& p) {
                     p.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FOO"};
                   },
                   "linux.seccomp.flags[1]: unknown flag SECCOMP_FILTER_FLAG_FOO"},
        BadProfile{"index",
                   [](oci::Seccomp& p) { p.syscalls[1].args = {Arg(6, "SCMP_CMP_EQ", 1)}; },
                   "linux.seccomp.syscalls[1].args[0].index: 6 is out of range"},
        BadProfile{"errnoRet", [](oci::Seccomp& p) { p.syscalls[2].errno_ret = 70000; },
                   "linux.seccomp.syscalls[2].errnoRet: 70000 does not fit in 16 bits"},
        BadProfile{"defaultErrnoRet",
                   [](oci::Seccomp& p) {
                     p.default_action = "SCMP_ACT_ERRNO";
                     p.default_errno_ret = 65536;
                   },
                   "linux.seccomp.defaultErrnoRet: 65536 does not fit in 16 bits"},
        BadProfile{"empty name", [](oci::Seccomp& p) { p.syscalls[0].names.push_back(""); },
                   "linux.seccomp.syscalls[0].names[1]: empty syscall name"},
        BadProfile{"notify default",
                   [](oci::Seccomp& p) {
                     p.default_action = "SCMP_ACT_NOTIFY";
                     p.listener_path = "/run/agent.sock";
                   },
                   "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
        BadProfile{"notify without listener",
                   [](oci::Seccomp& p) { p.syscalls[0].action = "SCMP_ACT_NOTIFY"; },
                   "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY"},
        BadProfile{"notify write",
                   [](oci::Seccomp& p) {
                     p.syscalls[1] = Rule({"read", "write"}, "SCMP_ACT_NOTIFY");
                     p.listener_path = "/run/agent.sock";
                   },
                   "linux.seccomp.syscalls[1]: SCMP_ACT_NOTIFY cannot be used for write"}),
    [](const ::testing::TestParamInfo<BadProfile>& info) {
      std::string name;
      for (char c : std::string(info.param.what)) name += std::isalnum(c) ? c : '_';
      return name;
    });

}  // namespace
}  // namespace berth::linux
