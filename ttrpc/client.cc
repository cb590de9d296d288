#include "ttrpc/client.h"

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "ttrpc/frame.h"
#include "ttrpc/frame_channel.h"
#include "ttrpc/unix_socket.h"

namespace berth::ttrpc {

using Clock = std::chrono::steady_clock;

// The loop-thread side of a Client. Every member function runs on the loop thread,
// reached through posted tasks.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(EventLoop& loop, linux::UniqueFd fd)
      : loop_(loop),
        channel_(loop, std::move(fd),
                 FrameChannel::Callbacks{
                     .on_frame = [this](const Frame& frame) { OnFrame(frame); },
                     .on_closed = [this] { OnClosed(); },
                     .on_drained = nullptr,
                 }) {}

  EventLoop& loop() { return loop_; }

  void Start() {
    if (Result<void> started = channel_.Start(weak_from_this()); !started) {
      close_status_ = Status(Code::kUnavailable, "ttrpc: " + started.error().message);
      channel_.Close();
    }
  }

  // `frame` is a request frame whose stream id is filled in here.
  void StartCall(std::string frame, std::optional<Clock::time_point> deadline, Client::Callback done) {
    if (channel_.closed()) {
      done(CallResult{close_status_, {}});
      return;
    }
    if (deadline && *deadline <= Clock::now()) {
      done(CallResult{Status::DeadlineExceeded(), {}});
      return;
    }
    const uint32_t stream_id = next_stream_id_;
    next_stream_id_ += 2;  // odd: client-initiated streams
    FrameHeader header = DecodeFrameHeader(frame.data());
    header.stream_id = stream_id;
    EncodeFrameHeader(header, frame.data());

    PendingCall pending{std::move(done), 0};
    if (deadline) {
      pending.timer = loop_.RunAt(*deadline, [weak = weak_from_this(), stream_id] {
        if (auto self = weak.lock()) self->Expire(stream_id);
      });
    }
    pending_.emplace(stream_id, std::move(pending));
    channel_.Send(std::move(frame));
  }

  void Close() { channel_.Close(); }

  void AddOnClosed(std::function<void()> on_closed) {
    if (channel_.closed()) {
      on_closed();
    } else {
      on_closed_.push_back(std::move(on_closed));
    }
  }

 private:
  struct PendingCall {
    Client::Callback done;
    EventLoop::TimerId timer;
  };

  std::optional<PendingCall> Take(uint32_t stream_id) {
    auto it = pending_.find(stream_id);
    if (it == pending_.end()) return std::nullopt;
    PendingCall pending = std::move(it->second);
    pending_.erase(it);
    if (pending.timer != 0) loop_.CancelTimer(pending.timer);
    return pending;
  }

  void OnFrame(const Frame& frame) {
    // A reply for a call that timed out, or for no call at all, is dropped (ttrpc-go
    // logs "received message for unknown channel").
    std::optional<PendingCall> pending = Take(frame.header.stream_id);
    if (!pending) return;
    CallResult result;
    if (frame.oversized) {
      result.status = OversizedFrameStatus(frame.header.length);
    } else if (frame.header.type != static_cast<uint8_t>(MessageType::kResponse)) {
      result.status = Status(Code::kInternal, "ttrpc: unknown message type received");
    } else {
      Response response;
      std::string error;
      if (DecodeResponse(frame.body, response, error)) {
        result.status = std::move(response.status);
        result.payload = std::move(response.payload);
      } else {
        result.status = Status(Code::kInternal, "ttrpc: invalid response: " + error);
      }
    }
    pending->done(std::move(result));
  }

  void Expire(uint32_t stream_id) {
    std::optional<PendingCall> pending = Take(stream_id);
    if (!pending) return;
    pending->timer = 0;
    pending->done(CallResult{Status::DeadlineExceeded(), {}});
  }

  void OnClosed() {
    auto pending = std::exchange(pending_, {});
    for (auto& [stream_id, call] : pending) {
      if (call.timer != 0) loop_.CancelTimer(call.timer);
      call.done(CallResult{close_status_, {}});
    }
    for (auto& callback : std::exchange(on_closed_, {})) callback();
  }

  EventLoop& loop_;
  FrameChannel channel_;
  std::unordered_map<uint32_t, PendingCall> pending_;
  uint32_t next_stream_id_ = 1;
  Status close_status_ = Status::Closed();
  std::vector<std::function<void()>> on_closed_;
};

