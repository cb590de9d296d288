#include "container/idmap.h"

#include <fcntl.h>

#include <map>
#include <utility>

#include "linux/mount_api.h"

namespace berth::container {
namespace {

Result<linux::UniqueFd> MakeDetachedMount(const MountStep& step, int userns_fd) {
  linux::UniqueFd tree = BERTH_TRY(linux::CloneMountTree(step.source, step.clone_recursive));
  if (userns_fd >= 0)
    BERTH_TRY(linux::SetMountAttributes(tree.get(), step.idmap_recursive, 0, 0, userns_fd));
  if (step.top_attr_set || step.top_attr_clr)
    BERTH_TRY(linux::SetMountAttributes(tree.get(), false, step.top_attr_set, step.top_attr_clr));
  if (step.attr_set || step.attr_clr)  // rro, rnosuid...: the whole tree
    BERTH_TRY(linux::SetMountAttributes(tree.get(), true, step.attr_set, step.attr_clr));
  return tree;
}

}  // namespace

Result<std::vector<linux::UniqueFd>> MakeIdMappedMounts(InitPlan& plan, int min_fd) {
  std::vector<linux::UniqueFd> owned;
  // One user namespace per distinct mapping; the helpers are gone once they are open.
  std::map<std::pair<std::string, std::string>, linux::UniqueFd> namespaces;
  for (auto& step : plan.mounts) {
    if (step.kind != MountStep::Kind::kAttach) continue;
    int userns_fd = -1;  // none: a plain bind the runtime opens for a user-namespaced init
    if (!step.uid_map.empty()) {
      auto key = std::make_pair(step.uid_map, step.gid_map);
      auto it = namespaces.find(key);
      if (it == namespaces.end()) {
        linux::UniqueFd userns =
            BERTH_TRY_CTX(linux::MakeUserNamespace(step.uid_map, step.gid_map), step.description);
        it = namespaces.emplace(std::move(key), std::move(userns)).first;
      }
      userns_fd = it->second.get();
    }
    linux::UniqueFd tree = BERTH_TRY_CTX(MakeDetachedMount(step, userns_fd), step.description);
    int fd = ::fcntl(tree.get(), F_DUPFD_CLOEXEC, min_fd);
    if (fd < 0) return ErrnoError(step.description + ": dup the detached mount");
    step.detached_fd = fd;
    owned.emplace_back(fd);
  }
  return owned;
}

}  // namespace berth::container
