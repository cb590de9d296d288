#include "container/criu_support.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/mounts.h"
#include "container/criu_swrk.h"
#include "linux/files.h"

namespace berth::container {

Result<linux::UniqueFd> OpenOrMakeDirectory(const std::string& path, const std::string& what) {
  if (path.empty()) return Fail(what + " is required");
  BERTH_TRY_CTX(linux::MakeDirs(path, 0700), what);
  return WithContext(linux::Open(path, O_RDONLY | O_DIRECTORY), what);
}

std::string ResolveInRootfs(const std::string& rootfs, const std::string& destination) {
  auto root = linux::Open(rootfs, O_PATH | O_DIRECTORY);
  if (!root) return destination;
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, root->get(), destination.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) return destination;
  linux::UniqueFd target(static_cast<int>(fd));
  char buf[4096];
  std::string link = "/proc/self/fd/" + std::to_string(target.get());
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return destination;
  std::string host(buf, static_cast<size_t>(n));
  // Only a path below the rootfs means anything inside the container.
  if (host == rootfs) return "/";
  if (host.size() <= rootfs.size() || host.compare(0, rootfs.size(), rootfs) != 0 ||
      host[rootfs.size()] != '/')
    return destination;
  return host.substr(rootfs.size());
}

Result<CriuContainerFacts> GatherContainerFacts(const oci::Spec& spec, const std::string& bundle,
                                                const std::string& rootfs,
                                                const cgroup::Paths& paths) {
  CriuContainerFacts facts;
  facts.spec = &spec;
  facts.bundle = bundle;
  facts.cgroup_mode = paths.mode;
  facts.cgroup_unified_dir = paths.unified;
  if (paths.mode != cgroup::Mode::kUnified) {
    for (const auto& m : BERTH_TRY(cgroup::ContainerMounts(paths)))
      facts.cgroup_binds.push_back({m.name, m.host_dir});
  }
  facts.resolve_destination = [rootfs](const std::string& dest) {
    return ResolveInRootfs(rootfs, dest);
  };
  return facts;
}

Result<void> CheckCriuFeatures(const Runtime& rt, bool lazy_pages, bool mem_track) {
  if (!lazy_pages && !mem_track) return {};
  CriuSpawn spawn;
  spawn.criu_path = rt.criu_path;
  CriuSession session = BERTH_TRY(CriuSession::Start(spawn));
  criu::criu_resp resp = BERTH_TRY_CTX(
      session.Call(BuildFeatureCheckRequest(lazy_pages, mem_track)), "criu feature check");
  (void)session.Finish();
  if (!resp.success()) return Fail(CriuFailure(resp, -1, "", ""));
  std::vector<std::string> missing;
  if (lazy_pages && !resp.features().lazy_pages()) missing.push_back("lazy pages (--lazy-pages)");
  if (mem_track && !resp.features().mem_track())
    missing.push_back("memory tracking (--pre-dump, --parent-path)");
  if (missing.empty()) return {};
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  return Fail("criu does not support " + list + " on this system", EOPNOTSUPP);
}

}  // namespace berth::container
