#include "container/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

namespace {

// What needs a cgroup of its own: any resource but device rules (which a user namespace
// already confines).
bool LimitsResources(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->resources) return false;
  const oci::Resources& r = *spec.linux->resources;
  return r.memory || r.cpu || r.pids || r.block_io || !r.hugepage_limits.empty() || r.network ||
         !r.rdma.empty() || !r.unified.empty();
}

bool Refused(int code) { return code == EACCES || code == EPERM || code == EROFS; }

}  // namespace

Result<std::unique_ptr<cgroup::Manager>> MakeCgroups(const Runtime& rt, const std::string& id,
                                                     const oci::Spec& spec) {
  cgroup::Request request;
  request.container_id = id;
  request.cgroups_path = spec.linux ? spec.linux->cgroups_path : "";
  request.systemd = rt.systemd_cgroup;
  request.root = rt.cgroup_root;
  oci::Resources resources = CgroupResources(spec);
  request.resources = &resources;
  auto made = cgroup::Manager::Create(request);
  if (made || ::geteuid() == 0 || rt.systemd_cgroup || !Refused(made.error().code)) return made;
  // Rootless, as runc: no cgroup unless one is delegated to this user, and then only
  // when the config asks for no limit.
  if (LimitsResources(spec))
    return Fail(std::move(made.error())
                    .Context("rootless: linux.resources needs a cgroup delegated to uid " +
                             std::to_string(::geteuid())));
  rt.Log(LogLevel::kDebug, "rootless: the container runs without a cgroup (" +
                               made.error().message + ")");
  return nullptr;
}

}  // namespace berth::container
