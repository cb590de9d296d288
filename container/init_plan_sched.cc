#include "container/init_plan_sched.h"

#include <linux/mempolicy.h>
#include <linux/sched.h>

#include <string_view>

#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif

namespace berth::container {
namespace {

struct Name {
  std::string_view name;
  int value;
};

template <size_t N>
const Name* Find(const Name (&names)[N], std::string_view name) {
  for (const auto& n : names)
    if (n.name == name) return &n;
  return nullptr;
}

constexpr Name kPolicies[] = {
    {"SCHED_OTHER", SCHED_NORMAL}, {"SCHED_FIFO", SCHED_FIFO},   {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},  {"SCHED_ISO", 4},             {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", SCHED_DEADLINE}};

constexpr Name kSchedFlags[] = {{"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK},
                                {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
                                {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN},
                                {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
                                {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS},
                                {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
                                {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX}};

constexpr Name kMpolModes[] = {{"MPOL_DEFAULT", MPOL_DEFAULT},
                               {"MPOL_PREFERRED", MPOL_PREFERRED},
                               {"MPOL_BIND", MPOL_BIND},
                               {"MPOL_INTERLEAVE", MPOL_INTERLEAVE},
                               {"MPOL_LOCAL", MPOL_LOCAL},
                               {"MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY},
                               {"MPOL_WEIGHTED_INTERLEAVE", MPOL_WEIGHTED_INTERLEAVE}};

constexpr Name kMpolFlags[] = {{"MPOL_F_NUMA_BALANCING", MPOL_F_NUMA_BALANCING},
                               {"MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE_NODES},
                               {"MPOL_F_STATIC_NODES", MPOL_F_STATIC_NODES}};

Result<void> PlanScheduler(const oci::Scheduler& s, InitPlan& plan) {
  const std::string where = "process.scheduler";
  if (s.policy.empty()) return Fail(where + ".policy: required");
  const Name* policy = Find(kPolicies, s.policy);
  if (!policy) return Fail(where + ".policy: invalid scheduler policy \"" + s.policy + "\"");
  bool fair = policy->value == SCHED_NORMAL || policy->value == SCHED_BATCH;
  bool realtime = policy->value == SCHED_FIFO || policy->value == SCHED_RR;
  if (fair && (s.nice < -20 || s.nice > 19))
    return Fail(where + ".nice: " + std::to_string(s.nice) + " is invalid with " + s.policy +
                " (must be between -20 and 19)");
  if (s.priority != 0 && !realtime)
    return Fail(where + ".priority: can only be set with SCHED_FIFO or SCHED_RR");
  if (policy->value != SCHED_DEADLINE && (s.runtime || s.deadline || s.period))
    return Fail(where + ": runtime, deadline and period can only be set with SCHED_DEADLINE");
  linux::SchedAttr attr;
  attr.policy = static_cast<uint32_t>(policy->value);
  for (size_t i = 0; i < s.flags.size(); ++i) {
    const Name* flag = Find(kSchedFlags, s.flags[i]);
    if (!flag)
      return Fail(where + ".flags[" + std::to_string(i) + "]: invalid scheduler flag \"" +
                  s.flags[i] + "\"");
    attr.flags |= static_cast<uint64_t>(flag->value);
  }
  attr.nice = s.nice;
  attr.priority = static_cast<uint32_t>(s.priority);
  attr.runtime = s.runtime;
  attr.deadline = s.deadline;
  attr.period = s.period;
  plan.has_scheduler = true;
  plan.sched_attr = attr;
  return {};
}

Result<void> PlanMemoryPolicy(const oci::MemoryPolicy& m, InitPlan& plan) {
  const std::string where = "linux.memoryPolicy";
  const Name* mode = Find(kMpolModes, m.mode);
  if (!mode) return Fail(where + ".mode: invalid memory policy mode \"" + m.mode + "\"");
  linux::IdMask nodes =
      BERTH_TRY_CTX(linux::ParseIdList(m.nodes), where + ".nodes: invalid memory policy nodes");
  int flags = 0;
  for (size_t i = 0; i < m.flags.size(); ++i) {
    const Name* flag = Find(kMpolFlags, m.flags[i]);
    if (!flag)
      return Fail(where + ".flags[" + std::to_string(i) + "]: invalid memory policy flag \"" +
                  m.flags[i] + "\"");
    flags |= flag->value;
  }
  switch (mode->value) {
    case MPOL_DEFAULT:
    case MPOL_LOCAL:
      if (!nodes.empty()) return Fail(where + ".nodes: " + m.mode + " takes no nodes");
      break;
    case MPOL_PREFERRED:  // zero or more nodes
      break;
    default:
      if (nodes.empty()) return Fail(where + ".nodes: " + m.mode + " needs at least one node");
  }
  plan.has_memory_policy = true;
  plan.memory_policy_mode = mode->value | flags;
  plan.memory_policy_nodes = std::move(nodes);
  return {};
}

}  // namespace

Result<void> PlanScheduling(const oci::Process& p, const oci::Spec& spec, InitPlan& plan) {
  if (p.scheduler) BERTH_TRY(PlanScheduler(*p.scheduler, plan));
  if (spec.linux && spec.linux->memory_policy)
    BERTH_TRY(PlanMemoryPolicy(*spec.linux->memory_policy, plan));
  return {};
}

Result<ExecAffinity> PlanExecAffinity(const oci::Process& p) {
  ExecAffinity out;
  if (!p.exec_cpu_affinity) return out;
  out.initial = BERTH_TRY_CTX(linux::ParseIdList(p.exec_cpu_affinity->initial),
                              "process.execCPUAffinity.initial");
  out.final = BERTH_TRY_CTX(linux::ParseIdList(p.exec_cpu_affinity->final),
                            "process.execCPUAffinity.final");
  return out;
}

Result<void> ApplyFinalAffinity(pid_t pid, const ExecAffinity& affinity) {
  if (!affinity.final.empty())
    return WithContext(linux::SetAffinity(pid, affinity.final), "process.execCPUAffinity.final");
  // runc 1.4 only warns when the reset fails: the process then keeps the runtime's CPUs.
  if (affinity.initial.empty()) (void)linux::ResetAffinity(pid);
  return {};
}

}  // namespace berth::container
