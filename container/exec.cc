// `exec`: a new process in a created or running container. Stage 1 joins every
// namespace of the container's init through its pidfd and clones the process
// into the joined pid namespace; the runtime places it in the container's
// cgroup, and it execs directly (no rootfs setup, no hooks, no exec.fifo).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/path.h"
#include "container/container.h"
#include "container/fault.h"
#include "container/init_plan_build.h"
#include "container/init_plan_sched.h"
#include "container/launch.h"
#include "container/status.h"
#include "linux/files.h"
#include "linux/namespaces.h"
#include "linux/process.h"
#include "linux/unix_socket.h"

namespace berth::container {
namespace {

// The namespaces of `pid` that differ from ours: those the process must join.
Result<uint64_t> NamespacesToJoin(pid_t pid) {
  uint64_t flags = 0;
  size_t count;
  const linux::NamespaceKind* kinds = linux::NamespaceKinds(&count);
  for (size_t i = 0; i < count; ++i) {
    std::string name(kinds[i].proc_name);
    struct stat theirs, ours;
    if (::stat(("/proc/" + std::to_string(pid) + "/ns/" + name).c_str(), &theirs) < 0) {
      if (errno == ENOENT) continue;  // a namespace kind this kernel lacks
      return ErrnoError("read the namespaces of the container's init (pid " + std::to_string(pid) +
                        ")");
    }
    if (::stat(("/proc/self/ns/" + name).c_str(), &ours) < 0) continue;
    if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
      flags |= static_cast<uint64_t>(kinds[i].clone_flag);
  }
  return flags;
}

// Moves `fd` to a number at or above `lowest` (above the fds the process gets).
Result<linux::UniqueFd> MoveAbove(linux::UniqueFd fd, int lowest) {
  if (fd.get() >= lowest) return fd;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, lowest);
  if (moved < 0) return ErrnoError("dup fd");
  return linux::UniqueFd(moved);
}

// The init's pidfd, checked against the recorded start time: a recycled pid is
// never joined. Stopped containers are refused with one line, paused ones too
// unless `ignore_paused` (then `*paused` says so).
Result<linux::UniqueFd> OpenRunningInit(int state_dir_fd, const ContainerRecord& record,
                                        bool ignore_paused, bool* paused) {
  std::string id = "cannot exec in container \"" + record.id + "\": ";
  oci::Status status = CurrentStatus(state_dir_fd, record);
  if (status == oci::Status::kStopped) return Fail(id + "it is stopped", ESRCH);
  *paused = status == oci::Status::kPaused;
  if (*paused && !ignore_paused)
    return Fail(id + "it is paused (resume it first, or exec --ignore-paused)", EBUSY);
  auto pidfd = linux::PidfdOpen(record.pid);
  // The pidfd is opened first: if the start time still matches, it is the init's.
  if (!pidfd || !linux::ProcessIsAlive(record.pid, record.start_time))
    return Fail(id + "it is stopped", ESRCH);
  return std::move(*pidfd);
}

Result<void> WriteOomScoreAdj(pid_t pid, int value) {
  return linux::WriteExisting("/proc/" + std::to_string(pid) + "/oom_score_adj",
                              std::to_string(value));
}

// A joined user namespace may forbid setgroups (rootless create wrote "deny").
bool SetgroupsAllowed(pid_t init) {
  auto text = linux::ReadFile("/proc/" + std::to_string(init) + "/setgroups");
  return !text || text->rfind("deny", 0) != 0;
}

Result<void> HandOver(const ExecOptions& o, const oci::Spec& spec, const ContainerRecord& record,
                      LaunchedInit& launched, ExecResult& result) {
  BERTH_FAULT_POINT("exec: launch the process");
  if (launched.pty_master) {
    if (!o.console_socket.empty())
      BERTH_TRY_CTX(linux::SendFdToPath(o.console_socket, launched.pty_master.get(), "/dev/ptmx"),
                    "--console-socket");
    else
      result.pty_master = std::move(launched.pty_master);
  }
  if (!o.pid_file.empty())
    BERTH_TRY_CTX(linux::WriteFileAtomic(o.pid_file, std::to_string(launched.pid), 0644),
                  "--pid-file");
  if (!o.pidfd_socket.empty())
    BERTH_TRY_CTX(linux::SendFdToPath(o.pidfd_socket, launched.pidfd.get(), "setns"),
                  "--pidfd-socket");
  BERTH_FAULT_POINT("exec: write the pid file");
  return {};
}

// The container's cgroups, or with `exec --cgroup` sub-cgroups of them. Those are
// joined through cgroupfs, as runc does: systemd places no process in a sub-cgroup.
Result<std::unique_ptr<cgroup::Manager>> ExecCgroup(const ContainerRecord& record,
                                                    const std::map<std::string, std::string>& sub) {
  if (record.cgroup.empty()) {
    if (sub.empty()) return nullptr;
    return Fail("--cgroup: the container has no cgroup", EINVAL);
  }
  cgroup::Paths paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
  if (!sub.empty()) {
    paths = BERTH_TRY_CTX(cgroup::SubCgroupPaths(paths, sub), "--cgroup");
    paths.systemd_unit.clear();
  }
  return cgroup::Manager::Load(paths);
}

// process.execCPUAffinity.initial: the clone inherits the CPUs of the thread that
// makes it, so this thread runs on them while it launches the process (runc 1.4 does
// the same on a thread of its own).
Result<LaunchedInit> LaunchWithInitialAffinity(InitPlan& plan, const LaunchHooks& hooks,
                                               const ExecAffinity& affinity) {
  if (affinity.initial.empty()) return LaunchInit(plan, IdMaps{}, hooks);
  linux::IdMask saved = BERTH_TRY(linux::GetAffinity(0));
  BERTH_TRY_CTX(linux::SetAffinity(0, affinity.initial), "process.execCPUAffinity.initial");
  auto launched = LaunchInit(plan, IdMaps{}, hooks);
  (void)linux::SetAffinity(0, saved);
  return launched;
}

}  // namespace

