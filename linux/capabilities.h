// Capabilities by name, and their application between clone and exec with raw
// capset(2)/prctl(2) calls (async-signal-safe: no libcap allocation there).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::linux {

// "CAP_SYS_ADMIN" -> 21; -1 when unknown.
int CapabilityNumber(std::string_view name);
std::string_view CapabilityName(int number);
// Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
int LastCapability();
// Every capability name berth knows, for `features`.
std::vector<std::string> KnownCapabilityNames();

struct CapabilitySets {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// Names -> bit mask. An unknown name is an error naming `what` (the JSON path);
// a known capability newer than the kernel is dropped and named in `skipped`.
Result<uint64_t> CapabilityMask(const std::vector<std::string>& names, std::string_view what,
                                int last_cap, std::vector<std::string>* skipped = nullptr);

// The following are async-signal-safe; they return 0 or -errno.
// Drops from the bounding set every capability not in `keep` (needs CAP_SETPCAP).
int DropBoundingSet(uint64_t keep, int last_cap) noexcept;
// Sets effective, permitted and inheritable, then raises the ambient set.
int ApplyCapabilitySets(const CapabilitySets& sets, int last_cap) noexcept;
// Makes capabilities survive the setresuid() away from uid 0 that follows.
int KeepCapabilitiesAcrossSetuid(bool keep) noexcept;

}  // namespace berth::linux
