// The scheduling parts of a process: process.scheduler and linux.memoryPolicy (made
// by init before exec), process.execCPUAffinity (set by the runtime). Validated as
// runc 1.4 does (libcontainer/configs/validate, configs.ToSchedAttr, specconv).
#pragma once

#include "base/result.h"
#include "container/init_plan.h"
#include "linux/sched.h"
#include "oci/spec.h"

namespace berth::container {

Result<void> PlanScheduling(const oci::Process& p, const oci::Spec& spec, InitPlan& plan);

// An exec'd process's CPUs: `initial` while the runtime clones it (the clone inherits
// the runtime thread's), `final` once it is in the container's cgroup. Empty: unset.
struct ExecAffinity {
  linux::IdMask initial, final;
};
Result<ExecAffinity> PlanExecAffinity(const oci::Process& p);

// After the process joined its cgroup: `final`, or, with no execCPUAffinity at all,
// every CPU, so that it does not keep the runtime's own affinity (as runc 1.4).
Result<void> ApplyFinalAffinity(pid_t pid, const ExecAffinity& affinity);

}  // namespace berth::container
