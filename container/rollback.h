// Rollback: undo steps registered as each step of an operation succeeds, run in
// reverse unless the operation completed (create, restore).
#pragma once

#include <sys/types.h>

#include <functional>
#include <vector>

namespace berth::container {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() {
    if (!armed_) return;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }
  void Add(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void Disarm() { armed_ = false; }
  // A step that kills child `pid` through a dup of `pidfd` and reaps it: the step owns
  // its fd, since the caller's is closed (with the rest of the operation's locals)
  // before the rollback runs.
  void AddKillChild(pid_t pid, int pidfd);

 private:
  std::vector<std::function<void()>> steps_;
  bool armed_ = true;
};

}  // namespace berth::container
