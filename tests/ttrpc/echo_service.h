// The C++ side of the test service (echo.proto), registered as "berth.test.v1.Echo"
// and, through RegisterAlias, "berth.test.v1.EchoAlias" (the Go peer registers both
// names too). It records what it saw for the tests to assert on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "ttrpc/server.h"

namespace berth::ttrpc::testing {

inline constexpr char kEchoService[] = "berth.test.v1.Echo";
inline constexpr char kEchoAlias[] = "berth.test.v1.EchoAlias";

struct EchoObservations {
  struct Cancellation {
    CancelReason reason;
    std::chrono::steady_clock::duration after;  // from the call's arrival
    int64_t timeout_nano;
  };

  std::mutex mu;
  std::condition_variable changed;
  std::vector<uint32_t> stream_ids;
  std::vector<Cancellation> cancellations;

  // Waits until `count` cancellations were recorded (or `timeout` passes).
  bool WaitForCancellations(size_t count, std::chrono::milliseconds timeout);
};

Result<void> RegisterEchoService(Server& server, std::shared_ptr<EchoObservations> observations);

}  // namespace berth::ttrpc::testing
