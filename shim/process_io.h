// A process's stdio on the shim's event loop: copies the process's stdout and stderr
// (pipes, or the pty master) into their fifos or files, and the stdin fifo into the
// process. Everything is non-blocking; a full destination stops the reading of its
// source, so a client that does not read slows only its own process.
//
// Exit: Drain() takes in everything the process wrote before it exited (a pipe holds
// it already; a pty delivers it asynchronously, until EIO), so that the exit is
// published only after its output is in the shim's hands. A fifo is closed once its
// source reaches end of file, the buffer is written out and a reader has taken what the
// fifo holds (containerd 2.3's client may open its reader after the exit, and closes it
// right after; the wait is bounded): its reader then sees end of file, which is when
// containerd's client stops waiting for output.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "linux/unique_fd.h"
#include "shim/stdio.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {

class Pump;

class ProcessIo {
 public:
  // Loop thread. `pty_master`, when valid, is the process's terminal.
  ProcessIo(ttrpc::EventLoop& loop, StdioSetup setup, linux::UniqueFd pty_master);
  ~ProcessIo();  // Close()
  ProcessIo(const ProcessIo&) = delete;
  ProcessIo& operator=(const ProcessIo&) = delete;

  // The process exited: reads what it left (pipes at once; a pty until EIO or
  // `pty_wait`), stops forwarding stdin, then runs `done` on the loop once the readers
  // of the outputs have taken it (at most about a second; a child of the process that
  // still holds an output is not waited for).
  void Drain(std::chrono::milliseconds pty_wait, std::move_only_function<void()> done);
  // `done` runs once every output has reached end of file and been written out (at
  // once if that is already so), or after `timeout`.
  void WhenOutputDone(std::chrono::milliseconds timeout, std::move_only_function<void()> done);
  // CloseIO: drops the shim's writer of the stdin fifo, so the process sees end of file
  // once the client's writer is gone too.
  void CloseStdin();
  Result<void> Resize(uint32_t width, uint32_t height);
  bool has_terminal() const { return pty_.ok(); }
  // Closes every fd and stops a logging binary (SIGTERM, SIGKILL after 12 s).
  void Close();

 private:
  bool OutputDone() const;
  void CheckOutputDone();
  void CheckDrained();
  void FireDrained();
  void StopLogger();

  ttrpc::EventLoop& loop_;
  linux::UniqueFd pty_;  // for Resize
  linux::UniqueFd stdin_keep_;
  std::unique_ptr<Pump> stdin_, out_, err_;
  pid_t logger_pid_ = 0;
  linux::UniqueFd logger_pidfd_;
  std::vector<std::function<void()>> output_waiters_;
  std::move_only_function<void()> drained_;
  bool pty_draining_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::shim
