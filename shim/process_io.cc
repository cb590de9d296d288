#include "shim/process_io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "linux/process.h"
#include "linux/files.h"
#include "shim/log.h"

namespace berth::shim {

using namespace std::chrono_literals;

namespace {
// Longer than a pump's handover wait (Pump::kHandoverLimit).
constexpr auto kDrainLimit = 1500ms;
}  // namespace

// Copies `src` into `dst` on the loop with a bounded buffer.
class Pump {
 public:
  struct Options {
    bool dst_pollable = true;      // a pipe or fifo; a regular file is written blocking
    bool close_dst_at_eof = true;  // false for the pty master as stdin's destination
  };

  Pump(ttrpc::EventLoop& loop, linux::UniqueFd src, linux::UniqueFd dst, Options options,
       std::function<void()> on_finished)
      : loop_(loop),
        src_(std::move(src)),
        dst_(std::move(dst)),
        options_(options),
        on_finished_(std::move(on_finished)) {
    UpdateWatches();
  }
  ~Pump() { Stop(); }

  bool finished() const { return finished_; }
  bool src_eof() const { return src_eof_; }
  // Nothing to wait for at an exit: finished, or the source is still open (a child of
  // the process holds it).
  bool settled() const { return finished_ || !src_eof_; }
  void OnSrcEof(std::function<void()> cb) { on_src_eof_ = std::move(cb); }

  // Everything the source holds now, whatever the buffer limit.
  void ReadAll() {
    if (finished_ || !src_) return;
    Read(SIZE_MAX);
    Flush();
    Settle();
  }

  // Closes both ends now; what is buffered is lost.
  void Stop() {
    Unwatch(src_watch_);
    Unwatch(dst_watch_);
    if (handover_timer_) loop_.CancelTimer(handover_timer_);
    handover_timer_ = 0;
    src_.reset();
    dst_.reset();
    finished_ = true;
  }

 private:
  static constexpr size_t kBufferLimit = 64 << 10;
  static constexpr auto kHandoverPoll = 2ms;
  static constexpr auto kHandoverLimit = 1s;
  static constexpr auto kLateReaderLimit = 250ms;

  size_t pending() const { return buffer_.size() - offset_; }

