// Protocol buffer wire primitives for the ttrpc envelope (Request, Response, Status).
//
// The envelope is encoded by hand instead of by generated code because the server must
// reproduce, byte for byte, the errors of gogo/protobuf's reflection decoder that
// ttrpc-go 1.1.1 uses ("unmarshal request error: unexpected EOF", ...), and because the
// decoder is fuzzed with clang 14, whose libstdc++ has no <expected>: nothing here
// includes base/result.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::ttrpc::wire {

enum WireType : int {
  kVarint = 0,
  kFixed64 = 1,
  kBytes = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// gogo's decodeVarint: the value and the number of bytes used, or 0 bytes when the input
// ends inside the varint or the varint is longer than 10 bytes (or its 10th byte > 1).
struct Varint {
  uint64_t value = 0;
  size_t length = 0;
};
Varint DecodeVarint(std::string_view in);

// gogo's skipField: skips the value of an unknown field of wire type `wire`, returning
// the rest of the input, or sets `error` ("unexpected EOF" or "proto: can't skip
// unknown wire type N") and returns an empty view.
std::string_view SkipField(std::string_view in, int wire, std::string& error);

// True when `s` is valid UTF-8 as Go's utf8.ValidString defines it (no surrogates, no
// overlong forms, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

void AppendVarint(std::string& out, uint64_t value);
void AppendTag(std::string& out, uint32_t field, WireType wire);
// A length-delimited field, written even when `value` is empty.
void AppendBytesField(std::string& out, uint32_t field, std::string_view value);
size_t VarintSize(uint64_t value);

inline constexpr std::string_view kUnexpectedEof = "unexpected EOF";

}  // namespace berth::ttrpc::wire
