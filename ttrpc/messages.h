// The ttrpc envelope messages, as ttrpc-go 1.1.1 declares them in types.go (it ships no
// .proto for them):
//   Request  {1 service string, 2 method string, 3 payload bytes, 4 timeout_nano int64,
//             5 repeated KeyValue{1 key string, 2 value string} metadata}
//   Response {1 status google.rpc.Status{1 code int32, 2 message string, 3 details},
//             2 payload bytes}
// Encoders omit zero fields as proto3 does, so an OK reply with an empty payload is a
// zero-length body, exactly what ttrpc-go sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ttrpc/status.h"

namespace berth::ttrpc {

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};
using Metadata = std::vector<KeyValue>;

// ttrpc-go's MD.Get: the first value whose key equals the lower-cased `key` (keys are
// matched as sent; ttrpc-go clients lower-case them).
std::optional<std::string_view> FindMetadata(const Metadata& metadata, std::string_view key);

struct Request {
  std::string service;
  std::string method;
  std::string payload;
  int64_t timeout_nano = 0;  // 0: no deadline; negative: already expired
  Metadata metadata;
  bool operator==(const Request&) const = default;
};

// Appends the encoding of a Request to `out`.
void EncodeRequest(std::string_view service, std::string_view method, std::string_view payload,
                   int64_t timeout_nano, const Metadata& metadata, std::string& out);
inline void EncodeRequest(const Request& r, std::string& out) {
  EncodeRequest(r.service, r.method, r.payload, r.timeout_nano, r.metadata, out);
}

// Decodes a Request body exactly as gogo/protobuf's reflection decoder decodes
// ttrpc-go's Request: same accepted inputs (unknown fields and known fields with the
// wrong wire type are skipped; later values win) and, on failure, the same error text
// in `error`, which ttrpc-go sends after "unmarshal request error: ".
bool DecodeRequest(std::string_view body, Request& out, std::string& error);

// Appends the encoding of a Response: no status field when `status` is OK, no payload
// field when `payload` is empty (ttrpc-go sends no payload with an error).
void EncodeResponse(const Status& status, std::string_view payload, std::string& out);

struct Response {
  Status status;
  std::string payload;
};
bool DecodeResponse(std::string_view body, Response& out, std::string& error);

}  // namespace berth::ttrpc
