// Error statuses as containerd's runc shim returns them. containerd maps the code
// back with errdefs.FromGRPC, so the code matters; the texts follow errdefs, which
// appends the class ("...: not found").
#pragma once

#include <string>

#include "base/result.h"
#include "ttrpc/status.h"

namespace berth::shim {

inline ttrpc::Status NotFound(const std::string& what) {
  return {ttrpc::Code::kNotFound, what + ": not found"};
}
inline ttrpc::Status AlreadyExists(const std::string& what) {
  return {ttrpc::Code::kAlreadyExists, what + ": already exists"};
}
inline ttrpc::Status FailedPrecondition(const std::string& what) {
  return {ttrpc::Code::kFailedPrecondition, what + ": failed precondition"};
}
inline ttrpc::Status InvalidArgument(const std::string& what) {
  return {ttrpc::Code::kInvalidArgument, what + ": invalid argument"};
}
inline ttrpc::Status NotImplemented(const std::string& what) {
  return {ttrpc::Code::kUnimplemented, what + ": not implemented"};
}
// A plain Go error (errors.New, a runtime failure): ttrpc-go sends code 2.
inline ttrpc::Status Unknown(const std::string& what) { return {ttrpc::Code::kUnknown, what}; }

}  // namespace berth::shim
