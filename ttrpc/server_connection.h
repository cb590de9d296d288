// Internals of the server: one accepted connection, and the state of one call that a
// Responder shares with it. Not part of the public API.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "ttrpc/event_loop.h"
#include "ttrpc/frame_channel.h"
#include "ttrpc/server.h"

namespace berth::ttrpc {

struct ServerCall {
  std::shared_ptr<TaskQueue> loop_tasks;
  std::weak_ptr<ServerConnection> connection;
  uint32_t stream_id = 0;
  uint64_t serial = 0;  // key in the connection's table: a client may reuse stream ids
  std::optional<std::chrono::steady_clock::time_point> deadline;
  EventLoop::TimerId deadline_timer = 0;  // loop thread only; 0: none

  std::atomic<bool> answered = false;
  std::atomic<bool> cancelled = false;
  std::mutex mu;  // guards the two below
  CancelReason cancel_reason = CancelReason::kConnectionClosed;
  std::function<void(CancelReason)> on_cancel;

  // Loop thread: marks the call cancelled and runs its OnCancel callback once.
  void Cancel(CancelReason reason);
};

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(Server& server, EventLoop& loop, linux::UniqueFd fd);
  Result<void> Start();

  // A reply for call `serial`, encoded by its Responder. Loop thread.
  void Deliver(uint64_t serial, std::string frame);
  void Close();
  // Closes now if idle, else as soon as it becomes idle (Server::Shutdown).
  void CloseWhenIdle();
  // The server is going away: no more callbacks into it.
  void DetachFromServer() { server_ = nullptr; }

 private:
  void OnFrame(const Frame& frame);
  void Dispatch(uint32_t stream_id, Request request);
  void SendStatus(uint32_t stream_id, const Status& status);
  void OnClosed();
  void AfterReplyProgress();

  Server* server_;
  EventLoop& loop_;
  FrameChannel channel_;
  std::unordered_map<uint64_t, std::shared_ptr<ServerCall>> calls_;
  uint64_t next_serial_ = 1;
  bool close_when_idle_ = false;
};

}  // namespace berth::ttrpc
