// What this build of berth supports, as the runtime-spec's features.md describes it:
// `berth features` prints it, and the shim's `-info` hands it to containerd.
#pragma once

#include <nlohmann/json.hpp>

namespace berth::container {

nlohmann::ordered_json Features();

}  // namespace berth::container
