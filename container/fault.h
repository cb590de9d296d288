// Fault points: each names one step of an operation (create, exec, restore, the shim's
// Create) after which a failure must leave nothing behind. In the release binaries
// FaultPoint is the empty weak definition in fault.cc and every step just runs: nothing
// there can make a step fail. Only the test builds (berth-fault, the fault shim; see
// tests/fault/) link tests/fault/injector.cc, whose FaultPoint makes the Nth point
// reached fail, so that a test can walk every step and check the rollback of each.
// Never between clone and exec: only in the runtime's own process.
#pragma once

#include "base/result.h"

namespace berth::container {

Result<void> FaultPoint(const char* step);

}  // namespace berth::container

#define BERTH_FAULT_POINT(step) BERTH_TRY(::berth::container::FaultPoint(step))
