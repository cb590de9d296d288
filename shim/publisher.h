// Events to containerd: Events/Forward calls over ttrpc to TTRPC_ADDRESS, with the
// namespace in the `containerd-namespace-ttrpc` metadata and a 5 s timeout, as
// containerd's runc shim sends them.
//
// One ordered queue, one call in flight: events reach containerd in the order they
// were published. A failed call is retried with backoff, and the connection is
// re-dialed when it closed (containerd restarting), so a slow or absent containerd
// delays events but never reorders or drops them. Only an event containerd itself
// keeps rejecting with an error status is dropped after 5 tries, as runc's shim does.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <google/protobuf/message_lite.h>

#include "shim/backoff.h"
#include "shim/flush_waiters.h"
#include "shim/event_sink.h"
#include "ttrpc/client.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {

class Publisher : public EventSink {
 public:
  // `address` is TTRPC_ADDRESS; empty: events are logged and dropped (tests).
  Publisher(ttrpc::EventLoop& loop, std::string address, std::string ns);
  ~Publisher() override;

  // Loop thread. `topic` is "/tasks/exit" etc.; the Any's type_url is the message's
  // bare proto name ("containerd.events.TaskExit"), as containerd's typeurl expects.
  void Publish(std::string topic, const google::protobuf::MessageLite& event) override;
  // Loop thread: `done` runs once everything queued is delivered or dropped, or when
  // `timeout` passes.
  void Flush(std::chrono::milliseconds timeout, std::function<void()> done) override;

  size_t pending() const { return queue_.size(); }
  uint64_t delivered() const { return delivered_; }

 private:
  struct Event {
    std::string topic;
    std::string payload;  // a serialized ForwardRequest
    int rejections = 0;
  };

  void SendHead();
  void OnReply(ttrpc::CallResult result);
  void RetryLater();
  void CheckFlushed();

  ttrpc::EventLoop& loop_;
  std::string address_;
  std::string namespace_;
  std::deque<Event> queue_;
  std::optional<ttrpc::Client> client_;
  bool in_flight_ = false;
  bool retry_scheduled_ = false;
  Backoff backoff_;
  uint64_t delivered_ = 0;
  FlushWaiters flush_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::shim
