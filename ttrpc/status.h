// Status: the google.rpc.Status a ttrpc call ends with (code + message), with the
// gRPC code numbers ttrpc-go uses and the exact texts ttrpc-go 1.1.1 sends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::ttrpc {

enum class Code : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

struct Status {
  int32_t code = 0;  // an int32, not Code: a peer may send any value
  std::string message;

  Status() = default;
  Status(Code c, std::string msg) : code(static_cast<int32_t>(c)), message(std::move(msg)) {}
  Status(int32_t c, std::string msg) : code(c), message(std::move(msg)) {}

  bool ok() const { return code == 0; }
  bool Is(Code c) const { return code == static_cast<int32_t>(c); }
  // "code 12: service foo" for logs and test failures.
  std::string ToString() const { return "code " + std::to_string(code) + ": " + message; }

  // Go's context errors as ttrpc-go's convertCode reports them when a handler returns
  // ctx.Err(); handlers that honour cancellation should answer with these.
  static Status DeadlineExceeded() { return {Code::kDeadlineExceeded, "context deadline exceeded"}; }
  static Status Cancelled() { return {Code::kCancelled, "context canceled"}; }
  // What a client call ends with when the connection is (or gets) closed.
  static Status Closed() { return {Code::kUnavailable, "ttrpc: closed"}; }
};

inline bool operator==(const Status& a, const Status& b) {
  return a.code == b.code && a.message == b.message;
}

}  // namespace berth::ttrpc
