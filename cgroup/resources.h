// Routes linux.resources to the driver that owns each controller. v1 hosts use the v1
// hierarchies; v2 hosts the unified directory; hybrid hosts use v1 where the controller
// is mounted there and fall back to the unified hierarchy for the others (hugetlb is
// typically left to v2 on such hosts), so nothing needs mounting.
#pragma once

#include <set>
#include <string>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "oci/spec.h"

namespace berth::cgroup {

// The v2 controllers to enable for the container's unified directory. With `all` (a
// v2-only host) every controller the root offers, as runc does, so that stats work for
// all; otherwise those the set resources need and no v1 hierarchy serves. `available`
// is the unified hierarchy root's cgroup.controllers.
std::set<std::string> V2ControllersFor(const Paths& paths, const oci::Resources* r,
                                       const std::set<std::string>& available, bool all);

// Applies the resources that are set in `r`. A resource whose controller the host has
// nowhere is an error naming it ("linux.resources.network: the net_cls controller is not
// mounted").
Result<void> ApplyResources(const Paths& paths, const oci::Resources& r);

// `update`: ApplyResources, and when a write fails, the one-value files already written
// (limits, shares, cpusets, ...) get their previous content back, so a rejected value
// does not leave the container half-changed. Device rules, throttles and rdma lists are
// not put back.
Result<void> UpdateResources(const Paths& paths, const oci::Resources& r);

// An update that gives only a CFS quota or only a period keeps the other at its current
// value, as runc's update does: fills the unset one of `cpu` from the container's cgroup
// (v1 cpu.cfs_quota_us / cpu.cfs_period_us, v2 cpu.max). v2's cpu.max and systemd's
// CPUQuotaPerSecUSec need both; on v1 rewriting the current value changes nothing.
void KeepCurrentCpuBandwidth(const Paths& paths, oci::Cpu& cpu);

// Checks what can be checked without touching the kernel (device rules, unified keys on
// a v1 host, the v2 swap conversion).
Result<void> ValidateResources(Mode mode, const oci::Resources& r);

}  // namespace berth::cgroup
