// The container lifecycle, as a library: the `berth` CLI and the containerd shim
// are thin front ends over these calls. One file per operation (create.cc,
// start.cc, kill.cc, delete.cc, ...). Safe to call from a multi-threaded
// process: nothing here keeps global state, and the forked child only runs
// async-signal-safe code (see init_plan.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace berth::container {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

struct Runtime {
  std::string root = "/run/berth";  // state directories live in <root>/<id>
  bool systemd_cgroup = false;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string criu_path = "criu";  // checkpoint/restore: found in PATH unless absolute
  // Warnings (a failing poststart hook, an ignored capability) go here.
  std::function<void(LogLevel, const std::string&)> log;

  void Log(LogLevel level, const std::string& message) const {
    if (log) log(level, message);
  }
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;  // process.terminal: the pty master goes there
  std::string pidfd_socket;    // a pidfd of the init goes there (runc 1.4's --pidfd-socket)
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  // Socket activation: fds 3.. (before the preserved ones) are the caller's listening
  // sockets; the process gets LISTEN_FDS and LISTEN_PID=1. The CLI takes it from its
  // own $LISTEN_FDS; the library never reads the environment.
  int listen_fds = 0;
  int stdio[3] = {-1, -1, -1};  // -1: the container inherits ours
  // With process.terminal and no console_socket, hand the pty master back
  // in CreateResult instead (`run` in the foreground, the shim).
  bool keep_pty_master = false;
};

struct CreateResult {
  pid_t pid = 0;
  linux::UniqueFd pidfd;       // the init's pidfd, for waiting without races
  linux::UniqueFd pty_master;  // with keep_pty_master
};

Result<CreateResult> Create(const Runtime& rt, const CreateOptions& options);
Result<void> Start(const Runtime& rt, const std::string& id);

// `exec`: runs `process` inside a created or running container. The process
// joins every namespace and the cgroup of the container's init and gets the
// container's seccomp filter; user, capabilities, rlimits, labels and the rest
// come from `process`. No rootfs setup, no hooks, no wait for `start`.
struct ExecOptions {
  std::string id;
  oci::Process process;  // from ContainerProcess() plus overrides, or a whole process.json
  std::string pid_file;
  std::string console_socket;  // process.terminal: the pty master goes there
  int preserve_fds = 0;
  // Socket activation: fds 3.. (before the preserved ones) are the caller's listening
  // sockets; the process gets LISTEN_FDS and LISTEN_PID=1. The CLI takes it from its
  // own $LISTEN_FDS; the library never reads the environment.
  int listen_fds = 0;
  int stdio[3] = {-1, -1, -1};  // -1: the process inherits ours
  // With process.terminal and no console_socket, hand the pty master back in
  // ExecResult instead (a foreground `exec`, the shim).
  bool keep_pty_master = false;
  // `--cgroup`: v1 controller ("" for every hierarchy) -> an existing cgroup below the
  // container's that the process joins instead.
  std::map<std::string, std::string> sub_cgroups;
  std::string pidfd_socket;  // a pidfd of the process goes there (runc 1.4's --pidfd-socket)
  // runc 1.4's --ignore-paused: a paused container is not refused; the process is
  // frozen with it, and Exec returns once a resume lets it exec. The container's lock
  // is let go first, or the resume could never take it.
  bool ignore_paused = false;
};

struct ExecResult {
  pid_t pid = 0;               // a child of the caller, in the host's pid namespace
  linux::UniqueFd pidfd;
  linux::UniqueFd pty_master;  // with keep_pty_master
};

Result<ExecResult> Exec(const Runtime& rt, const ExecOptions& options);

// The container's process as config.json gave it at create: what `exec` starts
// from before applying its flags (runc semantics).
Result<oci::Process> ContainerProcess(const Runtime& rt, const std::string& id);

// State as `berth state` prints it.
Result<oci::State> State(const Runtime& rt, const std::string& id);
Result<std::vector<oci::State>> List(const Runtime& rt);

// Signals the init (or every process with `all`). Only created, running or
// paused containers can be signalled.
Result<void> Kill(const Runtime& rt, const std::string& id, int signal, bool all);

// The draft spec's `stop`: SIGTERM, wait up to `timeout_seconds`, SIGKILL.
// The container stays, `stopped`, for delete.
Result<void> Stop(const Runtime& rt, const std::string& id, int timeout_seconds);

// Removes a created or stopped container (a running one only with `force`).
Result<void> Delete(const Runtime& rt, const std::string& id, bool force);

// `pause`: freezes every process of a running container; `resume` thaws a paused
// one. Both return once the kernel reports the cgroup frozen / thawed.
Result<void> Pause(const Runtime& rt, const std::string& id);
Result<void> Resume(const Runtime& rt, const std::string& id);

