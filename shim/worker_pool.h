// Threads for the blocking library calls (create, start, exec, delete, cgroup
// reads), so that a slow one never stalls the event loop. Threads are made on
// demand and exit after a short idle time: an idle shim has its loop thread only,
// which is most of how it stays within its memory budget.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace berth::shim {

class WorkerPool {
 public:
  using Task = std::move_only_function<void()>;

  WorkerPool(size_t max_threads, std::chrono::milliseconds idle_exit);
  ~WorkerPool();  // waits for the threads to finish their tasks and exit
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. Tasks start in order; up to max_threads run at once.
  void Run(Task task);

  size_t threads() const;

 private:
  static void* ThreadMain(void* self);
  void Work();

  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable all_exited_;
  std::deque<Task> tasks_;
  size_t threads_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace berth::shim
