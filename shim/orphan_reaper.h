// The shim is a child subreaper: processes orphaned below it (a container without a
// pid namespace, a logging binary's children) become its children, and someone must
// reap them. The processes the shim tracks are reaped through their pidfds; the
// library reaps its own short-lived children (hooks, the first stage of a two-stage
// start) with waitpid. So a zombie is taken here only if it is nobody's: not tracked,
// and still a zombie a second after it was first seen.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <set>

#include "ttrpc/event_loop.h"

namespace berth::shim {

class OrphanReaper {
 public:
  OrphanReaper(ttrpc::EventLoop& loop, std::function<bool(pid_t)> tracked);
  ~OrphanReaper();

  // Loop thread, on SIGCHLD.
  void OnChildSignal();
  size_t reaped() const { return reaped_; }

 private:
  void Scan();
  void ScheduleScan();

  ttrpc::EventLoop& loop_;
  std::function<bool(pid_t)> tracked_;
  std::set<pid_t> seen_;
  bool scheduled_ = false;
  size_t reaped_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The children of this process, from /proc/self/task/*/children.
std::set<pid_t> ChildPids();

}  // namespace berth::shim
