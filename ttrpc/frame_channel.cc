#include "ttrpc/frame_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace berth::ttrpc {

namespace {
// Reads per readiness event: enough to drain bursts, few enough that one busy peer
// cannot starve the other fds of the loop.
constexpr int kMaxReadsPerEvent = 8;
constexpr size_t kMaxIovecs = 64;
}  // namespace

FrameChannel::FrameChannel(EventLoop& loop, linux::UniqueFd fd, Callbacks callbacks)
    : loop_(loop), fd_(std::move(fd)), callbacks_(std::move(callbacks)) {}

FrameChannel::~FrameChannel() {
  if (watching_) loop_.Unwatch(watch_);
}

Result<void> FrameChannel::Start(std::weak_ptr<void> owner) {
  owner_ = owner;
  interest_ = EPOLLIN;
  watch_ = BERTH_TRY(loop_.Watch(fd_.get(), interest_, [this, owner = std::move(owner)](uint32_t events) {
    std::shared_ptr<void> hold = owner.lock();
    if (!hold) return;
    OnEvents(events);
  }));
  watching_ = true;
  return {};
}

void FrameChannel::OnEvents(uint32_t events) {
  if (closed()) return;
  if (events & EPOLLOUT) Flush();
  if (closed()) return;
  if (events & EPOLLIN) {
    ReadAvailable();
  } else if (events & (EPOLLHUP | EPOLLERR)) {
    Close();
  }
}

void FrameChannel::ReadAvailable() {
  for (int i = 0; i < kMaxReadsPerEvent && !read_paused_; ++i) {
    std::span<char> space = decoder_.ReadSpace();
    ssize_t n = ::read(fd_.get(), space.data(), space.size());
    if (n > 0) {
      decoder_.Commit(static_cast<size_t>(n));
      DeliverBufferedFrames();
      if (closed()) return;
      if (static_cast<size_t>(n) < space.size()) break;  // drained for now
      continue;
    }
    if (n == 0) {
      Close();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    Close();  // ECONNRESET and friends: the peer is gone
    return;
  }
  decoder_.ReleaseMemory();
}

void FrameChannel::DeliverBufferedFrames() {
  // Replies sent by handlers that answer at once are written together after the batch.
  in_batch_ = true;
  while (!read_paused_ && !closed()) {
    std::optional<Frame> frame = decoder_.Next();
    if (!frame) break;
    callbacks_.on_frame(*frame);
  }
  in_batch_ = false;
  if (!closed()) Flush();
}

void FrameChannel::Send(std::string frame) {
  if (closed() || frame.empty()) return;
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  if (!in_batch_ && queue_.size() == 1) Flush();
}

void FrameChannel::Flush() {
  bool had_data = !queue_.empty();
  while (!queue_.empty()) {
    iovec iov[kMaxIovecs];
    size_t count = 0;
    for (auto it = queue_.begin(); it != queue_.end() && count < kMaxIovecs; ++it, ++count) {
      size_t skip = count == 0 ? queue_offset_ : 0;
      iov[count].iov_base = it->data() + skip;
      iov[count].iov_len = it->size() - skip;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    // MSG_NOSIGNAL: a vanished peer is an error to handle, not a SIGPIPE.
    ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      Close();
      return;
    }
    size_t written = static_cast<size_t>(n);
    queued_bytes_ -= written;
    while (written > 0) {
      size_t left = queue_.front().size() - queue_offset_;
      if (written < left) {
        queue_offset_ += written;
        break;
      }
      written -= left;
      queue_.pop_front();
      queue_offset_ = 0;
    }
  }
  UpdateInterest();
  if (had_data && queue_.empty() && callbacks_.on_drained) callbacks_.on_drained();
}

void FrameChannel::SetReadPaused(bool paused) {
  if (read_paused_ == paused || closed()) return;
  read_paused_ = paused;
  UpdateInterest();
  if (!paused) {
    // Frames that arrived before the pause are delivered from a fresh task, not from
    // inside the reply or drain callback that lifted the pause.
    loop_.Post([this, owner = owner_] {
      std::shared_ptr<void> hold = owner.lock();
      if (hold && !closed() && !read_paused_) DeliverBufferedFrames();
    });
  }
}

void FrameChannel::UpdateInterest() {
  if (!watching_ || closed()) return;
  uint32_t wanted = (read_paused_ ? 0u : uint32_t{EPOLLIN}) | (queue_.empty() ? 0u : uint32_t{EPOLLOUT});
  if (wanted == interest_) return;
  if (loop_.Modify(watch_, wanted)) {
    interest_ = wanted;
  } else {
    Close();
  }
}

void FrameChannel::Close() {
  if (closed()) return;
  if (watching_) {
    loop_.Unwatch(watch_);
    watching_ = false;
  }
  fd_.reset();
  queue_.clear();
  queued_bytes_ = 0;
  decoder_.ReleaseMemory();
  if (callbacks_.on_closed) callbacks_.on_closed();
}

}  // namespace berth::ttrpc
