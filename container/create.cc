// `create`: everything but running process.args, which waits for `start` on
// exec.fifo. A failure at any step undoes the steps before it (state dir,
// cgroups, the init process), so nothing is left behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "cgroup/devices.h"
#include "cgroup/mounts.h"
#include "container/bundle.h"
#include "container/container.h"
#include "container/hooks.h"
#include "container/idmap.h"
#include "container/init_plan_build.h"
#include "container/init_plan_sched.h"
#include "container/intel_rdt.h"
#include "container/launch.h"
#include "container/fault.h"
#include "container/net_devices.h"
#include "container/rollback.h"
#include "container/state_store.h"
#include "linux/files.h"
#include "linux/mount_options.h"
#include "linux/process.h"
#include "linux/unix_socket.h"

namespace berth::container {
namespace {

// The host uid/gid that container root maps to, who must be able to open exec.fifo.
std::pair<uid_t, gid_t> ContainerRootOnHost(const oci::Spec& spec) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (spec.linux && spec.HasNamespace("user")) {
    for (const auto& m : spec.linux->uid_mappings)
      if (m.container_id == 0) uid = m.host_id;
    for (const auto& m : spec.linux->gid_mappings)
      if (m.container_id == 0) gid = m.host_id;
  }
  return {uid, gid};
}

// The hook state JSON around the pid, which only exists after clone.
// The hooks' state as prefix + <pid> + suffix, for the init, which knows its host pid
// only after the clone: built as JSON, with "pid" as the last member.
void SplitHookState(const oci::State& state, std::string& prefix, std::string& suffix) {
  nlohmann::json j = nlohmann::json::parse(oci::HookStateJson(state));
  j.erase("pid");
  std::string body = j.dump();
  body.pop_back();  // the closing brace
  prefix = body + (j.empty() ? "" : ",") + "\"pid\":";
  suffix = "}";
}

Result<std::vector<PlanInputs::CgroupMount>> CgroupMounts(const cgroup::Paths& paths) {
  std::vector<PlanInputs::CgroupMount> out;
  if (paths.mode == cgroup::Mode::kUnified) return out;
  for (const auto& m : BERTH_TRY(cgroup::ContainerMounts(paths))) out.push_back({m.name, m.host_dir});
  return out;
}

Result<void> WriteOomScoreAdj(pid_t pid, int value) {
  return linux::WriteExisting("/proc/" + std::to_string(pid) + "/oom_score_adj",
                              std::to_string(value));
}

}  // namespace

