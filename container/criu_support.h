// What checkpoint and restore both gather from the running system before they
// build criu's request (criu_request.h): directories, the container's cgroup
// binds, where its mounts really are, criu's features.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "container/container.h"
#include "container/criu_request.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"

namespace berth::container {

// Opens `path` as a directory, making it (mode 0700, parents too) if missing.
Result<linux::UniqueFd> OpenOrMakeDirectory(const std::string& path, const std::string& what);

// Facts about the container for the request: its config, bundle, cgroup mode
// and binds, and a resolver of mount destinations inside `rootfs`.
Result<CriuContainerFacts> GatherContainerFacts(const oci::Spec& spec, const std::string& bundle,
                                                const std::string& rootfs,
                                                const cgroup::Paths& paths);

// Fails unless criu supports what the options ask for (lazy pages, memory
// tracking for pre-dumps and parents).
Result<void> CheckCriuFeatures(const Runtime& rt, bool lazy_pages, bool mem_track);

// The container path `destination` names inside `rootfs`, symlinks followed and
// clamped to it (as create resolved it), or `destination` when it does not exist.
std::string ResolveInRootfs(const std::string& rootfs, const std::string& destination);

}  // namespace berth::container
