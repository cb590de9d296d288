// ttrpc framing: a 10-byte header (u32 big-endian body length, u32 big-endian stream
// id, u8 type, u8 flags) then the body. Bodies above 4 MiB are read and thrown away;
// the receiver answers them with code 8 (ttrpc-go's channel.recv).
//
// FrameDecoder is a pure byte parser with no fd: the connection read(2)s into the space
// it offers, and tests and the fuzzer feed it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ttrpc/status.h"

namespace berth::ttrpc {

inline constexpr size_t kFrameHeaderLength = 10;
inline constexpr uint32_t kMaxMessageLength = 4 << 20;  // ttrpc-go's messageLengthMax

enum class MessageType : uint8_t {
  kRequest = 1,
  kResponse = 2,
};

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;  // a raw byte: peers may send any value
  uint8_t flags = 0;
};

void EncodeFrameHeader(const FrameHeader& header, char* out);
FrameHeader DecodeFrameHeader(const char* in);

// ttrpc-go's answer to an oversized frame:
// code 8 "message length N exceed maximum message size of 4194304".
Status OversizedFrameStatus(uint32_t length);

// A frame whose body is built in place after a header placeholder, so that large
// payloads are copied once. Finish() fills in the header.
class FrameBuilder {
 public:
  FrameBuilder() : bytes_(kFrameHeaderLength, '\0') {}
  std::string& body() { return bytes_; }  // append the body after the header
  std::string Finish(uint32_t stream_id, MessageType type) &&;

 private:
  std::string bytes_;
};

struct Frame {
  FrameHeader header;
  std::string_view body;  // valid until the decoder is used again
  // The body was longer than the limit and has been discarded; `body` is empty.
  bool oversized = false;
};

class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_body_length = kMaxMessageLength)
      : max_body_length_(max_body_length) {}
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Space to read(2) into next, sized for the frame in progress (never empty), then
  // Commit() the number of bytes read.
  std::span<char> ReadSpace();
  void Commit(size_t n);
  // ReadSpace + copy + Commit, for tests and the fuzzer.
  void Append(std::string_view bytes);

  // The next complete frame, or nullopt when more bytes are needed.
  std::optional<Frame> Next();

  // True when no partial frame is buffered (a peer that closes now loses nothing).
  bool AtFrameBoundary() const { return begin_ == end_ && discard_remaining_ == 0; }
  // Gives back a large buffer once it is empty, so an idle connection stays small.
  void ReleaseMemory();
  size_t capacity() const { return capacity_; }

 private:
  void Reserve(size_t bytes_needed_from_begin);

  uint32_t max_body_length_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte read
  uint64_t discard_remaining_ = 0;
  FrameHeader discarding_;  // header of the oversized frame being thrown away
};

}  // namespace berth::ttrpc
