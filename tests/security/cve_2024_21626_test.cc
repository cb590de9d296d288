// CVE-2024-21626 ("Leaky Vessels"): runc leaked an fd of a host directory into
// the container's init, and process.cwd (or `exec --cwd`, or the executable's
// path) "/proc/self/fd/N" then led outside the rootfs.
//
// Defences: the init and exec's process close every fd they were not given on
// purpose (CloseOtherFds) and every fd of ours is O_CLOEXEC; the cwd and the
// executable are resolved inside the root with magic links refused, so even an
// fd passed on purpose (--preserve-fds) is no way out. Here berth itself is
// handed host directories as fds 3 and 4, as a leak would.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2024_21626 : public CveTest {
 protected:
  void SetUp() override {
    CveTest::SetUp();
    host_root_ = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    host_dir_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    leak_.extra_fds = {host_root_, host_dir_};  // fds 3 and 4 of berth
    // A host executable the container must never run.
    std::ofstream(dir_ + "/evil.sh") << "#!/bin/sh\necho ESCAPED\n";
    ::chmod((dir_ + "/evil.sh").c_str(), 0755);
  }
  void TearDown() override {
    ::close(host_root_);
    ::close(host_dir_);
    CveTest::TearDown();
  }
  static std::string Fd(int n) { return "/proc/self/fd/" + std::to_string(n); }

  int host_root_ = -1, host_dir_ = -1;
  SpawnOptions leak_;
};

TEST_F(Cve_2024_21626, CwdThroughAnFdIsRefusedAtCreate) {
  for (int fd = 3; fd <= 12; ++fd) {
    for (const char* preserve : {"0", "2"}) {
      std::string id = NewId();
      std::string bundle = MakeBundle({"sh", "-c", "echo RAN; pwd; ls"},
                                      [&](json& s) { s["process"]["cwd"] = Fd(fd); });
      auto r = Berth({"run", "--preserve-fds", preserve, "-b", bundle, id}, leak_);
      EXPECT_EQ(r.status, 1) << "fd " << fd << ": " << r.out;
      EXPECT_EQ(r.out.find("RAN"), std::string::npos) << "fd " << fd << ": " << r.out;
      EXPECT_NE(r.err.find("process.cwd"), std::string::npos) << r.err;
    }
  }
}

TEST_F(Cve_2024_21626, ExecCwdThroughAnFdIsRefused) {
  std::string id = StartContainer({"sleep", "1000"});
  for (int fd = 3; fd <= 12; ++fd) {
    for (const char* preserve : {"0", "2"}) {
      auto r = Exec({"--preserve-fds", preserve, "--cwd", Fd(fd), id, "sh", "-c", "echo RAN; pwd"},
                    leak_);
      EXPECT_EQ(r.status, 255) << "fd " << fd << ": " << r.out;  // runc: exec never ran
      EXPECT_EQ(r.out.find("RAN"), std::string::npos) << "fd " << fd << ": " << r.out;
      EXPECT_NE(r.err.find("process.cwd"), std::string::npos) << r.err;
    }
  }
}

// runc's second variant: process.args[0] = /proc/self/fd/N/<host path>.
TEST_F(Cve_2024_21626, NoExecutableIsReachedThroughAnFd) {
  std::string id = StartContainer({"sleep", "1000"});
  for (int fd = 3; fd <= 12; ++fd) {
    std::string evil = Fd(fd) + "/evil.sh";
    std::string run_id = NewId();
    auto created = Berth({"run", "-b", MakeBundle({evil}), run_id}, leak_);
    EXPECT_EQ(created.status, 1) << evil;
    EXPECT_EQ(created.out.find("ESCAPED"), std::string::npos) << evil;
    auto exec = Exec({id, evil}, leak_);
    EXPECT_EQ(exec.status, 255) << evil;  // runc: exec never ran
    EXPECT_EQ(exec.out.find("ESCAPED"), std::string::npos) << evil;
  }
}

// What does reach the process: stdio and the fds asked for, nothing of ours.
TEST_F(Cve_2024_21626, OnlyTheFdsAskedForReachTheProcess) {
  // ls's own directory fd is the last one listed.
  std::string list = "ls /proc/self/fd | sort -n | tr '\\n' ' '";
  std::string id = NewId();
  auto run = Berth({"run", "-b", MakeBundle({"sh", "-c", list}), id}, leak_);
  EXPECT_EQ(run.out, "0 1 2 3 ") << run.err;
  std::string container = StartContainer({"sleep", "1000"});
  auto exec = Exec({container, "sh", "-c", list}, leak_);
  EXPECT_EQ(exec.out, "0 1 2 3 ") << exec.err;
  auto preserved = Exec({"--preserve-fds", "2", container, "sh", "-c", list}, leak_);
  EXPECT_EQ(preserved.out, "0 1 2 3 4 5 ") << preserved.err;
}

}  // namespace
}  // namespace berth::testing
