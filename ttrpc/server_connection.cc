#include "ttrpc/server_connection.h"

#include "ttrpc/frame.h"

namespace berth::ttrpc {

namespace {

std::string EncodeResponseFrame(uint32_t stream_id, const Status& status, std::string_view payload) {
  FrameBuilder builder;
  EncodeResponse(status, payload, builder.body());
  size_t body_length = builder.body().size() - kFrameHeaderLength;
  if (body_length > kMaxMessageLength) {
    // ttrpc-go 1.1.1 would send it, and its own client then panics slicing the
    // discarded body (client.go: p[:mh.Length]); later ttrpc-go releases refuse to send
    // it and answer this status instead, which is what containerd can survive.
    FrameBuilder refusal;
    EncodeResponse(OversizedFrameStatus(static_cast<uint32_t>(body_length)), {}, refusal.body());
    return std::move(refusal).Finish(stream_id, MessageType::kResponse);
  }
  return std::move(builder).Finish(stream_id, MessageType::kResponse);
}

// timeout_nano is an int64 of nanoseconds from the client; keep now + timeout inside
// steady_clock's range. A negative timeout is a deadline already passed, as in Go.
std::chrono::steady_clock::time_point DeadlineFrom(int64_t timeout_nano) {
  constexpr int64_t kLongest = int64_t{100} * 365 * 24 * 3600 * 1'000'000'000;
  auto now = std::chrono::steady_clock::now();
  if (timeout_nano <= 0) return now;
  return now + std::chrono::nanoseconds(std::min(timeout_nano, kLongest));
}

}  // namespace

void ServerCall::Cancel(CancelReason reason) {
  std::function<void(CancelReason)> callback;
  {
    std::lock_guard lock(mu);
    if (cancelled.load()) return;
    cancelled = true;
    cancel_reason = reason;
    callback = std::move(on_cancel);
  }
  if (callback && !answered.load()) callback(reason);
}

// ---- Responder ----

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (call_) Fail(Status(Code::kInternal, "ttrpc: handler returned no response"));
    call_ = std::move(other.call_);
  }
  return *this;
}

Responder::~Responder() {
  if (call_) Fail(Status(Code::kInternal, "ttrpc: handler returned no response"));
}

void Responder::Reply(std::string_view payload) { Send(Status(), payload); }

void Responder::Fail(Status status) {
  if (status.ok()) status = Status(Code::kUnknown, "ttrpc: Fail called with an OK status");
  Send(status, {});
}

void Responder::Send(const Status& status, std::string_view payload) {
  std::shared_ptr<ServerCall> call = std::move(call_);
  if (!call) return;
  call->answered = true;
  // Encoded on the answering thread: a large reply is never copied on the loop thread.
  std::string frame = EncodeResponseFrame(call->stream_id, status, payload);
  auto deliver = [call, frame = std::move(frame)]() mutable {
    if (std::shared_ptr<ServerConnection> connection = call->connection.lock()) {
      connection->Deliver(call->serial, std::move(frame));
    }
  };
  if (call->loop_tasks->InLoopThread()) {
    deliver();
  } else {
    call->loop_tasks->Post(std::move(deliver));
  }
}

uint32_t Responder::stream_id() const { return call_ ? call_->stream_id : 0; }

std::optional<std::chrono::steady_clock::time_point> Responder::deadline() const {
  return call_ ? call_->deadline : std::nullopt;
}

bool Responder::cancelled() const { return call_ && call_->cancelled.load(); }

void Responder::OnCancel(std::function<void(CancelReason)> on_cancel) {
  if (!call_ || !on_cancel) return;
  std::unique_lock lock(call_->mu);
  if (!call_->cancelled.load()) {
    call_->on_cancel = std::move(on_cancel);
    return;
  }
  CancelReason reason = call_->cancel_reason;
  lock.unlock();
  call_->loop_tasks->Post([on_cancel = std::move(on_cancel), reason] { on_cancel(reason); });
}

// ---- ServerConnection ----

