// linux.netDevices (runtime-spec 1.3): host interfaces moved into the container's
// network namespace at create, as runc 1.4 does. Never moved back: the kernel returns
// physical devices to the initial namespace when the container's goes away, and
// destroys virtual ones (config-linux.md, "Namespace Lifecycle").
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::container {

// runc 1.4's validate.netdevices: a network namespace of the container's own, a
// privileged runtime, valid names.
Result<void> CheckNetDevices(const oci::Spec& spec);

// Once init exists (its network namespace with it): moves each device there.
Result<void> MoveNetDevices(const oci::Spec& spec, pid_t init);

}  // namespace berth::container
