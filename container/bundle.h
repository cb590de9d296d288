// Reading a bundle: shared by create and restore, which both make a container
// from one.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "container/container.h"
#include "oci/spec.h"

namespace berth::container {

// realpath(`path`), which must be a directory; errors name it as `what`.
Result<std::string> RealDirectory(const std::string& path, const std::string& what);

// The config's device rules first, then runc's default allow list. A node listed in
// linux.devices gets no rule of its own: runc allows only its defaults and the
// config's rules, so a deny-all config keeps /dev/kmsg or a disk node it lists
// unusable (runc's specconv, AllowedDevices).
oci::Resources CgroupResources(const oci::Spec& spec);

// A bundle as create and restore read it.
struct Bundle {
  std::string dir;          // realpath of the bundle
  std::string config_text;  // config.json as read
  oci::Spec spec;
  std::string rootfs;       // realpath of root.path
};
// Reads `path`'s config.json and resolves its root, then keeps a copy of the config
// in `state_dir`: poststop hooks and exec read the config as it was at create.
Result<Bundle> ReadBundle(const std::string& path, const std::string& state_dir);

// The container's cgroups with the config's resources (CgroupResources), made by the
// driver `rt` names. Run by a user other than root where no cgroup is delegated to it,
// none (nullptr), as runc does rootless; an error if the config limits any resource.
Result<std::unique_ptr<cgroup::Manager>> MakeCgroups(const Runtime& rt, const std::string& id,
                                                     const oci::Spec& spec);

}  // namespace berth::container
