// Callers of a publisher's Flush: answered once its queue is empty, or when their
// own timeout passes (containerd away: the events stay queued, the caller goes on).
// Each waiter has its own timer, so a timer armed for an earlier caller never
// answers a later one early. Both publishers (ttrpc and `containerd publish`) use it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "shim/log.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {

class FlushWaiters {
 public:
  explicit FlushWaiters(ttrpc::EventLoop& loop) : loop_(loop) {}
  ~FlushWaiters() {
    for (auto& [id, w] : waiters_) loop_.CancelTimer(w.timer);
  }
  FlushWaiters(const FlushWaiters&) = delete;
  FlushWaiters& operator=(const FlushWaiters&) = delete;

  // Loop thread. `queued` says how many events are still waiting when the timeout passes.
  void Add(std::chrono::milliseconds timeout, std::function<size_t()> queued,
           std::function<void()> done) {
    uint64_t id = next_id_++;
    auto timer = loop_.RunAfter(timeout, [this, id, queued = std::move(queued)] {
      auto it = waiters_.find(id);
      if (it == waiters_.end()) return;
      if (size_t n = queued()) LogWarning(std::to_string(n) + " events not delivered yet");
      auto w = std::move(it->second.done);
      waiters_.erase(it);
      w();
    });
    waiters_.emplace(id, Waiter{std::move(done), timer});
  }

  // Answers every waiter (the queue is empty).
  void Release() {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& [id, w] : waiters) {
      loop_.CancelTimer(w.timer);
      w.done();
    }
  }

 private:
  struct Waiter {
    std::function<void()> done;
    ttrpc::EventLoop::TimerId timer;
  };
  ttrpc::EventLoop& loop_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, Waiter> waiters_;
};

}  // namespace berth::shim
