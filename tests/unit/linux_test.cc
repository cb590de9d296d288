// Unit tests of the linux/ wrappers that need no container.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "linux/capabilities.h"
#include "linux/in_root.h"
#include "linux/mount_options.h"
#include "linux/process.h"

namespace berth::linux {
namespace {

TEST(MountOptions, FlagsPropagationAttributesAndData) {
  auto o = ParseMountOptions({"nosuid", "ro", "rw", "rbind", "rslave", "rro", "mode=755", "size=1k"});
  EXPECT_EQ(o.flags & MS_NOSUID, MS_NOSUID);
  EXPECT_EQ(o.flags & MS_RDONLY, 0u) << "a later rw clears ro";
  EXPECT_TRUE(o.IsBind());
  EXPECT_EQ(o.flags & MS_REC, MS_REC);
  EXPECT_EQ(o.propagation, MS_SLAVE | MS_REC);
  EXPECT_NE(o.attr_set, 0u);
  EXPECT_EQ(o.data, "mode=755,size=1k");
  EXPECT_EQ(ParsePropagation("bogus"), 0u);
}

TEST(MountOptions, MountPointOfTakesTheLongestParentAndUnescapes) {
  const std::string info =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "30 22 0:25 / /run rw shared:5 - tmpfs tmpfs rw\n"
      "31 30 0:26 / /run/con\\040d rw shared:6 - tmpfs tmpfs rw\n"
      "32 22 0:27 / /runaway rw shared:7 - tmpfs tmpfs rw\n";
  EXPECT_EQ(MountPointOf("/run/con d/rootfs", info), "/run/con d");
  EXPECT_EQ(MountPointOf("/run/other", info), "/run");
  EXPECT_EQ(MountPointOf("/run", info), "/run");
  EXPECT_EQ(MountPointOf("/runaway2/x", info), "/") << "a prefix that is not a parent";
  EXPECT_EQ(MountPointOf("/srv", ""), "/");
}

TEST(MountOptions, FullProcAndSysfsMountsSkipsPartialOnesAndTheRootfs) {
  const std::string info =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "23 22 0:5 / /proc rw,nosuid shared:2 - proc proc rw\n"
      "24 22 0:6 / /sys rw shared:3 - sysfs sysfs rw\n"
      "25 22 0:5 /sys /mnt/procsys rw shared:2 - proc proc rw\n"
      "26 22 0:7 / /srv/c/rootfs/proc rw - proc proc rw\n"
      "27 22 0:8 / /mnt/p\\040q rw master:4 - proc none rw\n"
      "28 22 0:9 / /mnt/t rw - tmpfs proc rw\n";
  EXPECT_EQ(FullProcAndSysfsMounts(info, "/srv/c/rootfs"),
            (std::vector<std::string>{"/proc", "/sys", "/mnt/p q"}));
}

TEST(Signals, NamesNumbersAndRealtime) {
  EXPECT_EQ(*ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_EQ(*ParseSignal("SIGRTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(*ParseSignal("RTMAX-1"), SIGRTMAX - 1);
  EXPECT_FALSE(ParseSignal("SIGFOO"));
  EXPECT_EQ(*ParseSignal("0"), 0);  // existence check only, as runc
  EXPECT_FALSE(ParseSignal("-1"));
  EXPECT_FALSE(ParseSignal("999"));
}

TEST(Capabilities, MaskRejectsUnknownAndSkipsNewerThanTheKernel) {
  std::vector<std::string> skipped;
  auto m = CapabilityMask({"CAP_CHOWN", "CAP_KILL"}, "x", 40, &skipped);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (1u << 0) | (1u << 5));
  auto bad = CapabilityMask({"CAP_TEST"}, "process.capabilities.bounding", 40);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "process.capabilities.bounding: unknown capability \"CAP_TEST\"");
  auto old = CapabilityMask({"CAP_BPF"}, "x", 37, &skipped);
  ASSERT_TRUE(old);
  EXPECT_EQ(*old, 0u);
  EXPECT_EQ(skipped, std::vector<std::string>{"CAP_BPF"});
}

TEST(Process, SignalRefusesARecycledPid) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  auto st = ReadProcStat(child);
  ASSERT_TRUE(st);
  // A start time that is not the process's: as if the pid had been reused.
  auto r = SignalProcess(child, st->start_time + 1, SIGKILL);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ESRCH);
  EXPECT_TRUE(ProcessIsAlive(child, st->start_time));
  ASSERT_TRUE(SignalProcess(child, st->start_time, SIGKILL));
  int status;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(ProcessIsAlive(child, st->start_time));
}

class InRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-inroot-XXXXXX";
    dir_ = mkdtemp(tmpl);
    root_ = dir_ + "/root";
    mkdir(root_.c_str(), 0755);
    mkdir((dir_ + "/outside").c_str(), 0755);
    root_fd_ = open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  void TearDown() override {
    close(root_fd_);
    std::system(("rm -rf " + dir_).c_str());
  }
  std::string dir_, root_;
  int root_fd_ = -1;
};

TEST_F(InRoot, SymlinksAreClampedToTheRoot) {
  // An absolute symlink and a ../ escape both stay inside the root.
  ASSERT_EQ(symlink("/outside", (root_ + "/abs").c_str()), 0);
  ASSERT_EQ(symlink("../../outside", (root_ + "/rel").c_str()), 0);
  for (const char* link : {"abs/new", "rel/new"}) {
    int fd = OpenInRoot(root_fd_, link, CreateAs::kDirectory);
    ASSERT_GE(fd, 0) << link;
    close(fd);
  }
  struct stat st;
  EXPECT_EQ(stat((root_ + "/outside/new").c_str(), &st), 0) << "created inside the root";
  EXPECT_NE(stat((dir_ + "/outside/new").c_str(), &st), 0) << "escaped the root";
}

TEST_F(InRoot, CreatesFilesAndRefusesMagicLinks) {
  int fd = OpenInRoot(root_fd_, "/a/b/c", CreateAs::kFile);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  close(fd);
  // /proc/self/fd/N inside a root is a magic link: never followed.
  ASSERT_EQ(mkdir((root_ + "/proc").c_str(), 0755), 0);
  ASSERT_EQ(mount("proc", (root_ + "/proc").c_str(), "proc", 0, nullptr), 0);
  int r = OpenInRoot(root_fd_, "/proc/self/cwd", CreateAs::kNothing);
  umount2((root_ + "/proc").c_str(), MNT_DETACH);
  EXPECT_EQ(r, -ELOOP);
}

// Every fd OpenInRoot returns is close-on-exec: the root itself, an existing path, a
// path it created, one reached through a dangling symlink.
TEST_F(InRoot, EveryFdItReturnsIsCloseOnExec) {
  ASSERT_EQ(symlink("/made/by/link", (root_ + "/dangling").c_str()), 0);
  for (auto [path, create] : {std::pair{"/", CreateAs::kNothing}, std::pair{"//", CreateAs::kDirectory},
                              std::pair{"/x/y", CreateAs::kDirectory}, std::pair{"/x", CreateAs::kNothing},
                              std::pair{"/dangling", CreateAs::kDirectory}}) {
    int fd = OpenInRoot(root_fd_, path, create);
    ASSERT_GE(fd, 0) << path;
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC) << path;
    close(fd);
  }
}

}  // namespace
}  // namespace berth::linux
