#include "shim/worker_pool.h"

#include <pthread.h>

#include "shim/log.h"
#include "shim/memory.h"

namespace berth::shim {
namespace {

// The library's deepest paths (config parsing, the init plan, seccomp compilation)
// use well under this; only the pages touched count against RSS.
constexpr size_t kStackSize = 1 << 20;

}  // namespace

WorkerPool::WorkerPool(size_t max_threads, std::chrono::milliseconds idle_exit)
    : max_threads_(max_threads), idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  wake_.notify_all();
  all_exited_.wait(lock, [&] { return threads_ == 0; });
}

size_t WorkerPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_;
}

void WorkerPool::Run(Task task) {
  std::lock_guard lock(mu_);
  tasks_.push_back(std::move(task));
  // Each waiting task needs an idle thread of its own: a thread woken for an earlier
  // task that has not taken it yet is still counted idle, and a busy thread takes a
  // task only after its own, however long that runs.
  if (idle_ >= tasks_.size()) {
    wake_.notify_one();
    return;
  }
  if (threads_ >= max_threads_) return;  // a busy thread takes it next
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackSize);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  if (pthread_create(&thread, &attr, &WorkerPool::ThreadMain, this) == 0) {
    ++threads_;
  } else if (threads_ == 0) {
    LogError("cannot start a worker thread; running the task on the caller's thread");
    Task t = std::move(tasks_.back());
    tasks_.pop_back();
    pthread_attr_destroy(&attr);
    mu_.unlock();
    t();
    mu_.lock();
    return;
  }
  pthread_attr_destroy(&attr);
}

void* WorkerPool::ThreadMain(void* self) {
  static_cast<WorkerPool*>(self)->Work();
  return nullptr;
}

void WorkerPool::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (tasks_.empty()) {
      if (stopping_) break;
      ++idle_;
      bool woke = wake_.wait_for(lock, idle_exit_, [&] { return !tasks_.empty() || stopping_; });
      --idle_;
      if (!woke) break;  // idle long enough: exit
      continue;
    }
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // destroy captures outside the lock
    lock.lock();
  }
  bool last = --threads_ == 0;
  // The shim is idle again: what the burst of work made resident goes back.
  if (last && tasks_.empty() && !stopping_) ReleaseIdleMemory();
  if (last) all_exited_.notify_all();
}

}  // namespace berth::shim
