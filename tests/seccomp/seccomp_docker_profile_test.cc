// Docker's default profile (tests/fixtures/docker-default-seccomp.json) compiles,
// loads and behaves as Docker documents it.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "linux/files.h"
#include "tests/seccomp/seccomp_test_support.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

namespace berth::linux {
namespace {

using testing::ChildReport;
using testing::ErrnoOf;
using testing::RunUnderFilter;

Result<oci::Seccomp> DockerDefaultProfile() {
  std::string profile =
      BERTH_TRY(ReadFile(std::string(BERTH_FIXTURES_DIR) + "/docker-default-seccomp.json"));
  std::string config =
      R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"seccomp":)" + profile + "}}";
  oci::Spec spec = BERTH_TRY(oci::ParseSpec(config));
  return *spec.linux->seccomp;
}

TEST(SeccompDockerProfile, CompilesAndBehaves) {
  auto profile = DockerDefaultProfile();
  ASSERT_TRUE(profile.has_value()) << profile.error().message;
  EXPECT_EQ(profile->default_errno_ret, 1u);
  auto program = CompileSeccomp(*profile);
  ASSERT_TRUE(program.has_value()) << program.error().message;
  EXPECT_GT(program->filter.size(), 100u);
  EXPECT_LE(program->filter.size(), static_cast<size_t>(BPF_MAXINSNS));
  EXPECT_FALSE(program->wants_listener);

  auto out = RunUnderFilter(*program, [](ChildReport& r) {
    r.Put(ErrnoOf(syscall(SYS_getppid)));
    r.Put(ErrnoOf(syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, nullptr)));
    r.Put(ErrnoOf(syscall(SYS_unshare, CLONE_NEWUSER)));
    r.Put(ErrnoOf(syscall(SYS_clone3, nullptr, 0)));
    r.Put(ErrnoOf(syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0)));
    long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    r.Put(ErrnoOf(fd));
    r.Put(ErrnoOf(syscall(SYS_personality, 0xffffffffUL)));
    r.Put(ErrnoOf(syscall(SYS_personality, 0x0040000UL /* ADDR_NO_RANDOMIZE */)));
    r.Put(ErrnoOf(syscall(SYS_keyctl, 0, 0, 0, 0, 0)));
  });
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 9u);
  EXPECT_EQ(out.values[0], 0) << "getppid is allowed";
  EXPECT_EQ(out.values[1], EPERM) << "mount needs CAP_SYS_ADMIN in Docker's profile";
  EXPECT_EQ(out.values[2], EPERM) << "unshare";
  EXPECT_EQ(out.values[3], ENOSYS) << "clone3 answers ENOSYS so that libc falls back to clone";
  EXPECT_EQ(out.values[4], EPERM) << "AF_VSOCK sockets are refused";
  EXPECT_EQ(out.values[5], 0) << "AF_UNIX sockets are allowed";
  EXPECT_EQ(out.values[6], 0) << "personality(0xffffffff) queries";
  EXPECT_EQ(out.values[7], EPERM) << "ADDR_NO_RANDOMIZE is not on the personality list";
  EXPECT_EQ(out.values[8], EPERM) << "keyctl is not allowed";
}

}  // namespace
}  // namespace berth::linux
