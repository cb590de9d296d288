#include "ttrpc/frame.h"

#include <algorithm>
#include <cstring>

namespace berth::ttrpc {

namespace {

// A read of at least this much is offered, so that bursts of small frames are taken in
// one read(2).
constexpr size_t kMinReadSpace = 16 * 1024;
// An empty buffer larger than this is freed: a 4 MiB message must not pin 4 MiB.
constexpr size_t kRetainedCapacity = 64 * 1024;

void PutBigEndian32(char* out, uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

uint32_t GetBigEndian32(const char* in) {
  auto byte = [&](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[i])); };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

}  // namespace

void EncodeFrameHeader(const FrameHeader& header, char* out) {
  PutBigEndian32(out, header.length);
  PutBigEndian32(out + 4, header.stream_id);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
}

FrameHeader DecodeFrameHeader(const char* in) {
  return FrameHeader{
      .length = GetBigEndian32(in),
      .stream_id = GetBigEndian32(in + 4),
      .type = static_cast<uint8_t>(in[8]),
      .flags = static_cast<uint8_t>(in[9]),
  };
}

Status OversizedFrameStatus(uint32_t length) {
  return Status(Code::kResourceExhausted, "message length " + std::to_string(length) +
                                              " exceed maximum message size of " +
                                              std::to_string(kMaxMessageLength));
}

std::string FrameBuilder::Finish(uint32_t stream_id, MessageType type) && {
  FrameHeader header{
      .length = static_cast<uint32_t>(bytes_.size() - kFrameHeaderLength),
      .stream_id = stream_id,
      .type = static_cast<uint8_t>(type),
      .flags = 0,
  };
  EncodeFrameHeader(header, bytes_.data());
  return std::move(bytes_);
}

void FrameDecoder::Reserve(size_t bytes_needed_from_begin) {
  size_t buffered = end_ - begin_;
  if (capacity_ - begin_ >= bytes_needed_from_begin) return;
  if (capacity_ >= bytes_needed_from_begin) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, buffered);
  } else {
    auto bigger = std::make_unique_for_overwrite<char[]>(bytes_needed_from_begin);
    if (buffered > 0) std::memcpy(bigger.get(), buffer_.get() + begin_, buffered);
    buffer_ = std::move(bigger);
    capacity_ = bytes_needed_from_begin;
  }
  begin_ = 0;
  end_ = buffered;
}

std::span<char> FrameDecoder::ReadSpace() {
  if (begin_ == end_) begin_ = end_ = 0;
  size_t buffered = end_ - begin_;
  size_t wanted = buffered + kMinReadSpace;
  if (discard_remaining_ == 0 && buffered >= kFrameHeaderLength) {
    FrameHeader header = DecodeFrameHeader(buffer_.get() + begin_);
    size_t frame_total = kFrameHeaderLength + size_t{header.length};
    if (header.length <= max_body_length_ && frame_total > wanted) {
      // Grow towards the whole frame geometrically rather than trusting the header at
      // once: a peer that announces 4 MiB and sends nothing pins little memory.
      wanted = std::min(frame_total, std::max(wanted, 2 * capacity_));
    }
  }
  Reserve(wanted);
  return {buffer_.get() + end_, capacity_ - end_};
}

void FrameDecoder::Commit(size_t n) { end_ += n; }

void FrameDecoder::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    std::span<char> space = ReadSpace();
    size_t n = std::min(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), n);
    Commit(n);
    bytes.remove_prefix(n);
  }
}

std::optional<Frame> FrameDecoder::Next() {
  while (true) {
    if (discard_remaining_ > 0) {
      size_t dropped = static_cast<size_t>(std::min<uint64_t>(discard_remaining_, end_ - begin_));
      begin_ += dropped;
      discard_remaining_ -= dropped;
      if (discard_remaining_ > 0) return std::nullopt;
      return Frame{.header = discarding_, .body = {}, .oversized = true};
    }
    size_t buffered = end_ - begin_;
    if (buffered < kFrameHeaderLength) return std::nullopt;
    FrameHeader header = DecodeFrameHeader(buffer_.get() + begin_);
    if (header.length > max_body_length_) {
      begin_ += kFrameHeaderLength;
      discarding_ = header;
      discard_remaining_ = header.length;
      continue;
    }
    if (buffered < kFrameHeaderLength + size_t{header.length}) return std::nullopt;
    Frame frame{.header = header,
                .body = std::string_view(buffer_.get() + begin_ + kFrameHeaderLength, header.length),
                .oversized = false};
    begin_ += kFrameHeaderLength + header.length;
    return frame;
  }
}

void FrameDecoder::ReleaseMemory() {
  if (begin_ == end_ && capacity_ > kRetainedCapacity) {
    buffer_.reset();
    capacity_ = 0;
    begin_ = end_ = 0;
  }
}

}  // namespace berth::ttrpc
