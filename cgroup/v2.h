// cgroup v2 (unified): one directory, controllers enabled from the parent's
// cgroup.subtree_control. Conversions from the v1-shaped OCI values follow runc's
// libcontainer/cgroups (ConvertCPUSharesToCgroupV2Value and friends).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::cgroup::v2 {

// cpu.weight = 1 + (shares - 2) * 9999 / 262142: [2, 262144] maps onto [1, 10000]
// (runc 1.1). 0 stays 0 ("not set").
uint64_t SharesToWeight(uint64_t shares);
// blkio weight [10, 1000] -> io.weight [1, 10000]: 1 + (w - 10) * 9999 / 990.
uint64_t BlkioWeightToIoWeight(uint64_t weight);
// The spec's swap is memory+swap; memory.swap.max is swap alone. Returns -1 for
// "max", 0 for "leave alone"; an error for a swap below the memory limit.
Result<int64_t> SwapToV2(int64_t memory_plus_swap, int64_t memory);
// "max 100000", "50000 100000": cpu.max from the spec's quota and period.
std::string CpuMax(std::optional<int64_t> quota, std::optional<uint64_t> period);

Result<void> SetCpu(const std::string& dir, const oci::Cpu& cpu);
Result<void> SetCpuset(const std::string& dir, const oci::Cpu& cpu);
Result<void> SetMemory(const std::string& dir, const oci::Memory& memory);
Result<void> SetPids(const std::string& dir, const oci::Pids& pids);
Result<void> SetIo(const std::string& dir, const oci::BlockIo& io);
Result<void> SetRdma(const std::string& dir, const std::map<std::string, oci::Rdma>& rdma);
// linux.resources.unified: each key must be "<controller>.<file>" with the controller
// enabled for `dir` (or "cgroup"); checked before anything is written.
Result<void> SetUnified(const std::string& dir, const std::map<std::string, std::string>& values);

// The controllers listed in <dir>/cgroup.controllers.
Result<std::set<std::string>> Controllers(const std::string& dir);

// Turns `wanted` on in cgroup.subtree_control of `top` and of every directory below it
// down to the parent of `leaf`, so that `leaf` has them. Appends each (directory,
// controller) it actually switched on to `enabled`. With `best_effort`, a controller a
// directory does not offer is skipped (from there down) instead of being an error.
Result<void> EnableControllers(const std::string& top, const std::string& leaf,
                               const std::set<std::string>& wanted, bool best_effort,
                               std::vector<std::pair<std::string, std::string>>& enabled);
// Switches off what EnableControllers switched on, deepest first, unless a cgroup left
// below the directory has a limit of that controller set (a "<controller>[.*].max" file
// that is not "max", empty or effectively infinite): another container may still rely
// on it. Best effort.
void DisableControllers(const std::vector<std::pair<std::string, std::string>>& enabled);

// cgroup.freeze, waiting for "frozen 1" / "frozen 0" in cgroup.events.
Result<void> SetFrozen(const std::string& dir, bool frozen);
Result<bool> IsFrozen(const std::string& dir);

}  // namespace berth::cgroup::v2
