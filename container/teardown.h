// Ending a container's processes: shared by delete, stop and the shim.
#pragma once

#include "base/result.h"
#include "container/container.h"
#include "container/state_store.h"
#include "oci/state.h"

namespace berth::container {

// SIGKILLs every process of the container (thawing a paused one so the kill
// lands) and waits until the init is gone.
Result<void> KillAndWait(const ContainerRecord& record, oci::Status status);

// Waits up to `timeout_ms` (-1: forever) for the init to exit. True if it did.
Result<bool> WaitForInitExit(const ContainerRecord& record, int timeout_ms);

// The end of a container, with its lock held: kills what is left, removes its
// cgroups, runs its poststop hooks and removes its state directory. Used by
// delete and by checkpoint (without --leave-running).
Result<void> DestroyContainer(const Runtime& rt, StateDir& dir, const ContainerRecord& record,
                              oci::Status status);

}  // namespace berth::container
