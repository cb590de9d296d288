// The shim's own building blocks, without a shim process: the worker pool that keeps
// slow library calls off the event loop, and the publishers' flush waiters.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

#include "shim/flush_waiters.h"
#include "shim/worker_pool.h"
#include "tests/result_assert.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {
namespace {

using namespace std::chrono_literals;

// Two tasks posted back to back while one thread is idle: the second must not wait
// behind the first (a slow dump or kill must not stall a create in a grouped shim).
TEST(WorkerPool, BackToBackTasksRunOnTwoThreads) {
  WorkerPool pool(4, 10s);
  std::promise<void> warmed;
  pool.Run([&] { warmed.set_value(); });
  warmed.get_future().wait();
  while (pool.threads() != 1) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);  // the thread is idle, waiting for work

  std::promise<void> release_slow, quick_done;
  auto slow_may_end = release_slow.get_future().share();
  pool.Run([slow_may_end] { slow_may_end.wait(); });
  pool.Run([&] { quick_done.set_value(); });
  bool quick_ran = quick_done.get_future().wait_for(2s) == std::future_status::ready;
  release_slow.set_value();
  EXPECT_TRUE(quick_ran) << "the second task waited behind the first";
  EXPECT_EQ(pool.threads(), 2u);
}

TEST(WorkerPool, NoMoreThreadsThanTheLimit) {
  WorkerPool pool(2, 10s);
  std::promise<void> release;
  auto may_end = release.get_future().share();
  std::atomic<int> started{0};
  for (int i = 0; i < 5; ++i) pool.Run([&, may_end] { ++started; may_end.wait(); });
  while (started < 2) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(started, 2);
  EXPECT_EQ(pool.threads(), 2u);
  release.set_value();
}

class FlushWaitersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = ttrpc::EventLoop::Create();
    ASSERT_RESULT_OK(loop);
    loop_ = std::move(*loop);
  }
  void RunFor(std::chrono::milliseconds d) {
    auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) ASSERT_RESULT_OK(loop_->RunOnce(5ms));
  }
  std::unique_ptr<ttrpc::EventLoop> loop_;
};

// A waiter released by an empty queue leaves its timer behind; that stale timer must
// not answer a later waiter before the later waiter's own timeout.
TEST_F(FlushWaitersTest, AStaleTimerDoesNotAnswerALaterWaiter) {
  FlushWaiters waiters(*loop_);
  int first = 0, second = 0;
  waiters.Add(100ms, [] { return size_t{0}; }, [&] { ++first; });
  waiters.Release();
  EXPECT_EQ(first, 1);
  RunFor(50ms);
  waiters.Add(1000ms, [] { return size_t{1}; }, [&] { ++second; });
  RunFor(150ms);  // past the first waiter's timeout
  EXPECT_EQ(second, 0) << "answered by the first waiter's timer";
  waiters.Release();
  EXPECT_EQ(second, 1);
  EXPECT_EQ(first, 1);
}

TEST_F(FlushWaitersTest, EachWaiterIsAnsweredAtItsOwnTimeout) {
  FlushWaiters waiters(*loop_);
  int early = 0, late = 0;
  waiters.Add(30ms, [] { return size_t{1}; }, [&] { ++early; });
  waiters.Add(400ms, [] { return size_t{1}; }, [&] { ++late; });
  RunFor(100ms);
  EXPECT_EQ(early, 1);
  EXPECT_EQ(late, 0);
  RunFor(400ms);
  EXPECT_EQ(late, 1);
  waiters.Release();  // nobody is answered twice
  EXPECT_EQ(early, 1);
  EXPECT_EQ(late, 1);
}

}  // namespace
}  // namespace berth::shim
