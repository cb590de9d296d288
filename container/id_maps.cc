// The user namespace's maps, written by berth's parent for a stage-1 child that has
// unshared its user namespace. Root writes them itself. An unprivileged caller may write
// one mapping of its own id; anything more (the kernel answers EPERM) goes through the
// setuid helpers newuidmap/newgidmap (Debian's uidmap), which check the caller's ranges
// in /etc/subuid and /etc/subgid, as runc and crun do it.
#include <unistd.h>

#include "container/init_plan_mounts.h"
#include "container/launch.h"
#include "linux/files.h"
#include "linux/process.h"
#include "linux/spawn.h"

namespace berth::container {
namespace {

// `helper PID inside outside count...`, its stderr's first line in the error.
Result<void> RunMapHelper(const std::string& helper, pid_t pid,
                          const std::vector<oci::IdMapping>& maps) {
  std::vector<std::string> args = {helper, std::to_string(pid)};
  for (const auto& m : maps) {
    args.push_back(std::to_string(m.container_id));
    args.push_back(std::to_string(m.host_id));
    args.push_back(std::to_string(m.size));
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return ErrnoError("pipe for " + helper);
  linux::UniqueFd err_r(p[0]), err_w(p[1]);
  auto child = linux::Spawn({.path = helper,
                             .args = args,
                             .search_path = true,
                             .fds = {{0, -1, O_RDONLY}, {1, -1, O_WRONLY}, {2, err_w.get()}}});
  if (!child) {
    if (child.error().code == ENOENT)
      return Fail(helper + " is needed to map more than the caller's own id (Debian's uidmap)",
                  EPERM);
    return Fail(child.error());
  }
  err_w.reset();
  std::string err;
  char buf[512];
  for (ssize_t n; (n = ::read(err_r.get(), buf, sizeof buf)) != 0;) {
    if (n > 0) err.append(buf, static_cast<size_t>(n));
    else if (errno != EINTR) break;
  }
  int status = BERTH_TRY(linux::WaitForExit(child->pid));
  if (status == 0) return {};
  std::string line = err.substr(0, err.find('\n'));
  return Fail(helper + " exited with " + std::to_string(status) + (line.empty() ? "" : ": " + line),
              EPERM);
}

Result<void> WriteMap(pid_t pid, const char* file, const char* helper,
                      const std::vector<oci::IdMapping>& maps) {
  auto written = linux::WriteExisting("/proc/" + std::to_string(pid) + "/" + file, MapText(maps));
  // EPERM: ids beyond the caller's own; EACCES: the gid map once newuidmap has written
  // the uid map (the process is no longer the caller's to open).
  int code = written ? 0 : written.error().code;
  if (written || (code != EPERM && code != EACCES) || ::geteuid() == 0) return written;
  return RunMapHelper(helper, pid, maps);
}

}  // namespace

Result<void> WriteIdMaps(pid_t pid, const IdMaps& maps) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (::geteuid() != 0) BERTH_TRY(linux::WriteExisting(proc + "/setgroups", "deny"));
  BERTH_TRY_CTX(WriteMap(pid, "uid_map", "newuidmap", maps.uid), "linux.uidMappings");
  BERTH_TRY_CTX(WriteMap(pid, "gid_map", "newgidmap", maps.gid), "linux.gidMappings");
  return {};
}

}  // namespace berth::container
