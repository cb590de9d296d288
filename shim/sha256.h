// SHA-256 (FIPS 180-4), for the socket name containerd's shims derive from
// sha256(<containerd address>/<namespace>/<group>). Small and self-contained so the
// shim links no crypto library.
#pragma once

#include <string>
#include <string_view>

namespace berth::shim {

// Lower-case hex digest of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace berth::shim