Result<CreateResult> Create(const Runtime& rt, const CreateOptions& o) {
  StateDir dir = BERTH_TRY(StateDir::Create(rt.root, o.id));
  std::unique_ptr<cgroup::Manager> cg;  // before the rollback, which uses it
  Rollback rollback;
  rollback.Add([&dir] { (void)dir.Remove(); });
  BERTH_FAULT_POINT("create: make the state dir");

  Bundle b = BERTH_TRY(ReadBundle(o.bundle, dir.path()));
  const std::string& bundle = b.dir;
  const std::string& rootfs = b.rootfs;
  oci::Spec& spec = b.spec;
  if (!spec.process) return Fail("config.json: process is required to create a container");
  if (spec.process->terminal && o.console_socket.empty() && !o.keep_pty_master)
    return Fail("process.terminal is set: --console-socket is required");
  // Not for the init (the spec says so), but checked at create as runc 1.4 does.
  BERTH_TRY(PlanExecAffinity(*spec.process));
  BERTH_TRY(CheckNetDevices(spec));
  BERTH_TRY(CheckIntelRdt(spec));
  cg = BERTH_TRY(MakeCgroups(rt, o.id, spec));  // none: rootless, nothing delegated
  rollback.Add([&cg] {
    if (cg) (void)cg->Destroy();
  });
  BERTH_FAULT_POINT("create: make the cgroups");

  PlanInputs in;
  in.spec = &spec;
  in.bundle = bundle;
  in.rootfs = rootfs;
  // Only a shared root needs the rootfs' mount (made private for pivot_root), and
  // only --no-pivot the host's proc and sysfs mounts: no mountinfo read on every create.
  if (spec.linux && linux::ParsePropagation(spec.linux->rootfs_propagation) & MS_SHARED)
    in.rootfs_mount_point =
        linux::MountPointOf(rootfs, linux::ReadFile("/proc/self/mountinfo").value_or(""));
  in.process = &*spec.process;
  in.no_pivot = o.no_pivot;
  if (o.no_pivot)
    in.host_pseudo_fs = linux::FullProcAndSysfsMounts(
        BERTH_TRY(linux::ReadFile("/proc/self/mountinfo")), rootfs);
  in.no_new_keyring = o.no_new_keyring;
  in.container_id = o.id;
  in.preserve_fds = o.preserve_fds;
  in.listen_fds = o.listen_fds;
  in.seccomp_cache_dir = rt.root + "/.seccomp-cache";
  in.rootless = ::geteuid() != 0;
  if (cg) {
    const cgroup::Paths& paths = cg->paths();
    in.cgroup2 = paths.mode == cgroup::Mode::kUnified;
    in.cgroup2_dir = paths.unified;
    in.cgroup_mounts = BERTH_TRY(CgroupMounts(paths));
  }
  PlanWarnings warnings;
  InitPlan plan = BERTH_TRY(BuildInitPlan(in, &warnings));
  for (const auto& w : warnings.messages) rt.Log(LogLevel::kWarning, w);

  auto [root_uid, root_gid] = ContainerRootOnHost(spec);
  if (::mkfifoat(dir.fd(), "exec.fifo", 0600) < 0) return ErrnoError("mkfifo exec.fifo");
  if (::fchownat(dir.fd(), "exec.fifo", root_uid, root_gid, 0) < 0)
    return ErrnoError("chown exec.fifo");
  // Above the fds the process is to receive, so that none of ours lands among them.
  // A new open file description: a dup of dir.fd() would share its flock, and
  // init would hold the container's lock until it execs.
  linux::UniqueFd state_path_fd = BERTH_TRY(linux::Open(dir.path(), O_PATH | O_DIRECTORY));
  int state_fd = ::fcntl(state_path_fd.get(), F_DUPFD_CLOEXEC, 3 + plan.preserve_fds);
  if (state_fd < 0) return ErrnoError("dup state dir fd");
  linux::UniqueFd state_fd_owner(state_fd);
  plan.state_dir_fd = state_fd;
  // Before clone: init inherits them and attaches them; ours close after the launch.
  std::vector<linux::UniqueFd> detached_mounts =
      BERTH_TRY(MakeIdMappedMounts(plan, 3 + plan.preserve_fds));
  BERTH_FAULT_POINT("create: plan the init");
  for (int i = 0; i < 3; ++i) plan.stdio[i] = o.stdio[i];

  ContainerRecord record;
  record.id = o.id;
  record.bundle = bundle;
  record.rootfs = rootfs;
  record.created = NowRfc3339();
  record.owner = ::geteuid() == 0 ? "" : std::to_string(::geteuid());
  record.annotations = spec.annotations;
  if (cg) record.cgroup = cgroup::PathsToJson(cg->paths());
  record.systemd_cgroup = rt.systemd_cgroup;
  if (spec.linux)
    for (const auto& ns : spec.linux->namespaces) {
      if (ns.path.empty()) record.new_namespaces.push_back(ns.type);
      else record.joined_namespaces[ns.type] = ns.path;
    }
  oci::State hook_state{.oci_version = std::string(oci::kSpecVersion),
                        .id = o.id,
                        .status = oci::Status::kCreated,
                        .bundle = bundle,
                        .annotations = spec.annotations};
  SplitHookState(hook_state, plan.hook_state_prefix, plan.hook_state_suffix);

  IdMaps maps;
  if (spec.linux) {
    maps.uid = spec.linux->uid_mappings;
    maps.gid = spec.linux->gid_mappings;
  }
  LaunchHooks hooks;
  cgroup::SelfJoin self_join;
  if (cg) self_join = BERTH_TRY_CTX(cg->PrepareSelfJoin(), "join the container's cgroup");
  BERTH_TRY(PlanSelfJoin(plan, self_join));
  hooks.place = [&](pid_t pid, cgroup::SelfJoined joined) -> Result<void> {
    rt.Log(LogLevel::kDebug, "init " + std::to_string(pid) + " joins its cgroups: " +
                                 SelfJoinedText(joined));
    if (cg) BERTH_TRY_CTX(cg->CompleteJoin(pid, joined), "join the container's cgroup");
    BERTH_TRY(ApplyFinalAffinity(pid, ExecAffinity{}));
    BERTH_TRY(MoveNetDevices(spec, pid));
    BERTH_FAULT_POINT("create: move the init into its cgroups");
    if (spec.process->oom_score_adj)
      BERTH_TRY_CTX(WriteOomScoreAdj(pid, *spec.process->oom_score_adj), "process.oomScoreAdj");
    return {};
  };
  hooks.run_hooks = [&](pid_t pid) -> Result<void> {
    oci::State s = hook_state;
    s.pid = pid;
    std::string json = oci::HookStateJson(s);
    BERTH_FAULT_POINT("create: run the prestart hooks");
    BERTH_TRY(RunHooks(spec.hooks.prestart, "prestart", json));
    return RunHooks(spec.hooks.create_runtime, "createRuntime", json);
  };
  if (spec.linux && spec.linux->seccomp) {
    hooks.seccomp_listener = [&](pid_t pid, int listener) -> Result<void> {
      oci::State s = hook_state;
      s.pid = pid;
      return linux::SendSeccompListener(spec.linux->seccomp->listener_path,
                                        spec.linux->seccomp->listener_metadata, listener,
                                        oci::HookStateJson(s));
    };
  }
  hooks.debug = [&rt](const std::string& m) { rt.Log(LogLevel::kDebug, m); };
  rt.Log(LogLevel::kDebug, "create " + o.id + ": bundle " + bundle + ", rootfs " + rootfs +
                               ", " + std::to_string(plan.mounts.size()) + " mounts planned");
  LaunchedInit init = BERTH_TRY(LaunchInit(plan, maps, hooks));
  rt.Log(LogLevel::kDebug, "create " + o.id + ": init " + std::to_string(init.pid) +
                               " waits on exec.fifo for start");
  detached_mounts.clear();
  if (init.cloned_into_cgroup_refused)
    rt.Log(LogLevel::kDebug, "the init cloned into its v2 cgroup was killed at once (the cgroup "
                             "had cgroup.kill written): cloned again and moved by pid");
  rollback.AddKillChild(init.pid, init.pidfd.get());
  BERTH_FAULT_POINT("create: launch the init");

  CreateResult result;
  if (init.pty_master) {
    if (!o.console_socket.empty()) {
      BERTH_TRY_CTX(linux::SendFdToPath(o.console_socket, init.pty_master.get(), "/dev/ptmx"),
                    "--console-socket");
    } else {
      result.pty_master = std::move(init.pty_master);
    }
  }
  // As runc's init sends it: the message "standard" with the pidfd.
  if (!o.pidfd_socket.empty())
    BERTH_TRY_CTX(linux::SendFdToPath(o.pidfd_socket, init.pidfd.get(), "standard"),
                  "--pidfd-socket");
  record.pid = init.pid;
  linux::ProcStat st = BERTH_TRY(linux::ReadProcStat(init.pid));
  record.start_time = st.start_time;
  BERTH_FAULT_POINT("create: read the init's start time");
  BERTH_TRY(dir.Save(record));
  BERTH_FAULT_POINT("create: save the record");
  if (!o.pid_file.empty())
    BERTH_TRY_CTX(linux::WriteFileAtomic(o.pid_file, std::to_string(init.pid), 0644), "--pid-file");
  BERTH_FAULT_POINT("create: write the pid file");
  rollback.Disarm();
  result.pid = init.pid;
  result.pidfd = std::move(init.pidfd);
  return result;
}

}  // namespace berth::container
