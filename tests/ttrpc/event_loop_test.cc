#include "ttrpc/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "test_support.h"

namespace berth::ttrpc {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  linux::UniqueFd read_end, write_end;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) std::abort();
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

TEST(EventLoop, PostedTasksRunInOrderOnTheLoopThread) {
  testing::LoopThread loop;
  std::vector<int> order;
  std::thread::id loop_thread = loop.Sync([] { return std::this_thread::get_id(); });
  std::atomic<bool> all_on_loop = true;
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        loop.loop().Post([&, t, i] {
          if (std::this_thread::get_id() != loop_thread) all_on_loop = false;
          if (t == 0) order.push_back(i);
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  loop.Sync([] {});
  EXPECT_TRUE(all_on_loop);
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(order[i], i);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCancel) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop);
  std::vector<int> fired;
  auto start = EventLoop::Clock::now();
  (*loop)->RunAfter(30ms, [&] { fired.push_back(3); });
  (*loop)->RunAfter(10ms, [&] { fired.push_back(1); });
  auto cancelled = (*loop)->RunAfter(20ms, [&] { fired.push_back(2); });
  (*loop)->RunAfter(5ms, [&] { (*loop)->CancelTimer(cancelled); });
  while (fired.size() < 2) ASSERT_TRUE((*loop)->RunOnce(1000ms));
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_GE(EventLoop::Clock::now() - start, 30ms);
}

TEST(EventLoop, TimerNeverFiresEarly) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop);
  auto start = EventLoop::Clock::now();
  EventLoop::Clock::time_point fired_at{};
  (*loop)->RunAfter(25ms + 300us, [&] { fired_at = EventLoop::Clock::now(); });
  while (fired_at == EventLoop::Clock::time_point{}) ASSERT_TRUE((*loop)->RunOnce(1000ms));
  EXPECT_GE(fired_at - start, 25ms + 300us);
}

TEST(EventLoop, FdHandlersAndUnwatchOfAnotherFdInTheSameRound) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop);
  Pipe a, b;
  int a_calls = 0, b_calls = 0;
  EventLoop::WatchId a_id = 0, b_id = 0;
  auto on_readable = [&](int& calls, EventLoop::WatchId& other, int fd) {
    return [&, fd](uint32_t events) {
      ++calls;
      EXPECT_TRUE(events & EPOLLIN);
      char buf[16];
      while (::read(fd, buf, sizeof(buf)) > 0) {
      }
      (*loop)->Unwatch(other);  // whichever runs first silences the other
    };
  };
  a_id = *(*loop)->Watch(a.read_end.get(), EPOLLIN, on_readable(a_calls, b_id, a.read_end.get()));
  b_id = *(*loop)->Watch(b.read_end.get(), EPOLLIN, on_readable(b_calls, a_id, b.read_end.get()));
  ASSERT_EQ(::write(a.write_end.get(), "x", 1), 1);
  ASSERT_EQ(::write(b.write_end.get(), "y", 1), 1);
  ASSERT_TRUE((*loop)->RunOnce(1000ms));
  EXPECT_EQ(a_calls + b_calls, 1);
  EXPECT_EQ((*loop)->watch_count(), 1u);
}

TEST(EventLoop, HandlerMayUnwatchItself) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop);
  Pipe p;
  int calls = 0;
  EventLoop::WatchId id = 0;
  id = *(*loop)->Watch(p.read_end.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    (*loop)->Unwatch(id);  // destroys this very handler's registration
  });
  ASSERT_EQ(::write(p.write_end.get(), "x", 1), 1);
  ASSERT_TRUE((*loop)->RunOnce(1000ms));
  ASSERT_TRUE((*loop)->RunOnce(20ms));
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, StopFromAnotherThread) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop);
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    (*loop)->Stop();
  });
  EXPECT_TRUE((*loop)->Run());
  stopper.join();
}

TEST(EventLoop, PostAfterLoopDestroyedIsDropped) {
  std::shared_ptr<TaskQueue> queue;
  {
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop);
    queue = (*loop)->task_queue();
  }
  bool ran = false;
  EXPECT_FALSE(queue->Post([&] { ran = true; }));
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace berth::ttrpc
