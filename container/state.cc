// `state` and `list`: read-only, without the container's lock.
#include "container/container.h"
#include "container/status.h"

namespace berth::container {

Result<oci::State> State(const Runtime& rt, const std::string& id) {
  linux::UniqueFd dir;
  ContainerRecord record = BERTH_TRY(ReadRecord(rt.root, id, &dir));
  return ToOciState(record, CurrentStatus(dir.get(), record));
}

Result<std::vector<oci::State>> List(const Runtime& rt) {
  std::vector<oci::State> out;
  for (const auto& id : StateDir::ListIds(rt.root)) {
    auto s = State(rt, id);
    if (s) out.push_back(std::move(*s));  // one deleted meanwhile is simply gone
  }
  return out;
}

}  // namespace berth::container
