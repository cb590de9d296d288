// Each action compiled, loaded in a forked child and observed from the outside.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "tests/seccomp/seccomp_test_support.h"

namespace berth::linux {
namespace {

using testing::ChildReport;
using testing::ErrnoOf;
using testing::Profile;
using testing::Rule;
using testing::RunUnderFilter;
using testing::TempDir;

SeccompProgram MustCompile(const oci::Seccomp& profile) {
  auto program = CompileSeccomp(profile);
  EXPECT_TRUE(program.has_value()) << (program ? "" : program.error().message);
  return program ? *program : SeccompProgram{};
}

bool Returns(const SeccompProgram& p, uint32_t value) {
  for (const sock_filter& f : p.filter)
    if (f.code == (BPF_RET | BPF_K) && f.k == value) return true;
  return false;
}

TEST(SeccompActions, ErrnoWithoutErrnoRetIsEperm) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string target = dir.path() + "/made";
  SeccompProgram p = MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO")}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    r.Put(ErrnoOf(syscall(SYS_mkdir, target.c_str(), 0700)));
    r.Put(ErrnoOf(syscall(SYS_getppid)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 2u);
  EXPECT_EQ(out.values[0], EPERM);
  EXPECT_EQ(out.values[1], 0) << "an unfiltered syscall must work";
  EXPECT_FALSE(PathExists(target));
}

TEST(SeccompActions, ErrnoRetIsReturned) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string target = dir.path() + "/made";
  SeccompProgram p =
      MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO", ENOMSG)}));
  auto out = RunUnderFilter(
      p, [&](ChildReport& r) { r.Put(ErrnoOf(syscall(SYS_mkdir, target.c_str(), 0700))); });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], ENOMSG);
  EXPECT_FALSE(PathExists(target));
}

TEST(SeccompActions, DefaultErrnoRetWithAnAllowList) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string target = dir.path() + "/made";
  oci::Seccomp profile =
      Profile("SCMP_ACT_ERRNO", {Rule({"write", "exit_group", "exit", "mkdir"}, "SCMP_ACT_ALLOW")});
  profile.default_errno_ret = ENOMSG;
  SeccompProgram p = MustCompile(profile);
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    r.Put(ErrnoOf(syscall(SYS_getppid)));
    r.Put(ErrnoOf(syscall(SYS_mkdir, target.c_str(), 0700)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 2u);
  EXPECT_EQ(out.values[0], ENOMSG) << "getppid falls to the default action";
  EXPECT_EQ(out.values[1], 0) << "mkdir is allowed";
  EXPECT_TRUE(PathExists(target));
}

TEST(SeccompActions, DefaultErrnoWithoutErrnoRetIsEperm) {
  SeccompProgram p = MustCompile(
      Profile("SCMP_ACT_ERRNO", {Rule({"write", "exit_group", "exit"}, "SCMP_ACT_ALLOW")}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) { r.Put(ErrnoOf(syscall(SYS_getppid))); });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], EPERM);
}

TEST(SeccompActions, KillProcessDiesWithSigsys) {
  SeccompProgram p =
      MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_KILL_PROCESS")}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    syscall(SYS_getppid);
    r.Put(1);  // never reached
  });
  EXPECT_TRUE(out.KilledBy(SIGSYS)) << testing::DescribeStatus(out.status);
  EXPECT_TRUE(out.values.empty());
}

void* CallGetppid(void*) {
  syscall(SYS_getppid);
  return nullptr;
}

// In a two-thread child, KILL and KILL_THREAD end only the calling thread while
// KILL_PROCESS ends the whole process.
class SeccompKillScope : public ::testing::TestWithParam<const char*> {};

TEST_P(SeccompKillScope, KillsOnlyTheCallingThreadOrTheProcess) {
  std::string action = GetParam();
  SeccompProgram p = MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, action)}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    pthread_t t;
    if (pthread_create(&t, nullptr, CallGetppid, nullptr) != 0) return;
    pthread_join(t, nullptr);
    r.Put(42);  // the main thread survived
  });
  if (action == "SCMP_ACT_KILL_PROCESS") {
    EXPECT_TRUE(out.KilledBy(SIGSYS)) << testing::DescribeStatus(out.status);
  } else {
    ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
    ASSERT_EQ(out.values.size(), 1u);
    EXPECT_EQ(out.values[0], 42);
  }
}

