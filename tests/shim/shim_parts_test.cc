// The shim's own building blocks, without a shim process: the worker pool that keeps
// slow library calls off the event loop, the publishers' flush waiters, and a process's
// output handed to a client that opens its fifo late.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "shim/flush_waiters.h"
#include "shim/process_io.h"
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

// A process's stdout as a client's fifo: the process wrote `kOutput` and exited (the
// write end of its pipe is closed) before the test calls Drain.
class ProcessIoTest : public FlushWaitersTest {
 protected:
  static constexpr std::string_view kOutput = "exec-136\n";
  void SetUp() override {
    FlushWaitersTest::SetUp();
    char tmpl[] = "/tmp/berth-pio-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fifo_ = dir_ + "/e1-stdout";
    ASSERT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ProcessIo> ExitedProcess() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    EXPECT_EQ(::write(p[1], kOutput.data(), kOutput.size()), ssize_t(kOutput.size()));
    ::close(p[1]);
    StdioSetup s;
    s.out_src = linux::UniqueFd(p[0]);
    // As stdio.cc opens a client's fifo.
    s.out_dst = linux::UniqueFd(::open(fifo_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(s.out_dst.ok());
    s.out_dst_pollable = true;
    return std::make_unique<ProcessIo>(*loop_, std::move(s), linux::UniqueFd());
  }

  // containerd's client: opens the fifo's read side `after` from now, reads to EOF.
  std::future<std::string> ClientReading(std::chrono::milliseconds after) {
    return std::async(std::launch::async, [this, after] {
      std::this_thread::sleep_for(after);
      int fd = ::open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      std::string got;
      auto opened = std::chrono::steady_clock::now();
      while (fd >= 0 && std::chrono::steady_clock::now() < opened + 3s) {
        char buf[64];
        ssize_t n = ::read(fd, buf, sizeof buf);
        // No writer: end of file, unless the shim's writer has yet to come (the real
        // client's open blocks until it does).
        if (n == 0 && (!got.empty() || std::chrono::steady_clock::now() > opened + 100ms)) break;
        if (n > 0) got.append(buf, size_t(n));
        else std::this_thread::sleep_for(1ms);
      }
      if (fd >= 0) ::close(fd);
      return got;
    });
  }

  // Runs the loop until Drain's `done`; its time from the call, or -1 if it never came.
  std::chrono::milliseconds DrainTime(ProcessIo& io, std::chrono::milliseconds limit) {
    bool done = false;
    auto start = std::chrono::steady_clock::now();
    io.Drain(200ms, [&] { done = true; });
    while (!done && std::chrono::steady_clock::now() < start + limit)
      EXPECT_RESULT_OK(loop_->RunOnce(5ms));
    if (!done) return -1ms;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

  std::string dir_, fifo_;
};

// containerd 2.3's client opens its fifo readers asynchronously, at times after the
// process has exited (ctr under churn: up to 14 ms), and closes them once it has the
// exit. The output must wait for that reader, and the exit with it.
TEST_F(ProcessIoTest, AReaderThatOpensAfterTheExitGetsTheOutput) {
  auto io = ExitedProcess();
  auto client = ClientReading(30ms);
  auto drained = DrainTime(*io, 3s);
  EXPECT_GE(drained, 30ms) << "the exit was let out before the client had the output";
  ASSERT_EQ(client.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(client.get(), kOutput);
}

// Nobody ever reads (`ctr run -d` without --null-io): the exit waits a little, not for good.
TEST_F(ProcessIoTest, NoReaderHoldsTheExitBackOnlyBriefly) {
  auto io = ExitedProcess();
  auto drained = DrainTime(*io, 3s);
  EXPECT_GE(drained, 0ms) << "Drain never finished";
  EXPECT_LT(drained, 1000ms);
  // The shim's end is closed: a reader now sees end of file at once.
  EXPECT_EQ(ClientReading(0ms).get(), "");
}

// A reader that was there all along and takes the bytes at once lets the exit out at once.
TEST_F(ProcessIoTest, APresentReaderLetsTheExitOutOnceItHasRead) {
  auto client = ClientReading(0ms);
  std::this_thread::sleep_for(20ms);  // the client's fifo is open
  auto io = ExitedProcess();
  auto drained = DrainTime(*io, 3s);
  EXPECT_GE(drained, 0ms) << "Drain never finished";
  EXPECT_LT(drained, 200ms);
  EXPECT_EQ(client.get(), kOutput);
}

}  // namespace
}  // namespace berth::shim
