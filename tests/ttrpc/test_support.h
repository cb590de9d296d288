// Helpers shared by the ttrpc tests: a loop on its own thread, temporary directories,
// a raw frame socket (to play a hostile or unusual peer), and child processes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "linux/unique_fd.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/frame.h"

namespace berth::ttrpc::testing {

// mkdtemp under $TMPDIR or /tmp, mode 0755 so that a child with another uid can reach
// a socket inside; removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An EventLoop running on a thread of its own for the lifetime of the object.
class LoopThread {
 public:
  LoopThread();
  ~LoopThread();
  EventLoop& loop() { return *loop_; }

  // Runs `fn` on the loop thread and returns its result.
  template <class Fn>
  auto Sync(Fn fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::promise<R> promise;
    auto future = promise.get_future();
    loop_->Post([&] {
      if constexpr (std::is_void_v<R>) {
        fn();
        promise.set_value();
      } else {
        promise.set_value(fn());
      }
    });
    return future.get();
  }

 private:
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

struct RawFrame {
  FrameHeader header;
  std::string body;
};

// A blocking socket that writes and reads raw ttrpc frames.
class RawConnection {
 public:
  explicit RawConnection(const std::string& socket_path);
  bool connected() const { return fd_.ok(); }

  void Send(std::string_view bytes);
  void SendFrame(uint32_t stream_id, uint8_t type, std::string_view body);
  // The next frame, or nullopt on timeout or EOF.
  std::optional<RawFrame> ReadFrame(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the peer closed the connection within `timeout` (no frame came first).
  bool WaitForEof(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  bool ReadExactly(char* out, size_t n, std::chrono::steady_clock::time_point deadline);
  linux::UniqueFd fd_;
  bool eof_ = false;
};

// The encoding of a Request frame body.
std::string RequestBody(std::string_view service, std::string_view method, std::string_view payload,
                        int64_t timeout_nano = 0);

// A child process with its stdout on a pipe, killed and reaped on destruction.
class ChildProcess {
 public:
  // `before_exec` runs in the child after fork (async-signal-safe calls only).
  ChildProcess(const std::vector<std::string>& argv, std::function<void()> before_exec = {});
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  // The next line of stdout (without '\n'), or nullopt on EOF or timeout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // All remaining stdout until EOF, then the exit status (as from waitpid).
  int Wait(std::string* rest_of_stdout = nullptr);
  void Kill(int signal);

 private:
  pid_t pid_ = -1;
  linux::UniqueFd stdout_;
  std::string buffered_;
  bool reaped_ = false;
};

// Path of the Go peer program built by the ttrpc_go_build test, or "" when Go is absent.
std::string GoPeerPath();

}  // namespace berth::ttrpc::testing