INSTANTIATE_TEST_SUITE_P(Actions, SeccompKillScope,
                         ::testing::Values("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                           "SCMP_ACT_KILL_PROCESS"));

TEST(SeccompActions, KillThreadOnTheOnlyThreadEndsTheProcessWithSigsys) {
  SeccompProgram p =
      MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_KILL_THREAD")}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    syscall(SYS_getppid);
    r.Put(1);
  });
  EXPECT_TRUE(out.KilledBy(SIGSYS)) << testing::DescribeStatus(out.status);
}

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1  // si_code of a seccomp SIGSYS (asm-generic/siginfo.h)
#endif

void OnSigsys(int, siginfo_t* info, void*) {
  bool ok = info->si_code == SYS_SECCOMP && info->si_syscall == SYS_getppid;
  _exit(ok ? 77 : 78);
}

TEST(SeccompActions, TrapDeliversSigsysWithTheSyscall) {
  SeccompProgram p = MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_TRAP")}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, nullptr);
    syscall(SYS_getppid);
    r.Put(1);
  });
  ASSERT_TRUE(WIFEXITED(out.status)) << testing::DescribeStatus(out.status);
  EXPECT_EQ(WEXITSTATUS(out.status), 77) << "SIGSYS without SYS_SECCOMP / si_syscall";
}

TEST(SeccompActions, TraceWithoutTracerFailsWithEnosys) {
  // seccomp(2): with no tracer attached, SECCOMP_RET_TRACE fails the call with ENOSYS.
  SeccompProgram p =
      MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_TRACE", 7)}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) { r.Put(ErrnoOf(syscall(SYS_getppid))); });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], ENOSYS);
}

TEST(SeccompActions, TraceCarriesErrnoRetAsItsData) {
  SeccompProgram with =
      MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_TRACE", 0x1234)}));
  SeccompProgram without =
      MustCompile(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_TRACE")}));
  EXPECT_TRUE(Returns(with, SECCOMP_RET_TRACE | 0x1234));
  EXPECT_TRUE(Returns(without, SECCOMP_RET_TRACE | EPERM)) << "runc's default trace data";
}

TEST(SeccompActions, LogAndAllowLetTheCallThrough) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string logged = dir.path() + "/logged", allowed = dir.path() + "/allowed";
  SeccompProgram p = MustCompile(
      Profile("SCMP_ACT_ERRNO", {
                                    Rule({"mkdir"}, "SCMP_ACT_LOG"),
                                    Rule({"rmdir", "write", "exit_group"}, "SCMP_ACT_ALLOW"),
                                }));
  auto out = RunUnderFilter(p, [&](ChildReport& r) {
    r.Put(ErrnoOf(syscall(SYS_mkdir, logged.c_str(), 0700)));
    r.Put(ErrnoOf(syscall(SYS_rmdir, logged.c_str())));
    r.Put(ErrnoOf(syscall(SYS_getppid)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 3u);
  EXPECT_EQ(out.values[0], 0) << "LOG lets mkdir run";
  EXPECT_EQ(out.values[1], 0) << "ALLOW lets rmdir run";
  EXPECT_EQ(out.values[2], EPERM) << "everything else is denied";
}

TEST(SeccompActions, UnknownSyscallNamesAreSkipped) {
  SeccompProgram p = MustCompile(Profile(
      "SCMP_ACT_ALLOW",
      {Rule({"no_such_syscall_berth", "getppid", "another_fake"}, "SCMP_ACT_ERRNO", ENOMSG)}));
  auto out = RunUnderFilter(p, [&](ChildReport& r) { r.Put(ErrnoOf(syscall(SYS_getppid))); });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], ENOMSG);
}

TEST(SeccompActions, RuleWithTheDefaultActionIsSkippedLikeRunc) {
  // libseccomp refuses a rule whose action is the default one; runc drops it.
  auto p = CompileSeccomp(Profile("SCMP_ACT_ERRNO", {Rule({"mkdir"}, "SCMP_ACT_ERRNO"),
                                                     Rule({"exit_group"}, "SCMP_ACT_ALLOW")}));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  // Another errno is another action, and does become a rule.
  auto q = CompileSeccomp(Profile("SCMP_ACT_ERRNO", {Rule({"mkdir"}, "SCMP_ACT_ERRNO", ENOMSG)}));
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_TRUE(Returns(*q, SECCOMP_RET_ERRNO | ENOMSG));
  EXPECT_FALSE(Returns(*p, SECCOMP_RET_ERRNO | ENOMSG));
}

TEST(SeccompActions, LoadRejectsAnEmptyProgram) {
  EXPECT_EQ(LoadSeccompProgram(SeccompProgram{}), -EINVAL);
}

}  // namespace
}  // namespace berth::linux
