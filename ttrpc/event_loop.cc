#include "ttrpc/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace berth::ttrpc {

namespace {
constexpr EventLoop::WatchId kWakeWatchId = 0;
constexpr int kMaxEventsPerWait = 64;
}  // namespace

bool TaskQueue::Post(Task task) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    tasks_.push_back(std::move(task));
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (wake) Wake();
  return true;
}

void TaskQueue::Wake() {
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  while (::write(wake_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

std::vector<Task> TaskQueue::TakeAll() {
  uint64_t count;
  while (::read(wake_fd_.get(), &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mu_);
  wake_pending_ = false;
  return std::exchange(tasks_, {});
}

void TaskQueue::Close() {
  std::vector<Task> dropped;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    dropped.swap(tasks_);
  }
  // Destroyed outside the lock: a dropped task may own a responder that posts.
}

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  linux::UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return ErrnoError("epoll_create1");
  linux::UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd) return ErrnoError("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeWatchId;
  if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &ev) != 0) {
    return ErrnoError("epoll_ctl add eventfd");
  }
  auto tasks = std::make_shared<TaskQueue>(std::move(wake_fd));
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll_fd), std::move(tasks)));
}

EventLoop::EventLoop(linux::UniqueFd epoll_fd, std::shared_ptr<TaskQueue> tasks)
    : epoll_fd_(std::move(epoll_fd)), tasks_(std::move(tasks)) {}

EventLoop::~EventLoop() {
  tasks_->Close();
  // Timers and handlers may own objects whose destructors post; they fail quietly now.
  timers_.clear();
  watches_.clear();
}

Result<EventLoop::WatchId> EventLoop::Watch(int fd, uint32_t events, FdHandler handler) {
  WatchId id = next_watch_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return ErrnoError("epoll_ctl add fd " + std::to_string(fd));
  }
  watches_.emplace(id, WatchEntry{fd, std::make_shared<FdHandler>(std::move(handler))});
  return id;
}

Result<void> EventLoop::Modify(WatchId id, uint32_t events) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return Fail("epoll_ctl mod: unknown watch", ENOENT);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, it->second.fd, &ev) != 0) {
    return ErrnoError("epoll_ctl mod fd " + std::to_string(it->second.fd));
  }
  return {};
}

void EventLoop::Unwatch(WatchId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  // Fails only if the fd was closed already, which also removed it from the set.
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  watches_.erase(it);
}

EventLoop::TimerId EventLoop::RunAt(Clock::time_point when, Task task) {
  TimerId id = next_timer_id_++;
  timers_.emplace(std::pair{when, id}, std::move(task));
  timer_deadlines_.emplace(id, when);
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  auto node = timers_.extract(std::pair{it->second, id});
  timer_deadlines_.erase(it);
  // `node` (and the task it owns) is destroyed here, after the maps are consistent.
}

int EventLoop::WaitTimeoutMs(std::chrono::milliseconds max_wait) const {
  int64_t timeout = max_wait.count() < 0 ? -1 : max_wait.count();
  if (!timers_.empty()) {
    auto until = timers_.begin()->first.first - Clock::now();
    // Round up so that a timer never fires early.
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(until).count();
    if (ms < 0) ms = 0;
    if (timeout < 0 || ms < timeout) timeout = ms;
  }
  if (timeout > INT32_MAX) timeout = INT32_MAX;
  return static_cast<int>(timeout);
}

Result<void> EventLoop::RunOnce(std::chrono::milliseconds max_wait) {
  // Only while a thread is inside Run/RunOnce is it "the loop thread": before that,
  // work from any thread is posted, which is always safe.
  std::thread::id previous = tasks_->loop_thread_.exchange(std::this_thread::get_id());
  Result<void> result = RunRound(max_wait);
  tasks_->loop_thread_ = previous;
  return result;
}

Result<void> EventLoop::RunRound(std::chrono::milliseconds max_wait) {
  epoll_event events[kMaxEventsPerWait];
  int n = ::epoll_wait(epoll_fd_.get(), events, kMaxEventsPerWait, WaitTimeoutMs(max_wait));
  if (n < 0) {
    if (errno == EINTR) return {};
    return ErrnoError("epoll_wait");
  }
  bool wake = false;
  for (int i = 0; i < n; ++i) {
    WatchId id = events[i].data.u64;
    if (id == kWakeWatchId) {
      wake = true;
      continue;
    }
    auto it = watches_.find(id);
    if (it == watches_.end()) continue;  // unwatched by an earlier handler this round
    std::shared_ptr<FdHandler> handler = it->second.handler;
    (*handler)(events[i].events);
  }
  RunDueTimers();
  if (wake) RunPostedTasks();
  return {};
}

void EventLoop::RunDueTimers() {
  if (timers_.empty()) return;
  const Clock::time_point now = Clock::now();
  // A timer that re-arms itself for "now" waits for the next round instead of spinning.
  size_t budget = timers_.size();
  while (budget-- > 0 && !timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
  }
}

void EventLoop::RunPostedTasks() {
  for (Task& task : tasks_->TakeAll()) task();
}

Result<void> EventLoop::Run() {
  std::thread::id previous = tasks_->loop_thread_.exchange(std::this_thread::get_id());
  Result<void> result;
  while (result && !stop_requested_.load()) result = RunRound(std::chrono::milliseconds(-1));
  stop_requested_ = false;
  tasks_->loop_thread_ = previous;
  return result;
}

void EventLoop::Stop() {
  stop_requested_ = true;
  tasks_->Wake();
}

}  // namespace berth::ttrpc
