// Mounts, devices, /dev links, masked and readonly paths and sysctls of the InitPlan.
#pragma once

#include "base/result.h"
#include "container/init_plan_build.h"

namespace berth::container {

Result<void> PlanMounts(const PlanInputs& in, InitPlan& plan, PlanWarnings* warnings);
Result<void> PlanSysctls(const oci::Spec& spec, InitPlan& plan);
// The text of /proc/<pid>/uid_map or gid_map: an "inside outside count" line a mapping.
std::string MapText(const std::vector<oci::IdMapping>& maps);

}  // namespace berth::container
