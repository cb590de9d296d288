// Reading a bundle: shared by create and restore, which both make a container
// from one.
#pragma once

#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::container {

// realpath(`path`), which must be a directory; errors name it as `what`.
Result<std::string> RealDirectory(const std::string& path, const std::string& what);

// The config's device rules first, then runc's default allow list and the
// devices the config creates (as runc and crun do).
oci::Resources CgroupResources(const oci::Spec& spec);

}  // namespace berth::container
