#include "shim/publisher.h"

#include <time.h>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "shim/log.h"

namespace berth::shim {
namespace {

using namespace std::chrono_literals;

constexpr auto kCallTimeout = 5s;
constexpr int kMaxRejections = 5;

void SetNow(google::protobuf::Timestamp* ts) {
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  ts->set_seconds(now.tv_sec);
  ts->set_nanos(static_cast<int32_t>(now.tv_nsec));
}

// Transport failures (containerd gone, restarting or slow) are retried forever;
// an error status from containerd's handler counts as a rejection.
bool IsTransportFailure(const ttrpc::Status& s) {
  return s.Is(ttrpc::Code::kUnavailable) || s.Is(ttrpc::Code::kDeadlineExceeded) ||
         s.Is(ttrpc::Code::kCancelled);
}

}  // namespace

Publisher::Publisher(ttrpc::EventLoop& loop, std::string address, std::string ns)
    : loop_(loop), address_(std::move(address)), namespace_(std::move(ns)), flush_(loop) {}

Publisher::~Publisher() {
  *alive_ = false;
  if (client_) client_->Close();
}

void Publisher::Publish(std::string topic, const google::protobuf::MessageLite& event) {
  containerd::services::events::ttrpc::v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  SetNow(envelope->mutable_timestamp());
  envelope->set_namespace_(namespace_);
  envelope->set_topic(topic);
  envelope->mutable_event()->set_type_url(event.GetTypeName());
  envelope->mutable_event()->set_value(event.SerializeAsString());
  LogDebug("publish " + topic);
  if (address_.empty()) return;
  queue_.push_back(Event{std::move(topic), request.SerializeAsString()});
  if (!in_flight_ && !retry_scheduled_) SendHead();
}

void Publisher::Flush(std::chrono::milliseconds timeout, std::function<void()> done) {
  if (queue_.empty()) return done();
  flush_.Add(timeout, [this] { return queue_.size(); }, std::move(done));
}

void Publisher::CheckFlushed() {
  if (queue_.empty()) flush_.Release();
}

void Publisher::SendHead() {
  if (queue_.empty() || in_flight_) return;
  if (!client_) {
    auto dialed = ttrpc::Client::Dial(loop_, address_);
    if (!dialed) {
      LogDebug("connect " + address_ + ": " + dialed.error().message);
      RetryLater();
      return;
    }
    client_.emplace(std::move(*dialed));
  }
  in_flight_ = true;
  ttrpc::CallOptions options{.timeout = kCallTimeout,
                             .metadata = {{"containerd-namespace-ttrpc", namespace_}}};
  std::weak_ptr<bool> alive = alive_;
  client_->CallAsync("containerd.services.events.ttrpc.v1.Events", "Forward",
                     queue_.front().payload, options, [this, alive](ttrpc::CallResult r) {
                       if (alive.expired()) return;
                       OnReply(std::move(r));
                     });
}

void Publisher::OnReply(ttrpc::CallResult result) {
  in_flight_ = false;
  if (result.status.ok()) {
    queue_.pop_front();
    ++delivered_;
    backoff_.Reset();
    CheckFlushed();
    SendHead();
    return;
  }
  Event& head = queue_.front();
  if (IsTransportFailure(result.status)) {
    LogWarning("post event " + head.topic + ": " + result.status.message + " (will retry)");
    // A closed connection stays closed: dial again on the retry.
    if (result.status.Is(ttrpc::Code::kUnavailable)) {
      client_->Close();
      client_.reset();
    }
  } else if (++head.rejections >= kMaxRejections) {
    LogError("post event " + head.topic + ": " + result.status.message + " (dropped)");
    queue_.pop_front();
    CheckFlushed();
    SendHead();
    return;
  }
  RetryLater();
}

void Publisher::RetryLater() {
  if (retry_scheduled_) return;
  retry_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.RunAfter(backoff_.Next(), [this, alive] {
    if (alive.expired()) return;
    retry_scheduled_ = false;
    SendHead();
  });
}

}  // namespace berth::shim