// `update`: changes the resources that are set in `resources` (0 / absent = leave
// as is) of a created, running or paused container. As with runc, device rules are
// not changed. A value the kernel refuses is an error naming the file and value, and
// the files already written get their previous values back.
Result<void> Update(const Runtime& rt, const std::string& id, const oci::Resources& resources);
// The cgroup operations on a container whose cgroup paths the caller keeps (the shim,
// from create), without its state dir; the commands above check the state, then call
// these. The one implementation of each, for berth and the shim.
Result<void> UpdateCgroup(const cgroup::Paths& paths, const oci::Resources& resources);
Result<void> FreezeCgroup(const cgroup::Paths& paths, bool freeze);  // pause / resume
Result<void> KillCgroup(const cgroup::Paths& paths, int signal);     // kill --all
// Where a kill goes, as runc 1.4 sends it: to every process of the cgroup with --all, or
// for a SIGKILL to a container without a pid namespace of its own (killing its init
// would leave the others); and a SIGKILL to a paused container thaws it after, or the
// signal would wait for a resume (v1's freezer).
struct KillTargets {
  bool cgroup = false;
  bool thaw_after = false;
};
KillTargets KillTargetsFor(int signal, bool all, bool own_pid_namespace, bool paused);
Result<std::vector<pid_t>> CgroupProcesses(const cgroup::Paths& paths);  // ps, sorted
Result<cgroup::Stats> CgroupStats(const cgroup::Paths& paths);       // events --stats

// `ps`: the pids of every process in the container's cgroup, as the host sees them.
Result<std::vector<pid_t>> Processes(const Runtime& rt, const std::string& id);
// `ps` table: the header of `ps_output` (the host's ps) and the rows whose PID column
// is one of `pids`, as runc prints them.
Result<std::string> FilterPsTable(const std::string& ps_output, const std::vector<pid_t>& pids);

struct EventsOptions {
  bool stats_once = false;  // one stats event, then return
  int64_t interval_ms = 5000;
  // Readable (a signalfd, an eventfd) = stop and return success. -1: none.
  int stop_fd = -1;
};

// `events`: runc's event stream, one JSON object per call of `emit` (no newline):
// {"type":"stats","id":...,"data":{...}} every interval, {"type":"oom","id":...} on each
// OOM event. Returns when the container's cgroup is gone or `stop_fd` is readable.
Result<void> Events(const Runtime& rt, const std::string& id, const EventsOptions& options,
                    const std::function<void(const std::string&)>& emit);
// Checkpoint and restore through criu (checkpoint.cc, restore.cc; docs/checkpoint.md).
// Both first ask criu whether it can work on this system at all and fail at once,
// touching nothing, when it cannot. The flags are runc's.
enum class CriuCgroupMode { kDefault, kSoft, kFull, kStrict, kIgnore };
// "" (criu's default, soft), "soft", "full", "strict", "ignore".
Result<CriuCgroupMode> ParseCriuCgroupMode(const std::string& name);

struct CriuOptions {
  std::string image_path;  // required
  std::string work_path;   // logs and work files; "" means image_path
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool shell_job = false;
  bool file_locks = false;
  bool auto_dedup = false;
  bool lazy_pages = false;
  CriuCgroupMode manage_cgroups_mode = CriuCgroupMode::kDefault;
  std::vector<std::string> empty_ns;  // namespaces made empty, not restored: "network"
};

struct CheckpointOptions {
  std::string id;
  CriuOptions criu;
  std::string parent_path;  // previous pre-dump, relative to image_path
  bool leave_running = false;
  bool pre_dump = false;     // memory only; the container keeps running
  std::string page_server;   // "ADDRESS:PORT" (lazy migration)
  int status_fd = -1;        // --lazy-pages: criu writes \0 here when its page server is ready
};

// Dumps a running or paused container into options.criu.image_path. Unless
// leave_running or pre_dump, the container is then gone (as runc: criu killed
// its processes; cgroups and state are removed, poststop hooks run). A failure
// leaves it as it was: running or paused, never frozen by us.
Result<void> Checkpoint(const Runtime& rt, const CheckpointOptions& options);

struct RestoreOptions {
  std::string id;
  std::string bundle = ".";
  CriuOptions criu;
  std::string pid_file;
  std::string console_socket;  // process.terminal: the new pty master goes there
  bool keep_pty_master = false;  // ... or back in the result (foreground restore, the shim)
  bool no_pivot = false;  // accepted as runc does; criu builds the root itself
  int stdio[3] = {-1, -1, -1};  // the restored process's pipes; -1: ours
  std::string lsm_profile;        // "apparmor:label" / "selinux:label"
  std::string lsm_mount_context;  // SELinux mount context
};

// Makes container `id` from the bundle's config and the checkpoint: the
// restored init is our child (like a created one) and the container is running.
// A failure leaves nothing: no state, no cgroup, no process.
Result<CreateResult> Restore(const Runtime& rt, const RestoreOptions& options);

}  // namespace berth::container
