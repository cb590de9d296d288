// ttrpc Server: wire-compatible with ttrpc-go 1.1.1's server, on an EventLoop.
//
// A handler runs on the loop thread and must not block. It receives the decoded
// Request and a one-shot Responder that may be used right away or later, from any
// thread: a long poll such as Task.Wait keeps its Responder until the process exits,
// and slow work moves to a worker thread with its Responder. Calls are independent:
// any number may be in flight on one connection and they may be answered in any order.
//
// Deadlines follow ttrpc-go: timeout_nano only cancels the call's context; the server
// itself never answers an expired call. A handler that wants ttrpc-go's behaviour for a
// handler returning ctx.Err() registers Responder::OnCancel and answers
// Status::DeadlineExceeded() (code 4 "context deadline exceeded").
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/messages.h"
#include "ttrpc/status.h"

namespace berth::ttrpc {

class ServerConnection;
struct ServerCall;

enum class CancelReason {
  kDeadlineExceeded,  // timeout_nano elapsed
  kConnectionClosed,  // the client went away or the server closed the connection
};

class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<ServerCall> call) : call_(std::move(call)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  // A responder dropped without an answer answers code 13 "ttrpc: handler returned no
  // response": a client never waits forever on a forgotten call.
  ~Responder();

  // Each answers once; later calls do nothing. Any thread.
  void Reply(std::string_view payload);  // OK with `payload` (a serialized message)
  void Fail(Status status);              // an error status and no payload, as ttrpc-go

  bool answered() const { return !call_; }
  uint32_t stream_id() const;
  // The call's deadline, from timeout_nano; nullopt without one.
  std::optional<std::chrono::steady_clock::time_point> deadline() const;
  // True once the deadline has passed or the connection has closed. Any thread.
  bool cancelled() const;
  // Runs `on_cancel` once on the loop thread when the call is cancelled (at once, via
  // the loop, if it already is). Not run if the call is answered first. Any thread.
  void OnCancel(std::function<void(CancelReason)> on_cancel);

 private:
  void Send(const Status& status, std::string_view payload);
  std::shared_ptr<ServerCall> call_;
};

using MethodHandler = std::function<void(Request request, Responder responder)>;
// Method name ("Create") -> handler.
using ServiceMethods = std::map<std::string, MethodHandler, std::less<>>;

struct ServerOptions {
  // ttrpc-go's UnixSocketRequireSameUser, which containerd's shims use: the peer's uid
  // and gid (SO_PEERCRED, as of connect) must equal our effective ones. nullopt
  // accepts anyone.
  std::optional<uid_t> required_uid = ::geteuid();
  std::optional<gid_t> required_gid = ::getegid();
  // Back-pressure against a client that sends faster than it reads or that piles up
  // long polls: reading from its connection pauses while it has this many calls in
  // flight or this many reply bytes unsent. Other connections are unaffected.
  size_t max_calls_in_flight = 4096;
  size_t max_queued_reply_bytes = 16 << 20;
  // Where "refusing connection" and similar notes go; default: stderr.
  std::function<void(std::string_view)> log;
};

class Server {
 public:
  // Loop thread only, like every method. `loop` must outlive the server.
  explicit Server(EventLoop& loop, ServerOptions options = {});
  ~Server();  // Close()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a service by full name ("containerd.task.v2.Task"); a name registered
  // twice is an error, as it is a panic in ttrpc-go.
  Result<void> Register(std::string service, ServiceMethods methods);
  // Serves the methods of `service` under a second name as well
  // ("containerd.task.v3.Task" for "containerd.task.v2.Task").
  Result<void> RegisterAlias(std::string alias, std::string_view service);

  Result<void> Listen(const std::string& socket_path);
  Result<void> Serve(linux::UniqueFd listening_socket);  // an inherited one, say

  // Stops accepting and closes each connection once it has no call in flight and no
  // reply unsent (ttrpc-go's Shutdown); `on_done` runs when none is left.
  void Shutdown(std::function<void()> on_done);
  // Stops accepting and closes every connection now; calls in flight are cancelled.
  void Close();

  size_t connection_count() const { return connections_.size(); }

 private:
  friend class ServerConnection;
  struct Listener {
    linux::UniqueFd fd;
    EventLoop::WatchId watch = 0;
  };

  void Accept(Listener& listener);
  bool PeerAllowed(int fd);
  void Log(std::string_view message) const;
  const ServiceMethods* FindService(std::string_view name) const;
  void ConnectionClosed(ServerConnection* connection);
  void CloseListeners();

  EventLoop& loop_;
  ServerOptions options_;
  std::unordered_map<std::string, std::shared_ptr<const ServiceMethods>> services_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<ServerConnection*, std::shared_ptr<ServerConnection>> connections_;
  std::function<void()> on_shutdown_done_;
  bool shutting_down_ = false;
  // Timers hold a weak_ptr to this, so one that fires after the server is gone does nothing.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace berth::ttrpc