ServerConnection::ServerConnection(Server& server, EventLoop& loop, linux::UniqueFd fd)
    : server_(&server),
      loop_(loop),
      channel_(loop, std::move(fd),
               FrameChannel::Callbacks{
                   .on_frame = [this](const Frame& frame) { OnFrame(frame); },
                   .on_closed = [this] { OnClosed(); },
                   .on_drained = [this] { AfterReplyProgress(); },
               }) {}

Result<void> ServerConnection::Start() { return channel_.Start(weak_from_this()); }

void ServerConnection::OnFrame(const Frame& frame) {
  const uint32_t stream_id = frame.header.stream_id;
  // The checks run in ttrpc-go's order: size, type, Request decoding, stream id parity.
  if (frame.oversized) {
    SendStatus(stream_id, OversizedFrameStatus(frame.header.length));
    return;
  }
  if (frame.header.type != static_cast<uint8_t>(MessageType::kRequest)) {
    return;  // ttrpc-go ignores other types "for future compat"
  }
  Request request;
  std::string error;
  if (!DecodeRequest(frame.body, request, error)) {
    SendStatus(stream_id, Status(Code::kInvalidArgument, "unmarshal request error: " + error));
    return;
  }
  if (stream_id % 2 != 1) {
    SendStatus(stream_id, Status(Code::kInvalidArgument,
                                 "StreamID must be odd for client initiated streams"));
    return;
  }
  Dispatch(stream_id, std::move(request));
}

void ServerConnection::Dispatch(uint32_t stream_id, Request request) {
  if (!server_) return;
  const ServiceMethods* service = server_->FindService(request.service);
  if (!service) {
    SendStatus(stream_id, Status(Code::kUnimplemented, "service " + request.service));
    return;
  }
  auto method = service->find(request.method);
  if (method == service->end()) {
    SendStatus(stream_id, Status(Code::kUnimplemented, "method " + request.method));
    return;
  }

  auto call = std::make_shared<ServerCall>();
  call->loop_tasks = loop_.task_queue();
  call->connection = weak_from_this();
  call->stream_id = stream_id;
  call->serial = next_serial_++;
  if (request.timeout_nano != 0) {
    call->deadline = DeadlineFrom(request.timeout_nano);
    call->deadline_timer = loop_.RunAt(*call->deadline, [weak = std::weak_ptr(call)] {
      if (auto c = weak.lock()) {
        c->deadline_timer = 0;
        c->Cancel(CancelReason::kDeadlineExceeded);
      }
    });
  }
  calls_.emplace(call->serial, call);
  if (calls_.size() >= server_->options_.max_calls_in_flight) channel_.SetReadPaused(true);

  method->second(std::move(request), Responder(std::move(call)));
}

void ServerConnection::SendStatus(uint32_t stream_id, const Status& status) {
  channel_.Send(EncodeResponseFrame(stream_id, status, {}));
  AfterReplyProgress();
}

void ServerConnection::Deliver(uint64_t serial, std::string frame) {
  auto it = calls_.find(serial);
  if (it == calls_.end()) return;  // the connection closed and reopened its table
  if (it->second->deadline_timer != 0) loop_.CancelTimer(it->second->deadline_timer);
  calls_.erase(it);
  channel_.Send(std::move(frame));
  AfterReplyProgress();
}

void ServerConnection::AfterReplyProgress() {
  if (channel_.closed() || !server_) return;
  const ServerOptions& options = server_->options_;
  bool overloaded = calls_.size() >= options.max_calls_in_flight ||
                    channel_.queued_bytes() >= options.max_queued_reply_bytes;
  channel_.SetReadPaused(overloaded);
  if (close_when_idle_ && calls_.empty() && channel_.queued_bytes() == 0) Close();
}

void ServerConnection::CloseWhenIdle() {
  close_when_idle_ = true;
  AfterReplyProgress();
}

void ServerConnection::Close() { channel_.Close(); }

void ServerConnection::OnClosed() {
  // Like ttrpc-go cancelling the connection's context: every call in flight learns of it.
  auto calls = std::exchange(calls_, {});
  for (auto& [serial, call] : calls) {
    if (call->deadline_timer != 0) loop_.CancelTimer(call->deadline_timer);
    call->Cancel(CancelReason::kConnectionClosed);
  }
  if (server_) server_->ConnectionClosed(this);
}

}  // namespace berth::ttrpc
