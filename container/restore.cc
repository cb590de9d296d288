// `restore`: a new container from a bundle and a checkpoint. criu recreates
// the processes in the container's new cgroups; its notifications tell us when
// to run the prestart hooks and which pid is the init. criu is asked first
// whether it can work here at all; a failure at any later step undoes every
// earlier one (state directory, cgroups, mounts, restored processes).
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "container/bundle.h"
#include "container/container.h"
#include "container/criu_request.h"
#include "container/criu_support.h"
#include "container/criu_swrk.h"
#include "container/hooks.h"
#include "container/fault.h"
#include "container/rollback.h"
#include "container/state_store.h"
#include "container/status.h"
#include "linux/files.h"
#include "linux/in_root.h"
#include "linux/process.h"
#include "linux/unix_socket.h"

namespace berth::container {
namespace {

Result<std::vector<std::string>> ReadDescriptors(int images_fd, const std::string& image_path) {
  auto text = linux::ReadFileAt(images_fd, std::string(kDescriptorsFile));
  if (!text)
    return Fail(image_path + " holds no checkpoint (" + std::string(kDescriptorsFile) + ": " +
                    text.error().message + ")",
                text.error().code);
  auto json = nlohmann::json::parse(*text, nullptr, false);
  std::vector<std::string> out;
  if (!json.is_array())
    return Fail(image_path + "/" + std::string(kDescriptorsFile) + ": not a JSON array");
  for (const auto& d : json) out.push_back(d.is_string() ? d.get<std::string>() : "");
  return out;
}

bool BelowAny(const std::string& path, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes)
    if (path.size() > p.size() && path.compare(0, p.size(), p) == 0 && path[p.size()] == '/')
      return true;
  return false;
}

// Unmounts the temporary binds of PrepareMountPoints when it returns.
struct TemporaryBinds {
  int root_fd = -1;
  std::vector<std::string> points;
  ~TemporaryBinds() {
    for (auto it = points.rbegin(); it != points.rend(); ++it) {
      int fd = linux::OpenInRoot(root_fd, it->c_str(), linux::CreateAs::kNothing);
      if (fd < 0) continue;
      char path[32];
      linux::FdPath(fd, path, sizeof path);
      ::umount2(path, MNT_DETACH);
      ::close(fd);
    }
  }
};

// criu mounts what the image says, on mount points that must exist in the
// rootfs (as runc: a fresh rootfs lacks those create made). Bind mounts are
// mounted for the while, so that mount points nested in them can be made.
// Mount points on a tmpfs are criu's to make: it restores the tmpfs itself.
Result<void> PrepareMountPoints(const oci::Spec& spec, const std::string& rootfs,
                                const std::string& bundle) {
  std::vector<std::string> tmpfs;
  for (const auto& m : spec.mounts)
    if (m.type == "tmpfs") tmpfs.push_back(m.destination);
  linux::UniqueFd root = BERTH_TRY(linux::Open(rootfs, O_PATH | O_DIRECTORY));
  TemporaryBinds binds{root.get(), {}};
  for (const auto& m : spec.mounts) {
    if (m.type == "cgroup" || BelowAny(m.destination, tmpfs)) continue;
    bool bind = IsBindMount(m);
    std::string source = m.source;
    if (bind && !source.empty() && source[0] != '/') source = bundle + "/" + source;
    struct stat st;
    bool file = bind && ::stat(source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    int fd = linux::OpenInRoot(root.get(), m.destination.c_str(),
                               file ? linux::CreateAs::kFile : linux::CreateAs::kDirectory);
    if (fd < 0) return ErrnoError("make the mount point " + m.destination + " in " + rootfs, -fd);
    linux::UniqueFd point(fd);
    if (!bind) continue;
    char path[32];
    linux::FdPath(point.get(), path, sizeof path);
    if (::mount(source.c_str(), path, nullptr, MS_BIND | MS_REC, nullptr) < 0)
      return ErrnoError("bind mount " + source + " on " + m.destination + " for its mount points");
    binds.points.push_back(m.destination);
  }
  return {};
}

// criu wants the root it restores into to be a mount point whose parent is not
// overmounted: the rootfs is bind-mounted at <state dir>/criu-root meanwhile.
class CriuRoot {
 public:
  static Result<CriuRoot> Mount(const std::string& rootfs, const std::string& state_dir) {
    std::string path = state_dir + "/criu-root";
    if (::mkdir(path.c_str(), 0755) < 0) return ErrnoError("mkdir " + path);
    if (::mount(rootfs.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      int err = errno;
      ::rmdir(path.c_str());
      return ErrnoError("bind mount " + rootfs + " on " + path, err);
    }
    return CriuRoot(path);
  }
  CriuRoot(CriuRoot&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  ~CriuRoot() { (void)Unmount(); }
  const std::string& path() const { return path_; }
  // False if the mount is still there (the state directory must then stay: its
  // removal would descend into the rootfs).
  bool Unmount() {
    if (path_.empty()) return true;
    ::umount2(path_.c_str(), MNT_DETACH);
    if (::rmdir(path_.c_str()) < 0 && errno != ENOENT) return false;
    path_.clear();
    return true;
  }

 private:
  explicit CriuRoot(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

ContainerRecord NewRecord(const RestoreOptions& o, const oci::Spec& spec, const std::string& bundle,
                          const std::string& rootfs, const cgroup::Manager& cg, const Runtime& rt) {
  ContainerRecord r;
  r.id = o.id;
  r.bundle = bundle;
  r.rootfs = rootfs;
  r.created = NowRfc3339();
  r.owner = ::geteuid() == 0 ? "" : std::to_string(::geteuid());
  r.annotations = spec.annotations;
  r.cgroup = cgroup::PathsToJson(cg.paths());
  r.systemd_cgroup = rt.systemd_cgroup;
  r.started = true;  // restored processes run: there is no exec.fifo to wait on
  if (spec.linux)
    for (const auto& ns : spec.linux->namespaces) {
      if (ns.path.empty())
        r.new_namespaces.push_back(ns.type);
      else
        r.joined_namespaces[ns.type] = ns.path;
    }
  // criu >= 3.14 restores into a new time namespace where the kernel has them
  // (so that monotonic clocks go on from the checkpoint), as runc records.
  if (!spec.HasNamespace("time") && linux::PathExists("/proc/self/ns/time"))
    r.new_namespaces.push_back("time");
  return r;
}

// Joined network and pid namespaces go to criu as fds 4, 5, ...
struct NamespaceFds {
  std::vector<linux::UniqueFd> fds;
  std::map<std::string, int> numbers;  // type -> fd number in criu
};

Result<NamespaceFds> OpenExternalNamespaces(const oci::Spec& spec) {
  NamespaceFds out;
  for (const char* type : {"network", "pid"}) {
    const oci::Namespace* ns = spec.FindNamespace(type);
    if (!ns || ns->path.empty()) continue;
    out.numbers[type] = static_cast<int>(4 + out.fds.size());
    out.fds.push_back(
        BERTH_TRY_CTX(linux::Open(ns->path, O_RDONLY), std::string(type) + " namespace"));
  }
  return out;
}

struct RestoreRun {
  const RestoreOptions& o;
  Rollback& rollback;
  StateDir& dir;
  const oci::Spec& spec;
  ContainerRecord& record;
  CreateResult result;
  bool restored = false;

  Result<void> OnNotify(const std::string& script, pid_t pid, linux::UniqueFd fd);
};

Result<void> RestoreRun::OnNotify(const std::string& script, pid_t pid, linux::UniqueFd fd) {
  if (script == "setup-namespaces") {
    // Where create runs them: the namespaces exist, the process does not run yet.
    oci::State s = ToOciState(record, oci::Status::kCreated);
    s.pid = pid;
    std::string json = oci::HookStateJson(s);
    BERTH_FAULT_POINT("restore: run the prestart hooks");
    BERTH_TRY(RunHooks(spec.hooks.prestart, "prestart", json));
    return RunHooks(spec.hooks.create_runtime, "createRuntime", json);
  }
  if (script == "post-restore") {
    // The restored init is our child (rst_sibling); from here a failure kills it.
    linux::UniqueFd pidfd = BERTH_TRY(linux::PidfdOpen(pid));
    rollback.AddKillChild(pid, pidfd.get());
    BERTH_FAULT_POINT("restore: take the restored init");
    record.pid = pid;
    record.start_time = BERTH_TRY(linux::ReadProcStat(pid)).start_time;
    result.pid = pid;
    result.pidfd = std::move(pidfd);
    restored = true;
    return dir.Save(record);
  }
  if (script == "orphan-pts-master") {
    if (!fd) return Fail("criu sent orphan-pts-master without a terminal");
    if (!o.console_socket.empty())
      return WithContext(linux::SendFdToPath(o.console_socket, fd.get(), "/dev/ptmx"),
                         "--console-socket");
    if (o.keep_pty_master) result.pty_master = std::move(fd);
    return {};
  }
  return {};  // network-lock/unlock: berth configures no network
}

Result<CreateResult> RestoreContainer(const Runtime& rt, const RestoreOptions& o) {
  linux::UniqueFd images = BERTH_TRY(
      WithContext(linux::Open(o.criu.image_path, O_RDONLY | O_DIRECTORY), "--image-path"));
  std::vector<std::string> descriptors =
      BERTH_TRY(ReadDescriptors(images.get(), o.criu.image_path));
  linux::UniqueFd work;
  if (!o.criu.work_path.empty())
    work = BERTH_TRY(OpenOrMakeDirectory(o.criu.work_path, "--work-path"));
  const std::string& log_dir = o.criu.work_path.empty() ? o.criu.image_path : o.criu.work_path;

  StateDir dir = BERTH_TRY(StateDir::Create(rt.root, o.id));
  std::unique_ptr<cgroup::Manager> cg;  // before the rollback, which uses it
  Rollback rollback;
  // CriuRoot, declared later, is unmounted before this runs; should its mount
  // still be there, removing the directory would descend into the rootfs.
  rollback.Add([&dir] {
    if (!linux::PathExists(dir.path() + "/criu-root")) (void)dir.Remove();
  });
  BERTH_FAULT_POINT("restore: make the state dir");

  Bundle b = BERTH_TRY(ReadBundle(o.bundle, dir.path()));
  const std::string& bundle = b.dir;
  const std::string& rootfs = b.rootfs;
  oci::Spec& spec = b.spec;
  if (spec.process && spec.process->terminal && o.console_socket.empty() && !o.keep_pty_master)
    return Fail("process.terminal is set: --console-socket is required");
  cg = BERTH_TRY(MakeCgroups(rt, o.id, spec));
  if (!cg) return Fail("restore: a rootless restore needs a cgroup delegated to this user", EPERM);
  rollback.Add([&cg] { (void)cg->Destroy(); });
  BERTH_FAULT_POINT("restore: make the cgroups");

  BERTH_TRY(PrepareMountPoints(spec, rootfs, bundle));
  CriuRoot criu_root = BERTH_TRY(CriuRoot::Mount(rootfs, dir.path()));
  NamespaceFds ns = BERTH_TRY(OpenExternalNamespaces(spec));
  BERTH_FAULT_POINT("restore: mount the root for criu");

  CriuSpawn spawn;
  spawn.criu_path = rt.criu_path;
  // criu's stdio become the restored process's in place of its old pipes.
  for (int i = 0; i < 3; ++i) spawn.stdio[i] = o.stdio[i] >= 0 ? o.stdio[i] : i;
  for (const auto& fd : ns.fds) spawn.extra_fds.push_back(fd.get());
  CriuSession session = BERTH_TRY(CriuSession::Start(spawn));
  // criu restores the processes into its own cgroups: the container's.
  BERTH_TRY_CTX(cg->AddProcess(session.pid()), "move criu into the container's cgroup");
  BERTH_FAULT_POINT("restore: start criu");
  std::string proc_cgroup =
      BERTH_TRY(linux::ReadFile("/proc/" + std::to_string(session.pid()) + "/cgroup"));

  RestoreInputs in;
  in.container = BERTH_TRY(GatherContainerFacts(spec, bundle, rootfs, cg->paths()));
  in.root = criu_root.path();
  in.images_dir_fd = images.get();
  in.work_dir_fd = work.get();
  in.external_ns_fds = ns.numbers;
  in.descriptors = descriptors;
  in.cgroup_roots = ParseCgroupRoots(proc_cgroup);
  criu::criu_req request = BERTH_TRY(BuildRestoreRequest(in, o));

  ContainerRecord record = NewRecord(o, spec, bundle, rootfs, *cg, rt);
  RestoreRun run{o, rollback, dir, spec, record, {}, false};
  criu::criu_resp resp = BERTH_TRY(
      session.Call(request, [&run](const std::string& script, pid_t pid, linux::UniqueFd fd) {
        return run.OnNotify(script, pid, std::move(fd));
      }));
  int exit_code = BERTH_TRY(session.Finish());
  if (!resp.success())
    return Fail(CriuFailure(resp, work ? work.get() : images.get(), log_dir, kCriuRestoreLog));
  if (exit_code > 0)
    return Fail("criu exited with status " + std::to_string(exit_code) +
                " after the restore (log: " + log_dir + "/" + std::string(kCriuRestoreLog) + ")");
  if (!run.restored)
    return Fail("criu restored without naming the restored process (post-restore)");
  if (!linux::ProcessIsAlive(record.pid, record.start_time))
    return Fail("the restored process exited at once (log: " + log_dir + "/" +
                std::string(kCriuRestoreLog) + ")");
  BERTH_FAULT_POINT("restore: criu's answer");
  if (!criu_root.Unmount()) return Fail("unmount " + criu_root.path() + ": still mounted");
  if (!o.pid_file.empty())
    BERTH_TRY_CTX(linux::WriteFileAtomic(o.pid_file, std::to_string(record.pid), 0644),
                  "--pid-file");
  BERTH_FAULT_POINT("restore: write the pid file");
  rollback.Disarm();
  return std::move(run.result);
}

}  // namespace

Result<CreateResult> Restore(const Runtime& rt, const RestoreOptions& o) {
  std::string what = "restore container \"" + o.id + "\"";
  BERTH_TRY_CTX(ValidateContainerId(o.id), what);
  if (o.criu.image_path.empty()) return Fail(what + ": --image-path is required");
  BERTH_TRY_CTX(EmptyNamespaceMask(o.criu.empty_ns), what);
  if (linux::PathExists(rt.root + "/" + o.id + "/state.json"))
    return Fail("container \"" + o.id + "\" already exists", EEXIST);
  // Before anything is made: can criu work here at all?
  BERTH_TRY_CTX(CheckCriuWorks(rt), what);
  BERTH_TRY_CTX(CheckCriuFeatures(rt, o.criu.lazy_pages, false), what);
  return WithContext(RestoreContainer(rt, o), what);
}

}  // namespace berth::container
