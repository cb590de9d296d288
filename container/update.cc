// `update`: new resource limits for a container's cgroups.
#include "container/container.h"
#include "container/status.h"

namespace berth::container {

namespace {

// runc's update leaves device rules alone, and containerd sends the container's whole
// linux.resources (devices included) on every update: rewriting them here would
// append v1 rules or drop the default allow list from the v2 program.
oci::Resources ForUpdate(const oci::Resources& resources) {
  oci::Resources r = resources;
  r.devices.clear();
  return r;
}

}  // namespace

Result<void> Update(const Runtime& rt, const std::string& id, const oci::Resources& resources) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status == oci::Status::kStopped)
    return Fail("cannot update container \"" + id + "\": it is stopped", ESRCH);
  std::string context = "update container \"" + id + "\"";
  auto cg = BERTH_TRY_CTX(LoadCgroup(record), context);
  if (!resources.devices.empty())
    rt.Log(LogLevel::kDebug, context + ": device rules are not changed by update");
  return WithContext(cg->Update(ForUpdate(resources)), context);
}

Result<void> UpdateCgroup(const cgroup::Paths& paths, const oci::Resources& resources) {
  auto cg = BERTH_TRY(cgroup::Manager::Load(paths));
  return cg->Update(ForUpdate(resources));
}

}  // namespace berth::container
