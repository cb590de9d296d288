// Helpers for the cgroup tests: unique cgroup names, child processes that the test
// owns (and kills and reaps, whatever happens), and a guard that destroys a container's
// cgroups even when an assertion fails.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup/fs.h"
#include "linux/process.h"

namespace berth::cgroup::testing {

// Every cgroup a test makes is named with this prefix, so that the leftover check can
// find them: "berth-test-<pid>-<n>".
inline constexpr const char* kPrefix = "berth-test-";

inline std::string UniqueName() {
  static std::atomic<int> n{0};
  return std::string(kPrefix) + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline bool Exists(const std::string& path) {
  return std::filesystem::exists(path);
}

// A forked child that runs `body` (or sleeps), dies with the test process, and is
// killed and reaped by the destructor. Only pids from here are ever signalled.
class Child {
 public:
  template <class F>
  explicit Child(F body) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      body();
      ::_exit(0);
    }
  }
  Child()
      : Child([] {
          for (;;) ::pause();
        }) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ <= 0 || reaped_) return;
    ::kill(pid_, SIGKILL);
    // A child left frozen by a failed test would never die: thaw its cgroups.
    if (!WaitFor(2000)) {
      std::ifstream in("/proc/" + std::to_string(pid_) + "/cgroup");
      for (std::string line; std::getline(in, line);) {
        auto path = line.substr(line.find(':', line.find(':') + 1) + 1);
        if (line.find(":freezer:") != std::string::npos)
          (void)fs::Write("/sys/fs/cgroup/freezer" + path, "freezer.state", "THAWED");
        if (line.starts_with("0::"))
          for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
            (void)fs::Write(std::string(root) + path, "cgroup.freeze", "0");
      }
    }
    Wait();
  }
  pid_t pid() const { return pid_; }
  // Reaps the child; returns its wait status.
  int Wait() {
    if (reaped_) return status_;
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status_;
  }
  // Reaps it if it has exited within `ms`; returns whether it has.
  bool WaitFor(int ms) {
    for (int i = 0; i < ms; ++i) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        reaped_ = true;
        return true;
      }
      ::usleep(1000);
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// Memory shared with children (MAP_SHARED), for counters and flags.
template <class T>
class Shared {
 public:
  Shared() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ptr_ = new (p) T();
  }
  ~Shared() { ::munmap(ptr_, sizeof(T)); }
  T* operator->() { return ptr_; }
  T& operator*() { return *ptr_; }

 private:
  T* ptr_;
};

// Destroys the manager's cgroups at scope exit (after the children in the same scope,
// declared later, are gone).
class Cleanup {
 public:
  Cleanup() = default;
  explicit Cleanup(Manager* m) : m_(m) {}
  void reset(Manager* m) { m_ = m; }
  ~Cleanup() {
    if (!m_) return;
    auto r = m_->Destroy();
    if (!r) ADD_FAILURE() << "Destroy in cleanup: " << r.error().message;
  }

 private:
  Manager* m_ = nullptr;
};

// The directories of all hierarchies whose name starts with kPrefix, anywhere below
// /sys/fs/cgroup (the caller's own cgroups included), deepest first.
inline std::vector<std::string> FindTestCgroups(const std::string& only_prefix = kPrefix) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           "/sys/fs/cgroup", std::filesystem::directory_options::skip_permission_denied, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_directory(ec) || it->is_symlink(ec)) {
      continue;
    }
    if (it->path().filename().string().starts_with(only_prefix)) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  return found;
}

// Safety net for a crashed test: removes this process's test cgroups, reporting them.
class LeftoverGuard : public ::testing::Environment {
 public:
  void TearDown() override {
    std::string mine = std::string(kPrefix) + std::to_string(::getpid()) + "-";
    auto left = FindTestCgroups(mine);
    for (const auto& d : left) {
      ADD_FAILURE() << "test cgroup left behind: " << d;
      if (auto sub = fs::SubDirs(d))
        for (auto it = sub->rbegin(); it != sub->rend(); ++it) (void)fs::RemoveDir(*it, 1000);
      (void)fs::RemoveDir(d, 1000);
    }
  }
};

// What a container's first process does with PrepareSelfJoin (container/launch.cc):
// born into the unified directory by clone3(CLONE_INTO_CGROUP), then "0" to each v1
// "tasks" file. Reports the errno of the first failed write (0: all done), then waits.
class SelfJoiningChild {
 public:
  explicit SelfJoiningChild(const SelfJoin& join) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return;
    uint64_t flags = join.unified_dir ? CLONE_INTO_CGROUP : 0;
    pid_ = linux::Clone3(flags, nullptr, SIGCHLD, join.unified_dir.get());
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int err = 0;
      for (const auto& fd : join.v1_tasks)
        if (err == 0 && ::write(fd.get(), "0", 1) < 0) err = errno;
      (void)::write(fds[1], &err, sizeof err);
      for (;;) ::pause();
    }
    ::close(fds[1]);
    if (pid_ > 0 && ::read(fds[0], &err_, sizeof err_) != sizeof err_) err_ = -1;
    ::close(fds[0]);
  }
  ~SelfJoiningChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  int error() const { return err_; }

 private:
  pid_t pid_ = -1;
  int err_ = -1;
};

}  // namespace berth::cgroup::testing
