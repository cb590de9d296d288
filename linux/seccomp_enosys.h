// The -ENOSYS stub of a seccomp program, as runc's patchbpf makes it: a syscall
// numbered above every syscall the profile names (for its architecture) fails with
// ENOSYS instead of the default action. glibc falls back from a syscall newer than
// the profile (clone3, faccessat2, ...) only on ENOSYS; with EPERM it gives up.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::linux {

// Whether a filter with this libseccomp default action gets the stub: not for a
// permissive default (allow, log, trace) nor for one that already answers ENOSYS.
bool WantsEnosysStub(uint32_t default_action);

// The stub for `profile` over libseccomp `architectures` (the native one is added):
// to be put before the libseccomp program, whose first instruction it falls through to.
Result<std::vector<sock_filter>> EnosysStub(const oci::Seccomp& profile,
                                            const std::vector<uint32_t>& architectures);

}  // namespace berth::linux