Result<oci::Process> ContainerProcess(const Runtime& rt, const std::string& id) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  oci::Spec spec = BERTH_TRY_CTX(oci::LoadSpec(dir.path()), "container \"" + id + "\"");
  if (!spec.process) return Fail("container \"" + id + "\": its config has no process");
  return *spec.process;
}

Result<ExecResult> Exec(const Runtime& rt, const ExecOptions& o) {
  if (o.process.terminal && o.console_socket.empty() && !o.keep_pty_master)
    return Fail("a terminal was asked for (--tty): --console-socket is required");
  // Held until the process has exec'd: delete and kill wait for us.
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, o.id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  bool paused = false;
  linux::UniqueFd init = BERTH_TRY(OpenRunningInit(dir.fd(), record, o.ignore_paused, &paused));
  oci::Spec spec = BERTH_TRY_CTX(oci::LoadSpec(dir.path()), "container \"" + o.id + "\"");
  // Frozen until a resume, which takes the lock: it goes now (the init's pidfd is held).
  if (paused) {
    StateDir released = std::move(dir);
  }

  PlanInputs in;
  in.spec = &spec;
  in.rootfs = record.rootfs;
  in.bundle = record.bundle;
  in.process = &o.process;
  in.preserve_fds = o.preserve_fds;
  in.seccomp_cache_dir = rt.root + "/.seccomp-cache";
  PlanWarnings warnings;
  InitPlan plan = BERTH_TRY_CTX(BuildExecPlan(in, &warnings), "exec");
  ExecAffinity affinity = BERTH_TRY_CTX(PlanExecAffinity(o.process), "exec");
  for (const auto& w : warnings.messages) rt.Log(LogLevel::kWarning, w);
  BERTH_FAULT_POINT("exec: plan the process");
  plan.join_flags = BERTH_TRY(NamespacesToJoin(record.pid));
  plan.exec_chroot = !(plan.join_flags & CLONE_NEWNS);
  if (plan.join_flags & CLONE_NEWUSER) plan.set_groups = SetgroupsAllowed(record.pid);
  init = BERTH_TRY(MoveAbove(std::move(init), 3 + o.preserve_fds));
  plan.join_pidfd = init.get();
  for (int i = 0; i < 3; ++i) plan.stdio[i] = o.stdio[i];

  std::unique_ptr<cgroup::Manager> cg = BERTH_TRY(ExecCgroup(record, o.sub_cgroups));
  cgroup::SelfJoin self_join;
  if (cg) self_join = BERTH_TRY_CTX(cg->PrepareSelfJoin(), "join the container's cgroup");
  BERTH_TRY(PlanSelfJoin(plan, self_join));
  LaunchHooks hooks;
  hooks.place = [&](pid_t pid, cgroup::SelfJoined joined) -> Result<void> {
    rt.Log(LogLevel::kDebug, "exec " + std::to_string(pid) + " joins the container's cgroups: " +
                                 SelfJoinedText(joined));
    if (cg) BERTH_TRY_CTX(cg->CompleteJoin(pid, joined), "join the container's cgroup");
    BERTH_TRY(ApplyFinalAffinity(pid, affinity));
    BERTH_FAULT_POINT("exec: move the process into the cgroups");
    if (o.process.oom_score_adj)
      BERTH_TRY_CTX(WriteOomScoreAdj(pid, *o.process.oom_score_adj), "process.oomScoreAdj");
    return {};
  };
  if (spec.linux && spec.linux->seccomp) {
    hooks.seccomp_listener = [&](pid_t pid, int listener) -> Result<void> {
      return linux::SendSeccompListener(
          spec.linux->seccomp->listener_path, spec.linux->seccomp->listener_metadata, listener,
          oci::HookStateJson(ToOciState(record, oci::Status::kRunning)), pid);
    };
  }
  hooks.debug = [&rt](const std::string& m) { rt.Log(LogLevel::kDebug, m); };
  rt.Log(LogLevel::kDebug, "exec in " + o.id + ": " + o.process.args.front() +
                               " joins the namespaces of init " + std::to_string(record.pid));
  LaunchedInit launched = BERTH_TRY_CTX(LaunchWithInitialAffinity(plan, hooks, affinity),
                                        "exec in container \"" + o.id + "\"");
  ExecResult result;
  result.pid = launched.pid;
  auto handed = HandOver(o, spec, record, launched, result);
  if (!handed) {
    (void)linux::PidfdSendSignal(launched.pidfd.get(), SIGKILL);
    (void)linux::WaitForExit(launched.pid);
    return Fail(std::move(handed.error()));
  }
  result.pidfd = std::move(launched.pidfd);
  return result;
}

}  // namespace berth::container
