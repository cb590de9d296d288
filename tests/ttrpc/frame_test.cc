#include "ttrpc/frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::ttrpc {
namespace {

std::string Frame(uint32_t stream_id, uint8_t type, std::string_view body) {
  char header[kFrameHeaderLength];
  EncodeFrameHeader({static_cast<uint32_t>(body.size()), stream_id, type, 0}, header);
  return std::string(header, sizeof(header)) + std::string(body);
}

std::vector<std::pair<FrameHeader, std::string>> Drain(FrameDecoder& decoder, std::vector<bool>* oversized = nullptr) {
  std::vector<std::pair<FrameHeader, std::string>> frames;
  while (auto frame = decoder.Next()) {
    frames.emplace_back(frame->header, std::string(frame->body));
    if (oversized) oversized->push_back(frame->oversized);
  }
  return frames;
}

TEST(Frame, HeaderIsBigEndianLengthStreamTypeFlags) {
  char header[kFrameHeaderLength];
  EncodeFrameHeader({0x01020304, 0x0a0b0c0d, 2, 0x7f}, header);
  EXPECT_EQ(std::string(header, sizeof(header)),
            std::string("\x01\x02\x03\x04\x0a\x0b\x0c\x0d\x02\x7f", 10));
  FrameHeader back = DecodeFrameHeader(header);
  EXPECT_EQ(back.length, 0x01020304u);
  EXPECT_EQ(back.stream_id, 0x0a0b0c0du);
  EXPECT_EQ(back.type, 2);
  EXPECT_EQ(back.flags, 0x7f);
}

TEST(Frame, BuilderFillsHeader) {
  FrameBuilder builder;
  builder.body() += "hello";
  std::string frame = std::move(builder).Finish(7, MessageType::kResponse);
  EXPECT_EQ(frame, Frame(7, 2, "hello"));
}

TEST(Frame, OversizedStatusIsTtrpcGoText) {
  Status status = OversizedFrameStatus(4194305);
  EXPECT_EQ(status.code, 8);
  EXPECT_EQ(status.message, "message length 4194305 exceed maximum message size of 4194304");
}

TEST(FrameDecoder, ByteByByte) {
  std::string stream = Frame(1, 1, "abc") + Frame(3, 1, "") + Frame(5, 2, std::string(1000, 'x'));
  FrameDecoder decoder;
  std::vector<std::pair<FrameHeader, std::string>> frames;
  for (char c : stream) {
    decoder.Append(std::string_view(&c, 1));
    for (auto& f : Drain(decoder)) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].first.stream_id, 1u);
  EXPECT_EQ(frames[0].second, "abc");
  EXPECT_EQ(frames[1].first.stream_id, 3u);
  EXPECT_EQ(frames[1].second, "");
  EXPECT_EQ(frames[2].first.type, 2);
  EXPECT_EQ(frames[2].second, std::string(1000, 'x'));
  EXPECT_TRUE(decoder.AtFrameBoundary());
}

TEST(FrameDecoder, ManyFramesInOneRead) {
  std::string stream;
  for (uint32_t i = 0; i < 500; ++i) stream += Frame(2 * i + 1, 1, std::to_string(i));
  FrameDecoder decoder;
  decoder.Append(stream);
  auto frames = Drain(decoder);
  ASSERT_EQ(frames.size(), 500u);
  for (uint32_t i = 0; i < 500; ++i) {
    EXPECT_EQ(frames[i].first.stream_id, 2 * i + 1);
    EXPECT_EQ(frames[i].second, std::to_string(i));
  }
}

TEST(FrameDecoder, AcceptsExactlyTheLimit) {
  FrameDecoder decoder;
  std::string body(kMaxMessageLength, 'm');
  decoder.Append(Frame(1, 1, body));
  std::vector<bool> oversized;
  auto frames = Drain(decoder, &oversized);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(oversized[0]);
  EXPECT_EQ(frames[0].second.size(), kMaxMessageLength);
  // The 4 MiB buffer is not kept once empty.
  decoder.ReleaseMemory();
  EXPECT_LE(decoder.capacity(), 64u * 1024);
}

TEST(FrameDecoder, DiscardsOversizedFrameAndGoesOn) {
  FrameDecoder decoder;
  std::string big(kMaxMessageLength + 1, 'o');
  std::string stream = Frame(9, 1, big) + Frame(11, 1, "after");
  // In uneven chunks, as reads would deliver it.
  std::vector<std::pair<FrameHeader, std::string>> frames;
  std::vector<bool> oversized;
  for (size_t offset = 0; offset < stream.size(); offset += 70001) {
    decoder.Append(std::string_view(stream).substr(offset, 70001));
    for (auto& f : Drain(decoder, &oversized)) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(oversized[0]);
  EXPECT_EQ(frames[0].first.stream_id, 9u);
  EXPECT_EQ(frames[0].first.length, kMaxMessageLength + 1);
  EXPECT_EQ(frames[0].second, "");
  EXPECT_FALSE(oversized[1]);
  EXPECT_EQ(frames[1].second, "after");
  // Discarding never buffers the oversized body.
  EXPECT_LT(decoder.capacity(), size_t{1} << 20);
}

TEST(FrameDecoder, HugeAnnouncedLengthDoesNotAllocateIt) {
  FrameDecoder decoder;
  char header[kFrameHeaderLength];
  EncodeFrameHeader({kMaxMessageLength, 1, 1, 0}, header);
  decoder.Append(std::string_view(header, sizeof(header)));
  EXPECT_FALSE(decoder.Next());
  decoder.ReadSpace();
  EXPECT_LT(decoder.capacity(), size_t{256} << 10);
  EXPECT_FALSE(decoder.AtFrameBoundary());
}

TEST(FrameDecoder, MaxLengthHeaderIsDiscardedNotAllocated) {
  FrameDecoder decoder;
  char header[kFrameHeaderLength];
  EncodeFrameHeader({0xffffffffu, 3, 1, 0}, header);
  decoder.Append(std::string_view(header, sizeof(header)));
  decoder.Append(std::string(100000, 'z'));
  EXPECT_FALSE(decoder.Next());
  EXPECT_LT(decoder.capacity(), size_t{1} << 20);
}

}  // namespace
}  // namespace berth::ttrpc