  void Read(size_t limit) {
    char chunk[16384];
    while (!src_eof_ && pending() < limit) {
      ssize_t n = ::read(src_.get(), chunk, sizeof chunk);
      if (n > 0) {
        if (!dst_failed_) buffer_.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // 0: every writer is gone; EIO: the pty's other side is closed.
      src_eof_ = true;
      if (on_src_eof_) std::exchange(on_src_eof_, nullptr)();
    }
  }

  void Flush() {
    while (pending() > 0 && !dst_failed_) {
      ssize_t n = ::write(dst_.get(), buffer_.data() + offset_, pending());
      if (n > 0) {
        offset_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // EPIPE and the like: nobody will read this; keep draining the source so the
      // process is not blocked, and discard.
      dst_failed_ = true;
    }
    if (pending() == 0 || dst_failed_) {
      buffer_.clear();
      offset_ = 0;
    } else if (offset_ > kBufferLimit) {
      buffer_.erase(0, offset_);
      offset_ = 0;
    }
  }

  void Settle() {
    if (finished_ || handover_timer_) return;
    if (src_eof_ && (pending() == 0 || dst_failed_)) {
      Unwatch(src_watch_);
      Unwatch(dst_watch_);
      src_.reset();
      if (options_.close_dst_at_eof && options_.dst_pollable && !dst_failed_ && BeginHandover())
        return;
      Finish();
      return;
    }
    UpdateWatches();
  }

  void Finish() {
    if (options_.close_dst_at_eof) dst_.reset();
    finished_ = true;
    if (on_finished_) on_finished_();
  }

  // The source is done and all of it is written, but the fifo may still hold bytes its
  // reader has not taken. containerd 2.3's client opens its readers asynchronously
  // (measured: up to 14 ms after the process exited, under churn) and closes them (cio's
  // Cancel) right after a task's exit and after an exec's DeleteProcess, so what it has
  // not read by then is lost. The shim's read-write fd is swapped for a write-only one,
  // which keeps the bytes in the pipe and tells whether a reader exists (EPOLLERR when
  // none); the close waits until a reader has taken the bytes: at most kLateReaderLimit
  // for a reader to come, kHandoverLimit in all, and no longer once a reader came and
  // left. Returns false when there is nothing to wait for.
  bool BeginHandover() {
    if (Unread() == 0) return false;
    auto writer = linux::Open("/proc/self/fd/" + std::to_string(dst_.get()), O_WRONLY | O_NONBLOCK);
    if (!writer) return false;
    dst_ = std::move(*writer);  // the shim's own reader is gone
    handover_start_ = std::chrono::steady_clock::now();
    handover_timer_ = loop_.RunAfter(0ms, [this] { PollHandover(); });
    return true;
  }

  int Unread() const {
    int unread = 0;
    return ::ioctl(dst_.get(), FIONREAD, &unread) == 0 ? unread : 0;
  }

  bool ReaderPresent() const {
    pollfd pfd{.fd = dst_.get(), .events = POLLOUT, .revents = 0};
    return ::poll(&pfd, 1, 0) >= 0 && !(pfd.revents & (POLLERR | POLLHUP | POLLNVAL));
  }

  void PollHandover() {
    handover_timer_ = 0;
    auto waited = std::chrono::steady_clock::now() - handover_start_;
    bool present = ReaderPresent();
    reader_seen_ = reader_seen_ || present;
    bool wait = Unread() > 0 && waited < kHandoverLimit &&
                (present || (!reader_seen_ && waited < kLateReaderLimit));
    if (!wait) return Finish();
    handover_timer_ = loop_.RunAfter(kHandoverPoll, [this] { PollHandover(); });
  }

  void UpdateWatches() {
    bool want_src = !src_eof_ && pending() < kBufferLimit;
    bool want_dst = pending() > 0 && !dst_failed_ && options_.dst_pollable;
    Toggle(src_watch_, want_src, src_.get(), EPOLLIN, [this](uint32_t) {
      Read(kBufferLimit);
      Flush();
      Settle();
    });
    Toggle(dst_watch_, want_dst, dst_.get(), EPOLLOUT, [this](uint32_t) {
      Flush();
      Settle();
    });
  }

  void Toggle(ttrpc::EventLoop::WatchId& id, bool want, int fd, uint32_t events,
              ttrpc::EventLoop::FdHandler handler) {
    if (want == (id != 0)) return;
    if (!want) {
      Unwatch(id);
      return;
    }
    auto watched = loop_.Watch(fd, events, std::move(handler));
    if (watched) {
      id = *watched;
    } else {
      LogError("watch stdio fd: " + watched.error().message);
      dst_failed_ = true;
      src_eof_ = true;
    }
  }

  void Unwatch(ttrpc::EventLoop::WatchId& id) {
    if (id) loop_.Unwatch(id);
    id = 0;
  }

  ttrpc::EventLoop& loop_;
  linux::UniqueFd src_, dst_;
  Options options_;
  std::function<void()> on_finished_;
  std::function<void()> on_src_eof_;
  std::string buffer_;
  size_t offset_ = 0;
  bool src_eof_ = false, dst_failed_ = false, finished_ = false;
  ttrpc::EventLoop::WatchId src_watch_ = 0, dst_watch_ = 0;
  ttrpc::EventLoop::TimerId handover_timer_ = 0;
  std::chrono::steady_clock::time_point handover_start_;
  bool reader_seen_ = false;
};

namespace {

linux::UniqueFd Dup(int fd) { return linux::UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

ProcessIo::ProcessIo(ttrpc::EventLoop& loop, StdioSetup s, linux::UniqueFd pty)
    : loop_(loop), stdin_keep_(std::move(s.stdin_keep)) {
  auto on_output = [this] { CheckOutputDone(); };
  if (pty) {
    SetNonBlocking(pty.get());
    if (s.out_dst)
      out_ = std::make_unique<Pump>(loop, Dup(pty.get()), std::move(s.out_dst),
                                    Pump::Options{.dst_pollable = s.out_dst_pollable}, on_output);
    if (s.stdin_src)
      stdin_ = std::make_unique<Pump>(loop, std::move(s.stdin_src), Dup(pty.get()),
                                      Pump::Options{.close_dst_at_eof = false}, nullptr);
    pty_ = std::move(pty);
  } else {
    if (s.out_src && s.out_dst)
      out_ = std::make_unique<Pump>(loop, std::move(s.out_src), std::move(s.out_dst),
                                    Pump::Options{.dst_pollable = s.out_dst_pollable}, on_output);
    if (s.err_src && s.err_dst)
      err_ = std::make_unique<Pump>(loop, std::move(s.err_src), std::move(s.err_dst),
                                    Pump::Options{.dst_pollable = s.err_dst_pollable}, on_output);
    if (s.stdin_src && s.stdin_dst)
      stdin_ = std::make_unique<Pump>(loop, std::move(s.stdin_src), std::move(s.stdin_dst),
                                      Pump::Options{}, nullptr);
  }
  logger_pid_ = s.logger_pid;
  logger_pidfd_ = std::move(s.logger_pidfd);
}

ProcessIo::~ProcessIo() {
  *alive_ = false;
  Close();
}

void ProcessIo::Drain(std::chrono::milliseconds pty_wait, std::move_only_function<void()> done) {
  if (out_) out_->ReadAll();
  if (err_) err_->ReadAll();
  // Input for a process that is gone is of no use; the client's writes must not block.
  if (stdin_) stdin_->Stop();
  stdin_keep_.reset();
  drained_ = std::move(done);
  std::weak_ptr<bool> alive = alive_;
  if (pty_ && out_ && !out_->src_eof()) {
    // A pty hands over the last output asynchronously; EIO says it all arrived.
    pty_draining_ = true;
    auto stop_waiting = [this, alive] {
      if (alive.expired() || !pty_draining_) return;
      pty_draining_ = false;
      CheckDrained();
    };
    out_->OnSrcEof([this, stop_waiting] { loop_.Post(stop_waiting); });
    loop_.RunAfter(pty_wait, stop_waiting);
  }
  // A reader that takes nothing (a full fifo) must not hold the exit back.
  loop_.RunAfter(pty_wait + kDrainLimit, [this, alive] {
    if (alive.expired()) return;
    pty_draining_ = false;
    FireDrained();
  });
  CheckDrained();
}

// Drain's `done` waits until the pty has delivered, and every output is settled: the
// reader took what the process wrote (each pump bounds that wait itself).
void ProcessIo::CheckDrained() {
  if (!drained_ || pty_draining_) return;
  if ((out_ && !out_->settled()) || (err_ && !err_->settled())) return;
  FireDrained();
}

void ProcessIo::FireDrained() {
  if (!drained_) return;
  // Posted: `done` may destroy this object, which a pump may still be inside.
  std::weak_ptr<bool> alive = alive_;
  loop_.Post([alive, done = std::make_shared<std::move_only_function<void()>>(
                         std::exchange(drained_, nullptr))] {
    if (!alive.expired()) (*done)();
  });
}

bool ProcessIo::OutputDone() const {
  return (!out_ || out_->finished()) && (!err_ || err_->finished());
}

void ProcessIo::CheckOutputDone() {
  CheckDrained();
  if (!OutputDone() || output_waiters_.empty()) return;
  // Posted: a waiter may destroy this object, which a pump is still inside.
  for (auto& w : output_waiters_) loop_.Post(std::move(w));
  output_waiters_.clear();
}

void ProcessIo::WhenOutputDone(std::chrono::milliseconds timeout,
                               std::move_only_function<void()> done) {
  if (OutputDone()) {
    done();
    return;
  }
  auto once = std::make_shared<std::move_only_function<void()>>(std::move(done));
  auto fire = [once] {
    if (*once) std::exchange(*once, nullptr)();
  };
  output_waiters_.push_back(fire);
  std::weak_ptr<bool> alive = alive_;
  loop_.RunAfter(timeout, [alive, fire] {
    if (!alive.expired()) fire();
  });
}

void ProcessIo::CloseStdin() { stdin_keep_.reset(); }

Result<void> ProcessIo::Resize(uint32_t width, uint32_t height) {
  if (!pty_) return {};
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (::ioctl(pty_.get(), TIOCSWINSZ, &ws) < 0) return ErrnoError("resize the pty");
  return {};
}

void ProcessIo::Close() {
  if (stdin_) stdin_->Stop();
  if (out_) out_->Stop();
  if (err_) err_->Stop();
  stdin_keep_.reset();
  pty_.reset();
  StopLogger();
}

// As runc's shim: SIGTERM so the logging binary can flush, SIGKILL if it is still
// there after 12 s. The loop reaps it through its pidfd.
void ProcessIo::StopLogger() {
  if (!logger_pidfd_) return;
  int fd = logger_pidfd_.release();
  pid_t pid = logger_pid_;
  (void)linux::PidfdSendSignal(fd, SIGTERM);
  ttrpc::EventLoop& loop = loop_;
  auto state = std::make_shared<std::pair<ttrpc::EventLoop::WatchId, ttrpc::EventLoop::TimerId>>();
  auto finish = [&loop, fd, pid, state] {
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(fd), &info, WEXITED | WNOHANG | __WALL);
    (void)pid;
    if (state->first) loop.Unwatch(state->first);
    if (state->second) loop.CancelTimer(state->second);
    state->first = state->second = 0;
    ::close(fd);
  };
  auto watched = loop.Watch(fd, EPOLLIN, [finish](uint32_t) { finish(); });
  if (!watched) {
    (void)linux::PidfdSendSignal(fd, SIGKILL);
    ::close(fd);
    return;
  }
  state->first = *watched;
  state->second = loop.RunAfter(12s, [fd, state] {
    if (state->first) (void)linux::PidfdSendSignal(fd, SIGKILL);
    state->second = 0;
  });
}

}  // namespace berth::shim
