#include "ttrpc/wire.h"

namespace berth::ttrpc::wire {

Varint DecodeVarint(std::string_view in) {
  uint64_t value = 0;
  for (size_t i = 0; i < in.size() && i < 10; ++i) {
    uint64_t byte = static_cast<uint8_t>(in[i]);
    if (i == 9) {
      // Only one bit of the tenth byte fits in 64 bits; gogo rejects anything more.
      if (byte >= 2) return {};
      return {value | (byte << 63), 10};
    }
    value |= (byte & 0x7f) << (7 * i);
    if (byte < 0x80) return {value, i + 1};
  }
  return {};
}

namespace {

// gogo's findEndGroup: the offset just past the end-group tag that closes the group
// whose start tag has been consumed, or -1.
int64_t FindEndGroup(std::string_view b) {
  int depth = 1;
  int64_t i = 0;
  const int64_t size = static_cast<int64_t>(b.size());
  while (true) {
    Varint tag = DecodeVarint(b.substr(i));
    if (tag.length == 0) return -1;
    i += static_cast<int64_t>(tag.length);
    switch (tag.value & 7) {
      case kVarint: {
        Varint v = DecodeVarint(b.substr(i));
        if (v.length == 0) return -1;
        i += static_cast<int64_t>(v.length);
        break;
      }
      case kFixed32:
        if (size - 4 < i) return -1;
        i += 4;
        break;
      case kFixed64:
        if (size - 8 < i) return -1;
        i += 8;
        break;
      case kBytes: {
        Varint len = DecodeVarint(b.substr(i));
        if (len.length == 0) return -1;
        i += static_cast<int64_t>(len.length);
        if (static_cast<uint64_t>(size - i) < len.value) return -1;
        i += static_cast<int64_t>(len.value);
        break;
      }
      case kStartGroup:
        ++depth;
        break;
      case kEndGroup:
        if (--depth == 0) return i;
        break;
      default:
        return -1;
    }
  }
}

}  // namespace

std::string_view SkipField(std::string_view in, int wire, std::string& error) {
  switch (wire) {
    case kVarint: {
      Varint v = DecodeVarint(in);
      if (v.length == 0) break;
      return in.substr(v.length);
    }
    case kFixed32:
      if (in.size() < 4) break;
      return in.substr(4);
    case kFixed64:
      if (in.size() < 8) break;
      return in.substr(8);
    case kBytes: {
      Varint len = DecodeVarint(in);
      if (len.length == 0 || in.size() - len.length < len.value) break;
      return in.substr(len.length + len.value);
    }
    case kStartGroup: {
      int64_t end = FindEndGroup(in);
      if (end < 0) break;
      return in.substr(static_cast<size_t>(end));
    }
    default:
      error = "proto: can't skip unknown wire type " + std::to_string(wire);
      return {};
  }
  error = kUnexpectedEof;
  return {};
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t min_second = 0x80, max_second = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) min_second = 0xA0;  // overlong
      if (c == 0xED) max_second = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) min_second = 0x90;  // overlong
      if (c == 0xF4) max_second = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (s.size() - i < n) return false;
    uint8_t second = static_cast<uint8_t>(s[i + 1]);
    if (second < min_second || second > max_second) return false;
    for (size_t k = 2; k < n; ++k) {
      uint8_t next = static_cast<uint8_t>(s[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += n;
  }
  return true;
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void AppendTag(std::string& out, uint32_t field, WireType wire) {
  AppendVarint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire));
}

void AppendBytesField(std::string& out, uint32_t field, std::string_view value) {
  AppendTag(out, field, kBytes);
  AppendVarint(out, value.size());
  out.append(value);
}

size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

}  // namespace berth::ttrpc::wire
