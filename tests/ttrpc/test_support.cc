#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "ttrpc/messages.h"
#include "ttrpc/unix_socket.h"

namespace berth::ttrpc::testing {

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/berth-ttrpc-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  ::chmod(pattern.c_str(), 0755);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

LoopThread::LoopThread() {
  auto loop = EventLoop::Create();
  if (!loop) std::abort();
  loop_ = std::move(*loop);
  thread_ = std::thread([this] {
    if (!loop_->Run()) std::abort();
  });
}

LoopThread::~LoopThread() {
  loop_->Stop();
  thread_.join();
}

RawConnection::RawConnection(const std::string& socket_path) {
  auto fd = ConnectUnix(socket_path);
  if (!fd) return;
  fd_ = std::move(*fd);
  // Blocking from here on: the raw peer is a simple sequential program.
  int flags = ::fcntl(fd_.get(), F_GETFL);
  ::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK);
}

void RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the peer closed; reads will tell
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void RawConnection::SendFrame(uint32_t stream_id, uint8_t type, std::string_view body) {
  char header[kFrameHeaderLength];
  EncodeFrameHeader(FrameHeader{.length = static_cast<uint32_t>(body.size()),
                                .stream_id = stream_id,
                                .type = type,
                                .flags = 0},
                    header);
  std::string frame(header, kFrameHeaderLength);
  frame.append(body);
  Send(frame);
}

bool RawConnection::ReadExactly(char* out, size_t n, std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t got = ::read(fd_.get(), out, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      eof_ = true;
      return false;
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

std::optional<RawFrame> RawConnection::ReadFrame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char header[kFrameHeaderLength];
  if (!ReadExactly(header, sizeof(header), deadline)) return std::nullopt;
  RawFrame frame{DecodeFrameHeader(header), {}};
  frame.body.resize(frame.header.length);
  if (!ReadExactly(frame.body.data(), frame.body.size(), deadline)) return std::nullopt;
  return frame;
}

bool RawConnection::WaitForEof(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char byte;
  if (ReadExactly(&byte, 1, deadline)) return false;  // data, not EOF
  return eof_;
}

std::string RequestBody(std::string_view service, std::string_view method, std::string_view payload,
                        int64_t timeout_nano) {
  std::string body;
  EncodeRequest(service, method, payload, timeout_nano, {}, body);
  return body;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, std::function<void()> before_exec) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) std::abort();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    if (before_exec) before_exec();
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  stdout_.reset(pipe_fds[0]);
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

std::optional<std::string> ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{.fd = stdout_.get(), .events = POLLIN, .revents = 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char chunk[4096];
    ssize_t n = ::read(stdout_.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

int ChildProcess::Wait(std::string* rest_of_stdout) {
  char chunk[4096];
  while (true) {
    ssize_t n = ::read(stdout_.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffered_.append(chunk, static_cast<size_t>(n));
  }
  if (rest_of_stdout) *rest_of_stdout = std::exchange(buffered_, {});
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

void ChildProcess::Kill(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

std::string GoPeerPath() {
  const char* path = std::getenv("BERTH_TTRPC_GO_PEER");
  return path ? path : "";
}

}  // namespace berth::ttrpc::testing
