// Scheduling of a process: sched_setattr(2) attributes, CPU affinity masks and the
// NUMA memory policy (set_mempolicy(2)). The Apply* calls are async-signal-safe:
// the container's init makes them between clone and execve.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::linux {

// The kernel's struct sched_attr with its utilization clamps (SCHED_ATTR_SIZE_VER1).
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtime = 0, deadline = 0, period = 0;
  uint32_t util_min = 0, util_max = 0;
};
static_assert(sizeof(SchedAttr) == 56);

// A set of CPUs or memory nodes, one bit each, as the kernel takes it.
using IdMask = std::vector<unsigned long>;

// The most ids a list may name, as runc's ToCPUSet (a 1024-bit cpu_set_t).
inline constexpr unsigned kMaxListIds = 1024;

// "0-3,7" -> mask, with runc's rules: spaces around elements and empty elements are
// allowed, an id must be below kMaxListIds, a range must not run backwards, and the
// list must name at least one id. "" is an empty mask (unset).
Result<IdMask> ParseIdList(std::string_view list);

// sched_setattr(0, attr, 0): 0 or -errno.
int ApplySchedAttr(const SchedAttr& attr) noexcept;
// set_mempolicy(mode | flags, nodes, kMaxListIds): 0 or -errno.
int ApplyMemoryPolicy(int mode_and_flags, const IdMask& nodes) noexcept;

// sched_setaffinity(2) of `pid` (0: the calling thread).
Result<void> SetAffinity(pid_t pid, const IdMask& cpus);
Result<IdMask> GetAffinity(pid_t pid);
// Every CPU the kernel may ever have, within the cgroup's cpuset: what runc 1.4 gives
// a container process, so it does not inherit the runtime's own affinity.
Result<void> ResetAffinity(pid_t pid);

}  // namespace berth::linux
