// Callers of a publisher's Flush: answered once its queue is empty, or when a
// timeout passes (containerd away: the events stay queued, the caller goes on).
// Both publishers (ttrpc and `containerd publish`) use it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shim/log.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {

class FlushWaiters {
 public:
  // `queued` says how many events are still waiting when the timeout passes.
  void Add(ttrpc::EventLoop& loop, std::chrono::milliseconds timeout,
           std::function<size_t()> queued, std::function<void()> done) {
    waiters_.push_back(std::move(done));
    std::weak_ptr<bool> alive = alive_;
    loop.RunAfter(timeout, [this, alive, queued = std::move(queued)] {
      if (alive.expired() || waiters_.empty()) return;
      if (size_t n = queued()) LogWarning(std::to_string(n) + " events not delivered yet");
      Release();
    });
  }

  // Answers every waiter.
  void Release() {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) w();
  }

 private:
  std::vector<std::function<void()>> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::shim
