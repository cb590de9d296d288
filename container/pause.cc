// `pause` and `resume`: the freezer (v1 freezer.state, v2 cgroup.freeze). Only a
// running container can be paused and only a paused one resumed, as in runc.
#include "container/container.h"
#include "container/status.h"

namespace berth::container {
namespace {

Result<void> SetFrozen(const Runtime& rt, const std::string& id, bool freeze) {
  const char* verb = freeze ? "pause" : "resume";
  oci::Status want = freeze ? oci::Status::kRunning : oci::Status::kPaused;
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status != want)
    return Fail(std::string("cannot ") + verb + " container \"" + id + "\": it is " +
                    std::string(oci::StatusName(status)) + ", not " +
                    std::string(oci::StatusName(want)),
                status == oci::Status::kStopped ? ESRCH : EINVAL);
  std::string context = std::string(verb) + " container \"" + id + "\"";
  auto cg = BERTH_TRY_CTX(LoadCgroup(record), context);
  return WithContext(freeze ? cg->Freeze() : cg->Thaw(), context);
}

}  // namespace

Result<void> FreezeCgroup(const cgroup::Paths& paths, bool freeze) {
  auto cg = BERTH_TRY(cgroup::Manager::Load(paths));
  return freeze ? cg->Freeze() : cg->Thaw();
}

Result<void> Pause(const Runtime& rt, const std::string& id) {
  return SetFrozen(rt, id, true);
}

Result<void> Resume(const Runtime& rt, const std::string& id) {
  return SetFrozen(rt, id, false);
}

}  // namespace berth::container