namespace {

// Runs `task` on the loop of `connection` with the connection alive.
void RunOnLoop(const std::shared_ptr<ClientConnection>& connection,
               std::move_only_function<void(ClientConnection&)> task) {
  EventLoop& loop = connection->loop();
  if (loop.InLoopThread()) {
    task(*connection);
  } else {
    loop.Post([connection, task = std::move(task)]() mutable { task(*connection); });
  }
}

}  // namespace

Result<Client> Client::Dial(EventLoop& loop, const std::string& socket_path) {
  linux::UniqueFd fd = BERTH_TRY_CTX(ConnectUnix(socket_path), "ttrpc dial");
  return FromConnectedSocket(loop, std::move(fd));
}

Result<Client> Client::FromConnectedSocket(EventLoop& loop, linux::UniqueFd socket) {
  BERTH_TRY(PrepareInheritedFd(socket.get()));
  auto connection = std::make_shared<ClientConnection>(loop, std::move(socket));
  RunOnLoop(connection, [](ClientConnection& c) { c.Start(); });
  return Client(std::move(connection));
}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    Close();
    connection_ = std::move(other.connection_);
  }
  return *this;
}

Client::~Client() { Close(); }

void Client::Close() {
  if (!connection_) return;
  // The last reference goes to the loop thread with the task, so the connection is
  // destroyed there, never under the loop's feet.
  RunOnLoop(std::exchange(connection_, nullptr), [](ClientConnection& c) { c.Close(); });
}

void Client::OnClosed(std::function<void()> on_closed) {
  if (!connection_) return;
  RunOnLoop(connection_, [on_closed = std::move(on_closed)](ClientConnection& c) mutable {
    c.AddOnClosed(std::move(on_closed));
  });
}

void Client::CallAsync(std::string_view service, std::string_view method, std::string_view payload,
                       const CallOptions& options, Callback done) {
  std::optional<Clock::time_point> deadline;
  int64_t timeout_nano = 0;
  if (options.timeout.count() != 0) {
    deadline = Clock::now() + options.timeout;
    timeout_nano = options.timeout.count();
  }
  // Encoded on the calling thread; the loop only patches in the stream id.
  FrameBuilder builder;
  EncodeRequest(service, method, payload, timeout_nano, options.metadata, builder.body());
  std::string frame = std::move(builder).Finish(0, MessageType::kRequest);
  if (!connection_) {
    done(CallResult{Status::Closed(), {}});
    return;
  }
  RunOnLoop(connection_, [frame = std::move(frame), deadline, done = std::move(done)](ClientConnection& c) mutable {
    c.StartCall(std::move(frame), deadline, std::move(done));
  });
}

namespace {

// The blocking Call's rendezvous. The callback owns a Completion; if the callback is
// destroyed uncalled (the loop went away), the waiter still wakes, with "closed".
struct Rendezvous {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<CallResult> result;

  void Set(CallResult r) {
    std::lock_guard lock(mu);
    if (!result) result = std::move(r);
    cv.notify_all();
  }
};

class Completion {
 public:
  explicit Completion(std::shared_ptr<Rendezvous> r) : rendezvous_(std::move(r)) {}
  Completion(Completion&&) noexcept = default;
  ~Completion() {
    if (rendezvous_) rendezvous_->Set(CallResult{Status::Closed(), {}});
  }
  void operator()(CallResult result) { std::exchange(rendezvous_, nullptr)->Set(std::move(result)); }

 private:
  std::shared_ptr<Rendezvous> rendezvous_;
};

}  // namespace

CallResult Client::Call(std::string_view service, std::string_view method, std::string_view payload,
                        const CallOptions& options) {
  if (connection_ && connection_->loop().InLoopThread()) {
    return CallResult{Status(Code::kFailedPrecondition, "ttrpc: blocking Call on the event loop thread"), {}};
  }
  auto rendezvous = std::make_shared<Rendezvous>();
  CallAsync(service, method, payload, options, Completion(rendezvous));
  std::unique_lock lock(rendezvous->mu);
  rendezvous->cv.wait(lock, [&] { return rendezvous->result.has_value(); });
  return std::move(*rendezvous->result);
}

}  // namespace berth::ttrpc
