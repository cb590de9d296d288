// `checkpoint`: criu dumps a running (or paused) container into an image
// directory. criu is first asked whether it can work here at all, before
// anything is written or frozen; a failed dump leaves the container as it was.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "container/container.h"
#include "container/criu_request.h"
#include "container/criu_support.h"
#include "container/criu_swrk.h"
#include "container/status.h"
#include "container/teardown.h"
#include "linux/files.h"

namespace berth::container {
namespace {

Result<void> CheckParentPath(const CheckpointOptions& o) {
  if (o.parent_path.empty()) return {};
  if (o.parent_path[0] == '/') return Fail("--parent-path must be relative to --image-path");
  std::string parent = o.criu.image_path + "/" + o.parent_path;
  struct stat st;
  if (::stat(parent.c_str(), &st) < 0) return ErrnoError("invalid --parent-path " + parent);
  if (!S_ISDIR(st.st_mode))
    return Fail("invalid --parent-path " + parent + ": not a directory", ENOTDIR);
  return {};
}

// Where criu freezes the container: the v1 freezer, or the v2 directory on a
// v2-only host (a hybrid host's v2 freezer is left alone: criu picks the
// freezer version from the host's mode).
std::string FreezerDir(const cgroup::Paths& paths) {
  auto it = paths.v1.find("freezer");
  if (it != paths.v1.end()) return it->second;
  if (paths.mode == cgroup::Mode::kUnified) return paths.unified;
  return "";
}

std::vector<std::string> MaskedFiles(pid_t pid, const oci::Spec& spec) {
  std::vector<std::string> files;
  if (!spec.linux) return files;
  for (const auto& path : spec.linux->masked_paths) {
    struct stat st;
    std::string in_container = "/proc/" + std::to_string(pid) + "/root" + path;
    if (::stat(in_container.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) files.push_back(path);
  }
  return files;
}

Result<std::map<std::string, uint64_t>> ExternalNamespaceInodes(const oci::Spec& spec) {
  std::map<std::string, uint64_t> inodes;
  for (const char* type : {"network", "pid"}) {
    const oci::Namespace* ns = spec.FindNamespace(type);
    if (!ns || ns->path.empty()) continue;
    struct stat st;
    if (::stat(ns->path.c_str(), &st) < 0)
      return ErrnoError(std::string(type) + " namespace " + ns->path);
    inodes[type] = st.st_ino;
  }
  return inodes;
}

// What the init's fds 0-2 are now ("pipe:[123]", "/dev/pts/0"): restore gives
// pipes among them to criu as inherited fds (runc's descriptors.json).
std::string InitDescriptorsJson(pid_t pid) {
  nlohmann::json list = nlohmann::json::array();
  for (int fd = 0; fd < 3; ++fd) {
    char buf[4096];
    std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    list.push_back(n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string());
  }
  return list.dump();
}

// A dump that failed must not leave the container frozen (criu thaws what it
// froze, unless it died first). A container paused before stays paused.
void RestoreFreezerState(const ContainerRecord& record, bool was_paused, const Runtime& rt) {
  if (was_paused || record.cgroup.empty()) return;
  auto cg = LoadCgroup(record);
  if (!cg) return;
  auto frozen = (*cg)->IsFrozen();
  if (!frozen || !*frozen) return;
  auto thawed = (*cg)->Thaw();
  if (!thawed)
    rt.Log(LogLevel::kError, "thaw after the failed checkpoint: " + thawed.error().message);
}

struct Images {
  linux::UniqueFd images, work;
  std::string log_dir;  // where criu's log goes
};

Result<Images> OpenImageDirectories(const CheckpointOptions& o) {
  Images d;
  d.images = BERTH_TRY(OpenOrMakeDirectory(o.criu.image_path, "--image-path"));
  d.log_dir = o.criu.image_path;
  if (!o.criu.work_path.empty()) {
    d.work = BERTH_TRY(OpenOrMakeDirectory(o.criu.work_path, "--work-path"));
    d.log_dir = o.criu.work_path;
  }
  return d;
}

Result<void> Dump(const Runtime& rt, const CheckpointOptions& o, const StateDir& dir,
                  const ContainerRecord& record) {
  oci::Spec spec = BERTH_TRY_CTX(oci::LoadSpec(dir.path()), "the container's config.json");
  cgroup::Paths paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
  Images images = BERTH_TRY(OpenImageDirectories(o));

  DumpInputs in;
  in.container = BERTH_TRY(GatherContainerFacts(spec, record.bundle, record.rootfs, paths));
  in.rootfs = record.rootfs;
  in.pid = record.pid;
  in.images_dir_fd = images.images.get();
  in.work_dir_fd = images.work.get();
  in.freezer_dir = FreezerDir(paths);
  in.external_ns_inodes = BERTH_TRY(ExternalNamespaceInodes(spec));
  in.masked_files = MaskedFiles(record.pid, spec);
  criu::criu_req request = BERTH_TRY(BuildDumpRequest(in, o));
  if (!o.pre_dump)
    BERTH_TRY(linux::WriteFileAtomic(o.criu.image_path + "/" + std::string(kDescriptorsFile),
                                     InitDescriptorsJson(record.pid), 0600));

  CriuSpawn spawn;
  spawn.criu_path = rt.criu_path;
  CriuSession session = BERTH_TRY(CriuSession::Start(spawn));
  int status_fd = o.status_fd;
  auto on_notify = [&](const std::string& script, pid_t, linux::UniqueFd) -> Result<void> {
    // criu >= 3.15 says "status-ready" when its lazy-pages server listens.
    if (script == "status-ready" && status_fd >= 0) {
      (void)!::write(status_fd, "", 1);
      status_fd = -1;
    }
    return {};
  };
  criu::criu_resp resp = BERTH_TRY(session.Call(request, on_notify));
  int exit_code = BERTH_TRY(session.Finish());
  if (!resp.success())
    return Fail(CriuFailure(resp, images.work ? images.work.get() : images.images.get(),
                            images.log_dir, kCriuDumpLog));
  // A pre-dump's criu waits for a next request that never comes: its status says nothing.
  if (!o.pre_dump && exit_code > 0)
    return Fail("criu exited with status " + std::to_string(exit_code) +
                " after the dump (log: " + images.log_dir + "/" + std::string(kCriuDumpLog) + ")");
  return {};
}

}  // namespace

Result<void> Checkpoint(const Runtime& rt, const CheckpointOptions& o) {
  std::string what = "checkpoint container \"" + o.id + "\"";
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, o.id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status != oci::Status::kRunning && status != oci::Status::kPaused)
    return Fail("cannot checkpoint container \"" + o.id + "\": it is " +
                std::string(oci::StatusName(status)) + ", not running or paused");
  if (o.criu.image_path.empty()) return Fail(what + ": --image-path is required");
  BERTH_TRY_CTX(EmptyNamespaceMask(o.criu.empty_ns), what);
  BERTH_TRY_CTX(CheckParentPath(o), what);
  // Before anything is written or frozen: can criu work here at all?
  BERTH_TRY_CTX(CheckCriuWorks(rt), what);
  BERTH_TRY_CTX(CheckCriuFeatures(rt, o.criu.lazy_pages, o.pre_dump), what);

  bool was_paused = status == oci::Status::kPaused;
  auto dumped = Dump(rt, o, dir, record);
  if (!dumped) {
    RestoreFreezerState(record, was_paused, rt);
    return Fail(std::move(dumped.error()).Context(what));
  }
  if (o.leave_running || o.pre_dump) {
    RestoreFreezerState(record, was_paused, rt);
    return {};
  }
  // criu killed the processes; the rest of the container goes as with delete.
  return WithContext(DestroyContainer(rt, dir, record, CurrentStatus(dir.fd(), record)),
                     what + ": remove the checkpointed container");
}

}  // namespace berth::container
