#include "ttrpc/messages.h"

#include "ttrpc/wire.h"

namespace berth::ttrpc {

namespace {

using wire::DecodeVarint;
using wire::kUnexpectedEof;
using wire::Varint;

enum class FieldResult { kDone, kUnknown, kFatal };

// Reads a tag the way gogo's unmarshalInfo.unmarshal does (fast paths for 1 and 2
// bytes, then decodeVarint).
bool ReadTag(std::string_view& b, uint64_t& tag, int& wire_type, std::string& error) {
  uint64_t x;
  uint8_t b0 = static_cast<uint8_t>(b[0]);
  if (b0 < 0x80) {
    x = b0;
    b.remove_prefix(1);
  } else if (b.size() >= 2 && static_cast<uint8_t>(b[1]) < 0x80) {
    x = (b0 & 0x7fu) + (static_cast<uint64_t>(static_cast<uint8_t>(b[1])) << 7);
    b.remove_prefix(2);
  } else {
    Varint v = DecodeVarint(b);
    if (v.length == 0) {
      error = kUnexpectedEof;
      return false;
    }
    x = v.value;
    b.remove_prefix(v.length);
  }
  tag = x >> 3;
  wire_type = static_cast<int>(x & 7);
  return true;
}

// A length-delimited value: gogo checks the length against what is left.
bool ReadLengthDelimited(std::string_view& b, std::string_view& value, std::string& error) {
  Varint len = DecodeVarint(b);
  if (len.length == 0) {
    error = kUnexpectedEof;
    return false;
  }
  b.remove_prefix(len.length);
  if (len.value > b.size()) {
    error = kUnexpectedEof;
    return false;
  }
  value = b.substr(0, len.value);
  b.remove_prefix(len.value);
  return true;
}

// The loop of gogo's unmarshalInfo.unmarshal for one message. `known(tag, wire, b,
// utf8_error, error)` decodes a known field with the right wire type and returns kDone,
// kUnknown (skip it, as gogo does for a wrong wire type) or kFatal.
// `type_name` is the Go type ("ttrpc.Request") in the illegal-tag-0 error.
template <class KnownField>
bool DecodeMessage(std::string_view b, std::string_view type_name, std::string& error,
                   KnownField known) {
  std::string late_error;  // gogo's errLater: reported only if nothing fatal follows
  while (!b.empty()) {
    uint64_t tag;
    int wire_type;
    if (!ReadTag(b, tag, wire_type, error)) return false;
    if (tag == 0) {
      error = "proto: " + std::string(type_name) + ": illegal tag 0 (wire type " +
              std::to_string(wire_type) + ")";
      return false;
    }
    switch (known(tag, wire_type, b, late_error, error)) {
      case FieldResult::kDone:
        continue;
      case FieldResult::kFatal:
        return false;
      case FieldResult::kUnknown:
        break;
    }
    std::string skip_error;
    std::string_view rest = wire::SkipField(b, wire_type, skip_error);
    if (!skip_error.empty()) {
      error = std::move(skip_error);
      return false;
    }
    b = rest;
  }
  if (!late_error.empty()) {
    error = std::move(late_error);
    return false;
  }
  return true;
}

// A proto3 string field: invalid UTF-8 is remembered (gogo's errLater) and decoding
// goes on; ttrpc's types are not registered, so the field's full name is ".<name>".
FieldResult ReadString(std::string_view& b, int wire_type, std::string_view name,
                       std::string& target, std::string& late_error, std::string& error) {
  if (wire_type != wire::kBytes) return FieldResult::kUnknown;
  std::string_view value;
  if (!ReadLengthDelimited(b, value, error)) return FieldResult::kFatal;
  target.assign(value);
  if (!wire::IsValidUtf8(value) && late_error.empty()) {
    late_error = "proto: field \".";
    late_error.append(name);
    late_error.append("\" contains invalid UTF-8");
  }
  return FieldResult::kDone;
}

bool DecodeKeyValue(std::string_view body, KeyValue& out, std::string& error) {
  return DecodeMessage(body, "ttrpc.KeyValue", error,
                       [&](uint64_t tag, int wire_type, std::string_view& b,
                           std::string& late_error, std::string& err) {
                         switch (tag) {
                           case 1: return ReadString(b, wire_type, "key", out.key, late_error, err);
                           case 2: return ReadString(b, wire_type, "value", out.value, late_error, err);
                           default: return FieldResult::kUnknown;
                         }
                       });
}

}  // namespace

std::optional<std::string_view> FindMetadata(const Metadata& metadata, std::string_view key) {
  std::string lower(key);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (const KeyValue& kv : metadata) {
    if (kv.key == lower) return kv.value;
  }
  return std::nullopt;
}

void EncodeRequest(std::string_view service, std::string_view method, std::string_view payload,
                   int64_t timeout_nano, const Metadata& metadata, std::string& out) {
  size_t size = service.size() + method.size() + payload.size() + 32;
  for (const KeyValue& kv : metadata) size += kv.key.size() + kv.value.size() + 16;
  out.reserve(out.size() + size);
  if (!service.empty()) wire::AppendBytesField(out, 1, service);
  if (!method.empty()) wire::AppendBytesField(out, 2, method);
  if (!payload.empty()) wire::AppendBytesField(out, 3, payload);
  if (timeout_nano != 0) {
    wire::AppendTag(out, 4, wire::kVarint);
    wire::AppendVarint(out, static_cast<uint64_t>(timeout_nano));
  }
  std::string entry;
  for (const KeyValue& kv : metadata) {
    entry.clear();
    if (!kv.key.empty()) wire::AppendBytesField(entry, 1, kv.key);
    if (!kv.value.empty()) wire::AppendBytesField(entry, 2, kv.value);
    wire::AppendBytesField(out, 5, entry);
  }
}

bool DecodeRequest(std::string_view body, Request& out, std::string& error) {
  out = Request{};
  return DecodeMessage(
      body, "ttrpc.Request", error,
      [&](uint64_t tag, int wire_type, std::string_view& b, std::string& late_error,
          std::string& err) {
        switch (tag) {
          case 1: return ReadString(b, wire_type, "service", out.service, late_error, err);
          case 2: return ReadString(b, wire_type, "method", out.method, late_error, err);
          case 3: {
            if (wire_type != wire::kBytes) return FieldResult::kUnknown;
            std::string_view value;
            if (!ReadLengthDelimited(b, value, err)) return FieldResult::kFatal;
            out.payload.assign(value);
            return FieldResult::kDone;
          }
          case 4: {
            if (wire_type != wire::kVarint) return FieldResult::kUnknown;
            Varint v = DecodeVarint(b);
            if (v.length == 0) {
              err = kUnexpectedEof;
              return FieldResult::kFatal;
            }
            b.remove_prefix(v.length);
            out.timeout_nano = static_cast<int64_t>(v.value);
            return FieldResult::kDone;
          }
          case 5: {
            if (wire_type != wire::kBytes) return FieldResult::kUnknown;
            std::string_view value;
            if (!ReadLengthDelimited(b, value, err)) return FieldResult::kFatal;
            // A sub-message error, even invalid UTF-8, is fatal for the parent in gogo.
            KeyValue kv;
            if (!DecodeKeyValue(value, kv, err)) return FieldResult::kFatal;
            out.metadata.push_back(std::move(kv));
            return FieldResult::kDone;
          }
          default:
            return FieldResult::kUnknown;
        }
      });
}

void EncodeResponse(const Status& status, std::string_view payload, std::string& out) {
  if (!status.ok()) {
    std::string encoded;
    wire::AppendTag(encoded, 1, wire::kVarint);
    // int32 is sign-extended to 64 bits on the wire.
    wire::AppendVarint(encoded, static_cast<uint64_t>(static_cast<int64_t>(status.code)));
    if (!status.message.empty()) wire::AppendBytesField(encoded, 2, status.message);
    wire::AppendBytesField(out, 1, encoded);
  }
  if (!payload.empty()) wire::AppendBytesField(out, 2, payload);
}

bool DecodeResponse(std::string_view body, Response& out, std::string& error) {
  out = Response{};
  return DecodeMessage(
      body, "ttrpc.Response", error,
      [&](uint64_t tag, int wire_type, std::string_view& b, std::string& late_error,
          std::string& err) {
        if (wire_type != wire::kBytes || (tag != 1 && tag != 2)) return FieldResult::kUnknown;
        std::string_view value;
        if (!ReadLengthDelimited(b, value, err)) return FieldResult::kFatal;
        if (tag == 2) {
          out.payload.assign(value);
          return FieldResult::kDone;
        }
        // google.rpc.Status; its details (3, repeated Any) are skipped.
        bool ok = DecodeMessage(
            value, "status.Status", err,
            [&](uint64_t status_tag, int status_wire, std::string_view& sb,
                std::string& status_late_error, std::string& status_err) {
              if (status_tag == 1 && status_wire == wire::kVarint) {
                Varint v = DecodeVarint(sb);
                if (v.length == 0) {
                  status_err = kUnexpectedEof;
                  return FieldResult::kFatal;
                }
                sb.remove_prefix(v.length);
                out.status.code = static_cast<int32_t>(v.value);
                return FieldResult::kDone;
              }
              if (status_tag == 2) {
                return ReadString(sb, status_wire, "message", out.status.message,
                                  status_late_error, status_err);
              }
              return FieldResult::kUnknown;
            });
        return ok ? FieldResult::kDone : FieldResult::kFatal;
      });
}

}  // namespace berth::ttrpc
