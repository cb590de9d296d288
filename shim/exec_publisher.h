// Events of the v1 shim. containerd's v1 runtime gives its shims no ttrpc events
// service: a v1 shim runs
//   <containerd-binary> --address <containerd's address> publish --topic T --namespace NS
// with the event, a serialized protobuf Any, on stdin, as containerd-shim does
// (containerd's cmd/containerd-shim remoteEventsPublisher; `containerd publish` in
// cmd/containerd/command/publish.go forwards it to the events service).
//
// One process at a time, in queue order, so events are never reordered. A failed
// publish is retried with backoff (20 ms doubling to 2 s); one that could not reach
// containerd (it is restarting) is retried until it can, so events are delayed, not
// dropped. Only an event that containerd rejects five times is dropped. A publish
// process gets 30 s (containerd-shim's limit), then SIGKILL, which counts as a failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "shim/backoff.h"
#include "shim/flush_waiters.h"
#include "linux/unique_fd.h"
#include "shim/event_sink.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {

struct ExecPublisherConfig {
  std::string binary;   // -containerd-binary
  std::string address;  // -address: containerd's grpc socket
  std::string ns;       // -namespace
  // Only these topics are published; the others are left to containerd, whose v1
  // runtime publishes them itself. Empty: every topic.
  std::set<std::string> topics;
};

class ExecPublisher : public EventSink {
 public:
  ExecPublisher(ttrpc::EventLoop& loop, ExecPublisherConfig config);
  ~ExecPublisher() override;

  void Publish(std::string topic, const google::protobuf::MessageLite& event) override;
  void Flush(std::chrono::milliseconds timeout, std::function<void()> done) override;
  bool Owns(pid_t pid) const override { return child_pid_ != 0 && pid == child_pid_; }

  size_t pending() const { return queue_.size(); }
  uint64_t delivered() const { return delivered_; }

 private:
  struct Event {
    std::string topic;
    std::string any;  // the serialized Any for stdin
    int rejections = 0;
  };

  void SpawnHead();
  Result<void> Spawn(const Event& event);
  void OnChildExit();
  void Finish(bool ok, const std::string& why);
  void RetryLater();
  void CheckFlushed();

  ttrpc::EventLoop& loop_;
  ExecPublisherConfig config_;
  std::deque<Event> queue_;
  pid_t child_pid_ = 0;
  linux::UniqueFd child_pidfd_, child_stderr_;
  ttrpc::EventLoop::WatchId child_watch_ = 0;
  ttrpc::EventLoop::TimerId child_timer_ = 0;
  bool retry_scheduled_ = false;
  Backoff backoff_;
  uint64_t delivered_ = 0;
  FlushWaiters flush_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::shim
