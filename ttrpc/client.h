// ttrpc Client: calls over one unix socket connection, wire-compatible with ttrpc-go
// 1.1.1's client. Calls are concurrent and get odd, increasing stream ids (1, 3, 5, ...).
// There is no reconnect: once the connection closes, pending and later calls end with
// Status::Closed() (code 14 "ttrpc: closed").
//
// The connection lives on an EventLoop, which must outlive the Client; the Client
// object itself is a handle usable from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/messages.h"
#include "ttrpc/status.h"

namespace berth::ttrpc {

class ClientConnection;

struct CallOptions {
  // 0: no deadline. Otherwise sent as timeout_nano (what is left of it when the call
  // is made, as ttrpc-go does) and the call ends locally with code 4 "context deadline
  // exceeded" when it passes; a late reply is dropped.
  std::chrono::nanoseconds timeout{0};
  // Sent in order; use lower-case keys, as ttrpc-go's MD does
  // (containerd reads "containerd-namespace-ttrpc").
  Metadata metadata;
};

struct CallResult {
  Status status;
  std::string payload;  // the reply's payload (empty on error)
};

class Client {
 public:
  // Any thread. Connects now; the socket joins the loop through a posted task.
  static Result<Client> Dial(EventLoop& loop, const std::string& socket_path);
  static Result<Client> FromConnectedSocket(EventLoop& loop, linux::UniqueFd socket);

  Client(Client&&) noexcept = default;
  Client& operator=(Client&&) noexcept;
  ~Client();  // Close()

  using Callback = std::move_only_function<void(CallResult)>;
  // Any thread. `done` runs once, on the loop thread (at once on the calling thread if
  // this Client was closed; dropped uncalled only if the loop is destroyed first).
  void CallAsync(std::string_view service, std::string_view method, std::string_view payload,
                 const CallOptions& options, Callback done);
  // Blocks until the reply, the deadline or the close. Not from the loop thread:
  // there it would deadlock, so it fails at once with code 9.
  CallResult Call(std::string_view service, std::string_view method, std::string_view payload,
                  const CallOptions& options = {});

  // Any thread: closes the connection; pending calls end with Status::Closed().
  void Close();
  // Any thread: `on_closed` runs on the loop thread once the connection is closed,
  // by either side (at once, via the loop, if it already is).
  void OnClosed(std::function<void()> on_closed);

 private:
  explicit Client(std::shared_ptr<ClientConnection> connection) : connection_(std::move(connection)) {}
  std::shared_ptr<ClientConnection> connection_;
};

}  // namespace berth::ttrpc
