// libFuzzer target: config.json as `create` reads it (oci::ParseSpec), then the plan
// of everything between clone and exec (container::BuildInitPlan, BuildExecPlan),
// and the two other JSON documents a user hands berth: `exec --process` and
// `update --resources`. Planning only stats and reads (bind sources, /proc, LSM
// state); nothing is created, mounted or loaded.
//
// Besides "no crash, no UB": a spec that parses either plans or fails with a message,
// and a plan's argv and envp are the spec's, null-terminated.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "container/init_plan_build.h"
#include "oci/spec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using berth::fuzz::Check;

void CheckPlan(const berth::container::InitPlan& plan, const berth::oci::Process& process) {
  Check(plan.argv.strings == process.args);
  Check(!plan.argv.pointers.empty() && plan.argv.pointers.back() == nullptr);
  Check(!plan.envp.pointers.empty() && plan.envp.pointers.back() == nullptr);
}

void PlanSpec(const berth::oci::Spec& spec) {
  if (!spec.process) return;
  berth::container::PlanInputs in;
  in.spec = &spec;
  in.process = &*spec.process;
  // Absent paths: a bind mount of the rootfs or the bundle fails to stat, as it
  // would for a user's missing directory.
  in.bundle = "/nonexistent-berth-fuzz/bundle";
  in.rootfs = "/nonexistent-berth-fuzz/bundle/" + spec.root.path;
  in.rootfs_mount_point = "/";
  in.container_id = "fuzz";
  berth::container::PlanWarnings warnings;
  if (auto plan = berth::container::BuildInitPlan(in, &warnings))
    CheckPlan(*plan, *spec.process);
  else
    Check(!plan.error().message.empty());
  if (auto plan = berth::container::BuildExecPlan(in, &warnings)) CheckPlan(*plan, *spec.process);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto spec = berth::oci::ParseSpec(input))
    PlanSpec(*spec);
  else
    Check(!spec.error().message.empty());
  (void)berth::oci::ParseProcess(input);
  (void)berth::oci::ParseResources(input);
  return 0;
}
