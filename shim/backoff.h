// Delays between tries to deliver an event: 20 ms, doubling up to 2 s, back to the
// start after a success. Both publishers (ttrpc and `containerd publish`) use it.
#pragma once

#include <algorithm>
#include <chrono>

namespace berth::shim {

class Backoff {
 public:
  std::chrono::milliseconds Next() {
    using std::chrono::milliseconds;
    current_ = current_ == milliseconds(0) ? kFirst : std::min<milliseconds>(current_ * 2, kMax);
    return current_;
  }
  void Reset() { current_ = std::chrono::milliseconds(0); }

 private:
  static constexpr std::chrono::milliseconds kFirst{20};
  static constexpr std::chrono::milliseconds kMax{2000};
  std::chrono::milliseconds current_{0};
};

}  // namespace berth::shim
