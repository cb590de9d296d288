// Id-mapped bind mounts (runtime-spec 1.2, runc 1.2): made by the runtime before
// the init is cloned, as detached mounts the init inherits and attaches in order.
#pragma once

#include <vector>

#include "base/result.h"
#include "container/init_plan.h"
#include "linux/unique_fd.h"

namespace berth::container {

// For each kAttach step of `plan`: a user namespace with its maps, the source's tree
// cloned and id-mapped with it, its attributes set, and its fd (at `min_fd` or above,
// clear of the fds the process is given) stored in the step. The returned fds own the
// detached mounts: closing them (after the launch, or on failure) frees whatever init
// did not attach.
Result<std::vector<linux::UniqueFd>> MakeIdMappedMounts(InitPlan& plan, int min_fd);

}  // namespace berth::container
