#include "container/bundle.h"

#include <sys/stat.h>

#include <cstdlib>

#include "cgroup/devices.h"
#include "linux/files.h"

namespace berth::container {

Result<std::string> RealDirectory(const std::string& path, const std::string& what) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return ErrnoError(what + " " + path);
  std::string out(real);
  std::free(real);
  struct stat st;
  if (::stat(out.c_str(), &st) < 0) return ErrnoError(what + " " + out);
  if (!S_ISDIR(st.st_mode)) return Fail(what + " " + out + " is not a directory", ENOTDIR);
  return out;
}

oci::Resources CgroupResources(const oci::Spec& spec) {
  oci::Resources r;
  if (spec.linux && spec.linux->resources) r = *spec.linux->resources;
  for (auto& rule : cgroup::DefaultDeviceRules()) r.devices.push_back(std::move(rule));
  return r;
}

Result<Bundle> ReadBundle(const std::string& path, const std::string& state_dir) {
  Bundle b;
  b.dir = BERTH_TRY(RealDirectory(path, "bundle"));
  b.config_text = BERTH_TRY(linux::ReadFile(b.dir + "/config.json"));
  b.spec = BERTH_TRY(oci::ParseSpec(b.config_text));
  const std::string& root = b.spec.root.path;
  b.rootfs = BERTH_TRY(RealDirectory(root[0] == '/' ? root : b.dir + "/" + root, "root.path"));
  BERTH_TRY(linux::WriteFileAtomic(state_dir + "/config.json", b.config_text, 0600));
  return b;
}

Result<std::unique_ptr<cgroup::Manager>> MakeCgroups(const Runtime& rt, const std::string& id,
                                                     const oci::Spec& spec) {
  cgroup::Request request;
  request.container_id = id;
  request.cgroups_path = spec.linux ? spec.linux->cgroups_path : "";
  request.systemd = rt.systemd_cgroup;
  request.root = rt.cgroup_root;
  oci::Resources resources = CgroupResources(spec);
  request.resources = &resources;
  return cgroup::Manager::Create(request);
}

}  // namespace berth::container
