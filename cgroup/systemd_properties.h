// The systemd driver's pure part: "slice:prefix:name" cgroupsPath parsing, slice
// expansion and the mapping of linux.resources to transient unit properties (as
// runc's libcontainer/cgroups/systemd does). No D-Bus here, so it is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "oci/spec.h"

namespace berth::cgroup::systemd {

struct UnitPath {
  std::string slice;       // "system.slice"
  std::string unit;        // "berth-c1.scope" (or a ".slice" when name is one)
  std::string cgroup_dir;  // "/system.slice/berth-c1.scope": below each hierarchy's root
};

// "slice:prefix:name"; "" means "system.slice:berth:<id>". An empty slice is
// system.slice; a name ending in ".slice" makes the unit that slice.
Result<UnitPath> ParseCgroupsPath(const std::string& cgroups_path, const std::string& id);

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "/".
Result<std::string> ExpandSlice(const std::string& slice);

using DeviceAllowList = std::vector<std::pair<std::string, std::string>>;  // a(ss)
using PropertyValue = std::variant<bool, std::string, uint64_t, std::vector<uint32_t>,
                                   std::vector<uint8_t>, DeviceAllowList>;

struct UnitProperty {
  std::string name;
  PropertyValue value;
  bool operator==(const UnitProperty&) const = default;
};

// The D-Bus signature of a property value: "b", "s", "t", "au", "ay", "a(ss)".
const char* Signature(const PropertyValue& value);

// The properties every container scope gets: Description, Slice, Delegate, PIDs, the
// accounting switches (BlockIOAccounting on a v1 host, IOAccounting on v2) and
// DefaultDependencies=no.
std::vector<UnitProperty> ScopeProperties(const UnitPath& path, const std::string& id, pid_t pid,
                                          Mode mode);

// linux.resources as unit properties. `systemd_version` gates CPUQuotaPeriodUSec (242)
// and AllowedCPUs/AllowedMemoryNodes (244); `proc_devices` is /proc/devices, for the
// "char-<group>" names of "c 136:* rwm" style rules. What has no property is applied
// on cgroupfs after the unit starts.
Result<std::vector<UnitProperty>> ResourceProperties(const oci::Resources& r, Mode mode,
                                                     int systemd_version,
                                                     const std::string& proc_devices);

// "0-2,7" -> systemd's CPU mask bytes (byte i holds CPUs 8i..8i+7, lowest bit first).
Result<std::vector<uint8_t>> CpuMask(const std::string& list);

// CPUQuotaPerSecUSec from a quota and period, rounded up to whole 10 ms as systemd
// keeps it as a percentage; UINT64_MAX ("infinity") for no quota.
uint64_t CpuQuotaPerSecUSec(int64_t quota, uint64_t period);

// "252.39-1~deb12u2" -> 252; 0 when it does not start with a number.
int ParseSystemdVersion(const std::string& version);

}  // namespace berth::cgroup::systemd
