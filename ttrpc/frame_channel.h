// FrameChannel: a connected non-blocking socket on an EventLoop that reads ttrpc frames
// and writes queued frames, shared by the server's connections and the client. Loop
// thread only.
//
// Lifetime: the channel lives inside an owner held by a shared_ptr; Start() takes a
// weak_ptr to that owner, which the fd handler locks for the duration of each event, so
// callbacks may drop the owner's last other reference safely.
#pragma once

#include <sys/uio.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/frame.h"

namespace berth::ttrpc {

class FrameChannel {
 public:
  struct Callbacks {
    std::function<void(const Frame&)> on_frame;
    // Once, after the socket is closed for any reason (peer EOF, error, Close()).
    std::function<void()> on_closed;
    // When the write queue becomes empty after having been non-empty.
    std::function<void()> on_drained;
  };

  FrameChannel(EventLoop& loop, linux::UniqueFd fd, Callbacks callbacks);
  ~FrameChannel();
  FrameChannel(const FrameChannel&) = delete;
  FrameChannel& operator=(const FrameChannel&) = delete;

  Result<void> Start(std::weak_ptr<void> owner);

  // Queues a complete frame and writes what the socket takes now (unless inside a
  // batch of frame callbacks: then once at the end of the batch).
  void Send(std::string frame);
  void Close();

  // While paused, neither read(2) nor on_frame happens; frames already buffered wait.
  void SetReadPaused(bool paused);

  bool closed() const { return !fd_.ok(); }
  size_t queued_bytes() const { return queued_bytes_; }
  int fd() const { return fd_.get(); }

 private:
  void OnEvents(uint32_t events);
  void ReadAvailable();
  void DeliverBufferedFrames();
  void Flush();
  void UpdateInterest();

  EventLoop& loop_;
  std::weak_ptr<void> owner_;
  linux::UniqueFd fd_;
  Callbacks callbacks_;
  EventLoop::WatchId watch_ = 0;
  bool watching_ = false;
  uint32_t interest_ = 0;

  FrameDecoder decoder_;
  bool read_paused_ = false;
  bool in_batch_ = false;

  std::deque<std::string> queue_;
  size_t queue_offset_ = 0;  // bytes of queue_.front() already written
  size_t queued_bytes_ = 0;
};

}  // namespace berth::ttrpc
