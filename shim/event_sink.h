// Where the task core's events go. The v2 shim forwards them to containerd over ttrpc
// (publisher.h); the v1 shim runs `containerd publish` for each (exec_publisher.h).
// Either way one ordered queue: events are delivered in the order they were published.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include <google/protobuf/message_lite.h>

namespace berth::shim {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Loop thread. `topic` is "/tasks/exit" etc.
  virtual void Publish(std::string topic, const google::protobuf::MessageLite& event) = 0;
  // Loop thread: `done` runs once everything queued so far is delivered or dropped, or
  // when `timeout` passes.
  virtual void Flush(std::chrono::milliseconds timeout, std::function<void()> done) = 0;
  // A child process of the sink's own (the orphan reaper leaves it alone).
  virtual bool Owns(pid_t) const { return false; }
};

}  // namespace berth::shim
