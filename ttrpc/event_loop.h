// EventLoop: one thread, one epoll set, many fds. The ttrpc server and client run on
// it, and the shim puts its other fds on the same loop (pidfds for reaping, IO pipes,
// cgroup OOM eventfds), so the whole daemon needs no thread per connection or process.
//
// Threading: Watch/Modify/Unwatch and the timer calls belong to the loop thread (the
// thread inside Run(), or whoever owns the loop before it runs). Post() and Stop() may
// be called from any thread. Fd handlers, timers and posted tasks all run on the loop
// thread, so state they share needs no lock. InLoopThread() is true only inside
// Run()/RunOnce(), so code that posts "unless already on the loop" is safe before Run.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::ttrpc {

using Task = std::move_only_function<void()>;

// The loop's cross-thread task queue, held through a shared_ptr so that a responder or
// a worker thread that outlives the loop can still post: the task is then dropped.
class TaskQueue {
 public:
  explicit TaskQueue(linux::UniqueFd wake_fd) : wake_fd_(std::move(wake_fd)) {}

  // Queues `task` for the loop thread; false (and `task` destroyed) once the loop is gone.
  bool Post(Task task);
  bool InLoopThread() const { return std::this_thread::get_id() == loop_thread_.load(); }

 private:
  friend class EventLoop;
  std::vector<Task> TakeAll();
  void Close();  // drops pending tasks; later posts fail
  void Wake();

  linux::UniqueFd wake_fd_;  // eventfd
  std::atomic<std::thread::id> loop_thread_;
  std::mutex mu_;
  std::vector<Task> tasks_;
  bool wake_pending_ = false;
  bool closed_ = false;
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using FdHandler = std::function<void(uint32_t epoll_events)>;
  using WatchId = uint64_t;
  using TimerId = uint64_t;

  static Result<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Loop thread only. `fd` stays owned by the caller, who must Unwatch it before
  // closing it. `events` are EPOLLIN/EPOLLOUT/... (level-triggered unless EPOLLET).
  Result<WatchId> Watch(int fd, uint32_t events, FdHandler handler);
  Result<void> Modify(WatchId id, uint32_t events);
  // Safe from any handler, including the watch's own; no event for `id` is delivered
  // afterwards, even one already returned by the same epoll_wait.
  void Unwatch(WatchId id);

  // Loop thread only. Timers have millisecond resolution (epoll_wait's timeout).
  TimerId RunAt(Clock::time_point when, Task task);
  TimerId RunAfter(Clock::duration delay, Task task) { return RunAt(Clock::now() + delay, std::move(task)); }
  void CancelTimer(TimerId id);  // no-op for a timer that has run or been cancelled

  // Any thread. Tasks run on the loop thread in the order posted.
  void Post(Task task) { tasks_->Post(std::move(task)); }
  const std::shared_ptr<TaskQueue>& task_queue() const { return tasks_; }
  bool InLoopThread() const { return tasks_->InLoopThread(); }

  // Runs until Stop(). The calling thread becomes the loop thread.
  Result<void> Run();
  // One round: waits at most `max_wait` (negative: forever) for events, then runs
  // handlers, due timers and posted tasks. For tests and for callers with their own loop.
  Result<void> RunOnce(std::chrono::milliseconds max_wait);
  // Any thread: Run() returns after the current round.
  void Stop();

  size_t watch_count() const { return watches_.size(); }

 private:
  EventLoop(linux::UniqueFd epoll_fd, std::shared_ptr<TaskQueue> tasks);
  Result<void> RunRound(std::chrono::milliseconds max_wait);
  int WaitTimeoutMs(std::chrono::milliseconds max_wait) const;
  void RunDueTimers();
  void RunPostedTasks();

  struct WatchEntry {
    int fd;
    std::shared_ptr<FdHandler> handler;  // shared: a handler may Unwatch itself
  };

  linux::UniqueFd epoll_fd_;
  std::shared_ptr<TaskQueue> tasks_;
  std::unordered_map<WatchId, WatchEntry> watches_;
  WatchId next_watch_id_ = 1;  // 0 is the wake eventfd
  std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
  TimerId next_timer_id_ = 1;
  std::atomic<bool> stop_requested_ = false;
};

}  // namespace berth::ttrpc
