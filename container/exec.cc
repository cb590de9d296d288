// `exec`: runs another process in a created or running container. It joins the
// init's namespaces (through a first stage, so that a pid namespace applies to the
// process itself), enters the container's cgroups, and gets the container's seccomp
// filter; user, capabilities, rlimits and the rest come from the process given.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "container/container.h"
#include "container/init_plan_build.h"
#include "container/launch.h"
#include "container/status.h"
#include "linux/files.h"
#include "linux/namespaces.h"
#include "linux/process.h"
#include "linux/unix_socket.h"

namespace berth::container {
namespace {

// The init's namespaces that the container has of its own or joined by path; the
// host's are left alone (setns into one's own user namespace fails).
std::vector<JoinedNamespace> NamespacesToJoin(const ContainerRecord& record) {
  std::vector<JoinedNamespace> joins;
  size_t count = 0;
  const linux::NamespaceKind* kinds = linux::NamespaceKinds(&count);
  std::string proc = "/proc/" + std::to_string(record.pid) + "/ns/";
  for (size_t i = 0; i < count; ++i) {
    std::string name(kinds[i].spec_name);
    bool listed = std::find(record.new_namespaces.begin(), record.new_namespaces.end(), name) !=
                      record.new_namespaces.end() ||
                  record.joined_namespaces.count(name);
    if (listed) joins.push_back({proc + std::string(kinds[i].proc_name), kinds[i].clone_flag});
  }
  // The mount namespace last: once in it, /proc is the container's and the host
  // pid's paths are gone.
  std::stable_partition(joins.begin(), joins.end(),
                        [](const JoinedNamespace& j) { return j.clone_flag != CLONE_NEWNS; });
  return joins;
}

// Placement in the container's cgroups by writing cgroup.procs: the systemd
// driver's scope already exists, so nothing is started.
Result<void> JoinCgroups(const ContainerRecord& record, pid_t pid) {
  if (record.cgroup.empty()) return {};
  cgroup::Paths paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
  std::string value = std::to_string(pid);
  for (const auto& [controller, dir] : paths.v1) {
    auto r = linux::WriteExisting(dir + "/cgroup.procs", value);
    if (!r && r.error().code != ENOENT) return WithContext(std::move(r), "join cgroup " + dir);
  }
  if (!paths.unified.empty())
    BERTH_TRY_CTX(linux::WriteExisting(paths.unified + "/cgroup.procs", value),
                  "join cgroup " + paths.unified);
  return {};
}

void KillAndReap(const LaunchedInit& p) {
  (void)linux::PidfdSendSignal(p.pidfd.get(), SIGKILL);
  while (::waitpid(p.pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<ExecResult> Exec(const Runtime& rt, const ExecOptions& o) {
  linux::UniqueFd dir;
  ContainerRecord record = BERTH_TRY(ReadRecord(rt.root, o.id, &dir));
  oci::Status status = CurrentStatus(dir.get(), record);
  if (status == oci::Status::kStopped)
    return Fail("cannot exec in a stopped container \"" + o.id + "\"", ESRCH);
  if (status == oci::Status::kPaused)
    return Fail("cannot exec in a paused container \"" + o.id + "\"");
  if (o.process.terminal && o.console_socket.empty() && !o.keep_pty_master)
    return Fail("process.terminal is set: a console socket is required");
  // The config as it was at create: its seccomp filter applies to every process.
  oci::Spec spec = BERTH_TRY(oci::LoadSpec(rt.root + "/" + o.id));

  PlanInputs in;
  in.spec = &spec;
  in.bundle = record.bundle;
  in.rootfs = record.rootfs;
  in.process = &o.process;
  in.preserve_fds = o.preserve_fds;
  in.seccomp_cache_dir = rt.root + "/.seccomp-cache";
  PlanWarnings warnings;
  InitPlan plan = BERTH_TRY(BuildExecPlan(in, NamespacesToJoin(record), &warnings));
  for (const auto& w : warnings.messages) rt.Log(LogLevel::kWarning, w);
  for (int i = 0; i < 3; ++i) plan.stdio[i] = o.stdio[i];

  // The init must still be the one recorded while its namespaces are looked up.
  linux::UniqueFd init_pidfd = BERTH_TRY(linux::PidfdOpen(record.pid));
  if (!linux::ProcessIsAlive(record.pid, record.start_time))
    return Fail("cannot exec in a stopped container \"" + o.id + "\"", ESRCH);

  LaunchHooks hooks;
  hooks.place = [&](pid_t pid) -> Result<void> {
    BERTH_TRY(JoinCgroups(record, pid));
    if (o.process.oom_score_adj)
      BERTH_TRY_CTX(linux::WriteExisting("/proc/" + std::to_string(pid) + "/oom_score_adj",
                                         std::to_string(*o.process.oom_score_adj)),
                    "process.oomScoreAdj");
    return {};
  };
  LaunchedInit launched = BERTH_TRY_CTX(LaunchInit(plan, IdMaps{}, hooks), "exec in \"" + o.id + "\"");
  auto failed = [&](Error e) -> Result<ExecResult> {
    KillAndReap(launched);
    return Fail(std::move(e).Context("exec in \"" + o.id + "\""));
  };
  if (launched.seccomp_listener && spec.linux && spec.linux->seccomp) {
    oci::State s = ToOciState(record, status);
    s.pid = launched.pid;
    auto sent = linux::SendSeccompListener(spec.linux->seccomp->listener_path,
                                           spec.linux->seccomp->listener_metadata,
                                           launched.seccomp_listener.get(), oci::HookStateJson(s));
    if (!sent) return failed(std::move(sent.error()));
  }
  ExecResult result;
  if (launched.pty_master) {
    if (!o.console_socket.empty()) {
      auto sent = linux::SendFdToPath(o.console_socket, launched.pty_master.get(), "/dev/ptmx");
      if (!sent) return failed(std::move(sent.error()));
    } else {
      result.pty_master = std::move(launched.pty_master);
    }
  }
  auto exec_done = WaitForExec(launched.sync.get());
  if (!exec_done) {
    // The process reported its failure and exits 127: reap it, it is ours.
    while (::waitpid(launched.pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    return Fail(std::move(exec_done.error()).Context("exec in \"" + o.id + "\""));
  }
  if (!o.pid_file.empty())
    BERTH_TRY_CTX(linux::WriteFileAtomic(o.pid_file, std::to_string(launched.pid), 0644),
                  "pid file");
  result.pid = launched.pid;
  result.pidfd = std::move(launched.pidfd);
  return result;
}

}  // namespace berth::container
