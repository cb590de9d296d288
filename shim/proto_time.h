// Timestamps as containerd's gogo `stdtime` fields carry them: non-nullable, so an
// unset time must be Go's zero time (0001-01-01, seconds -62135596800), never 1970.
#pragma once

#include <time.h>

#include <google/protobuf/timestamp.pb.h>

namespace berth::shim {

inline constexpr int64_t kGoZeroTimeSeconds = -62135596800;

inline timespec RealtimeNow() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

inline void SetTime(google::protobuf::Timestamp* out, const timespec& ts) {
  out->set_seconds(ts.tv_sec);
  out->set_nanos(static_cast<int32_t>(ts.tv_nsec));
}

inline void SetZeroTime(google::protobuf::Timestamp* out) {
  out->set_seconds(kGoZeroTimeSeconds);
  out->set_nanos(0);
}

}  // namespace berth::shim
