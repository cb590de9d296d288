// The task lifecycle: Create, Start, Exec, Delete, Wait.
#include "shim/task_core.h"

#include <signal.h>

#include <algorithm>

#include "cgroup/oom.h"
#include "container/fault.h"
#include "container/status.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "linux/files.h"
#include "linux/process.h"
#include "shim/errors.h"
#include "shim/log.h"
#include "shim/memory.h"
#include "shim/proto_time.h"
#include "shim/rootfs.h"

namespace berth::shim {

namespace task = containerd::task::v2;
namespace events = containerd::events;
using namespace std::chrono_literals;

namespace {

// How long Delete waits for a process's output to be written out (runc's shim: 2 s).
constexpr auto kOutputWait = 2s;
// Quiet time after which an idle shim gives back memory (shim/memory.h).
constexpr auto kIdleTrimDelay = 2s;

struct CreatedInit {
  pid_t pid = 0;
  linux::UniqueFd pidfd, pty;
  StdioSetup stdio;
  std::optional<cgroup::Paths> cgroup;
  bool own_pid_namespace = true;
};

struct StartedInit {
  Result<void> started;
  linux::UniqueFd oom;
  uint64_t oom_kill_count = 0;
};

// A container restored from a checkpoint at its Start.
struct RestoredInit {
  CreatedInit init;
  linux::UniqueFd oom;
  uint64_t oom_kill_count = 0;
};

// What the shim keeps of berth's record of a container it made: its cgroup, and
// whether it has a pid namespace of its own. A joined one (a pod's shared pid
// namespace) is not: its other processes outlive the init, as with the host's
// (runc's shim: shouldKillAllOnExit, a pid namespace with a path).
void ReadRecordFacts(const container::Runtime& rt, const std::string& id, CreatedInit& out) {
  auto record = container::ReadRecord(rt.root, id, nullptr);
  if (!record) return;
  if (!record->cgroup.empty()) {
    if (auto paths = cgroup::PathsFromJson(record->cgroup)) out.cgroup = std::move(*paths);
  }
  const auto& ns_list = record->new_namespaces;
  out.own_pid_namespace = std::find(ns_list.begin(), ns_list.end(), "pid") != ns_list.end();
}

// OOM kills are watched from the start, as runc's shim adds the cgroup then.
void OpenOomWatch(const std::string& id, const cgroup::Paths& cg, linux::UniqueFd& fd,
                  uint64_t& count) {
  if (auto opened = cgroup::OpenOomNotifier(cg)) fd = std::move(*opened);
  else LogWarning("watch OOM of " + id + ": " + opened.error().message);
  count = cgroup::OomKillCount(cg).value_or(0);
}

struct StartedExec {
  pid_t pid = 0;
  linux::UniqueFd pidfd, pty;
  StdioSetup stdio;
};

void SetStdio(container::CreateOptions& o, const StdioSetup& s) {
  for (int i = 0; i < 3; ++i) o.stdio[i] = s.child[i] ? s.child[i].get() : -1;
}

std::string Since(std::chrono::steady_clock::time_point t0) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count());
}

// The container on a mounted rootfs: its stdio, then container::Create.
Result<CreatedInit> CreateInit(const task::CreateTaskRequest& req, const ShimOptions& options,
                               const container::Runtime& rt, const std::string& ns,
                               std::chrono::steady_clock::time_point t0) {
  StdioPaths paths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  CreatedInit out;
  out.stdio = BERTH_TRY(OpenStdio(paths, {options.io_uid, options.io_gid}, req.id(), ns));
  auto release = [&out](bool failed) { ReleaseChildEnds(out.stdio, failed); };
  if (auto fault = container::FaultPoint("shim create: open the stdio"); !fault) {
    release(true);
    return Fail(std::move(fault.error()));
  }
  container::CreateOptions co;
  co.id = req.id();
  co.bundle = req.bundle();
  co.no_pivot = options.no_pivot_root;
  co.no_new_keyring = options.no_new_keyring;
  co.pid_file = req.bundle() + "/init.pid";
  co.keep_pty_master = req.terminal();
  SetStdio(co, out.stdio);
  LogDebug("create: stdio opened at " + Since(t0) + " us");
  auto result = container::Create(rt, co);
  LogDebug("create: container created at " + Since(t0) + " us");
  release(!result);
  if (!result) return Fail(std::move(result.error()));
  out.pid = result->pid;
  out.pidfd = std::move(result->pidfd);
  out.pty = std::move(result->pty_master);
  ReadRecordFacts(rt, req.id(), out);
  return out;
}

Result<CreatedInit> CreateOnWorker(const task::CreateTaskRequest& req, const ShimOptions& options,
                                   const container::Runtime& rt, const std::string& ns,
                                   const std::string& rootfs) {
  auto t0 = std::chrono::steady_clock::now();
  // What `delete` needs after a crash of the shim: the state root.
  BERTH_TRY(linux::WriteFileAtomic(req.bundle() + "/options.json", OptionsToJson(options), 0600));
  std::vector<RootfsMount> mounts;
  for (const auto& m : req.rootfs())
    mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  BERTH_TRY(MountRootfs(mounts, rootfs));
  LogDebug("create: rootfs mounted at " + Since(t0) + " us");
  auto created = [&]() -> Result<CreatedInit> {
    BERTH_FAULT_POINT("shim create: mount the rootfs");
    // A checkpoint is restored at Start, as runc's shim does: nothing runs before.
    if (!req.checkpoint().empty()) return CreatedInit{};
    return CreateInit(req, options, rt, ns, t0);
  }();
  if (!created && !rootfs.empty()) (void)UnmountAll(rootfs);
  return created;
}

std::optional<std::string> CannotStart(const Container& c, const Process& p) {
  switch (p.phase) {
    case Phase::kCreated: return std::nullopt;
    case Phase::kStopped: return "cannot start a stopped process";
    default: return c.paused ? "cannot start a paused process" : "cannot start a running process";
  }
}

void ReplyWait(Reply& r, const Process& p) {
  task::WaitResponse resp;
  resp.set_exit_status(p.exit ? p.exit->status : 0);
  if (p.exit && p.exit->at.tv_sec) SetTime(resp.mutable_exited_at(), p.exit->at);
  else SetZeroTime(resp.mutable_exited_at());
  r.With(resp);
}

void FillDelete(task::DeleteResponse& resp, const Process& p) {
  resp.set_pid(static_cast<uint32_t>(p.pid));
  resp.set_exit_status(p.exit ? p.exit->status : 0);
  if (p.exit && p.exit->at.tv_sec) SetTime(resp.mutable_exited_at(), p.exit->at);
  else SetZeroTime(resp.mutable_exited_at());
}

}  // namespace

TaskCore::TaskCore(ttrpc::EventLoop& loop, EventSink& events, WorkerPool& workers,
                   CoreConfig config)
    : loop_(loop), publisher_(events), workers_(workers), config_(std::move(config)) {}

TaskCore::~TaskCore() {
  *alive_ = false;
  if (idle_timer_) loop_.CancelTimer(idle_timer_);
  for (auto& [id, c] : containers_) {
    StopOomWatch(*c);
    StopPidWatch(c->init);
    for (auto& [eid, p] : c->execs) StopPidWatch(*p);
  }
}

// Every request re-arms a timer; once the shim has been quiet for a while (and no
// worker is busy, whose exit does the same), what the work made resident goes back.
void TaskCore::NoteActivity() {
  if (idle_timer_) loop_.CancelTimer(idle_timer_);
  idle_timer_ = loop_.RunAfter(kIdleTrimDelay, [this] {
    idle_timer_ = 0;
    if (workers_.threads() == 0) ReleaseIdleMemory();
  });
}

TaskCore::ContainerPtr TaskCore::FindContainer(const std::string& id, Reply& r) {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second->creating) {
    r.Fail(NotFound("container not created"));
    return nullptr;
  }
  return it->second;
}

Process* TaskCore::FindProcess(Container& c, const std::string& exec_id, Reply& r) {
  if (exec_id.empty()) return &c.init;
  auto it = c.execs.find(exec_id);
  if (it == c.execs.end()) {
    r.Fail(NotFound("process does not exist " + exec_id));
    return nullptr;
  }
  return it->second.get();
}

void TaskCore::RemoveContainer(const ContainerPtr& c) {
  auto it = containers_.find(c->id);
  if (it != containers_.end() && it->second == c) containers_.erase(it);
  c->removed = true;
}

std::optional<pid_t> TaskCore::InitPid(const std::string& id) const {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second->creating) return std::nullopt;
  return it->second->init.pid;
}

bool TaskCore::Tracks(pid_t pid) const {
  for (const auto& [id, c] : containers_) {
    if (c->init.pid == pid) return true;
    for (const auto& [eid, p] : c->execs)
      if (p->pid == pid) return true;
  }
  return false;
}

void TaskCore::Create(task::CreateTaskRequest req, Reply r) {
  if (req.id().empty() || req.bundle().empty())
    return r.Fail(InvalidArgument("create: id and bundle are required"));
  if (containers_.count(req.id())) return r.Fail(AlreadyExists("container " + req.id()));
  auto c = std::make_shared<Container>();
  c->restore_from = req.checkpoint();
  c->options = config_.defaults;
  if (auto applied = ApplyOptions(req.options(), c->options); !applied)
    return r.Fail(Unknown(applied.error().message));
  c->id = req.id();
  c->bundle = req.bundle();
  if (req.rootfs_size() > 0) c->rootfs = req.bundle() + "/rootfs";
  c->runtime.root = c->options.StateRoot(config_.ns);
  c->runtime.systemd_cgroup = c->options.systemd_cgroup;
  if (!c->options.criu_path.empty()) c->runtime.criu_path = c->options.criu_path;
  c->runtime.log = [](container::LogLevel level, const std::string& m) {
    Log(level == container::LogLevel::kWarning ? LogLevel::kWarning : LogLevel::kInfo, m);
  };
  c->init.stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  containers_[c->id] = c;
  auto work = [req, options = c->options, rt = c->runtime, ns = config_.ns,
               rootfs = c->rootfs] { return CreateOnWorker(req, options, rt, ns, rootfs); };
  Offload(std::move(work), [this, c, req = std::move(req),
                            r = std::move(r)](Result<CreatedInit> res) mutable {
    if (!res) {
      RemoveContainer(c);
      LogError("create " + c->id + ": " + res.error().message);
      return r.Fail(Unknown("OCI runtime create failed: " + res.error().message));
    }
    c->creating = false;
    Process& init = c->init;
    init.pid = res->pid;
    init.pidfd = std::move(res->pidfd);
    if (c->restore_from.empty())
      init.io = std::make_unique<ProcessIo>(loop_, std::move(res->stdio), std::move(res->pty));
    c->cgroup = std::move(res->cgroup);
    c->own_pid_namespace = res->own_pid_namespace;
    events::TaskCreate ev;
    ev.set_container_id(c->id);
    ev.set_bundle(req.bundle());
    *ev.mutable_rootfs() = req.rootfs();
    auto* io = ev.mutable_io();
    io->set_stdin(req.stdin());
    io->set_stdout(req.stdout());
    io->set_stderr(req.stderr());
    io->set_terminal(req.terminal());
    ev.set_checkpoint(req.checkpoint());
    ev.set_pid(static_cast<uint32_t>(init.pid));
    publisher_.Publish("/tasks/create", ev);
    WatchPid(c, init);
    task::CreateTaskResponse resp;
    resp.set_pid(static_cast<uint32_t>(init.pid));
    r.With(resp);
  });
}

void TaskCore::Start(const task::StartRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  if (auto why = CannotStart(*c, *p)) return r.Fail(Unknown(*why));
  if (p->exec_id.empty()) return StartInit(c, std::move(r));
  StartExec(c, *p, std::move(r));
}

void TaskCore::StartInit(const ContainerPtr& c, Reply r) {
  if (!c->restore_from.empty()) return StartRestore(c, std::move(r));
  c->init.phase = Phase::kStarting;
  auto work = [rt = c->runtime, id = c->id, cg = c->cgroup] {
    StartedInit out;
    out.started = container::Start(rt, id);
    if (out.started && cg) OpenOomWatch(id, *cg, out.oom, out.oom_kill_count);
    return out;
  };
  Offload(std::move(work), [this, c, r = std::move(r)](StartedInit res) mutable {
    Process& p = c->init;
    if (!res.started) {
      r.Fail(Unknown("OCI runtime start failed: " + res.started.error().message));
      p.phase = Phase::kCreated;
      if (std::exchange(p.exit_held, false)) FinishExit(c, p);
      return;
    }
    InitRunning(c, std::move(res.oom), res.oom_kill_count, r);
    if (std::exchange(p.exit_held, false)) FinishExit(c, p);
  });
}

void TaskCore::InitRunning(const ContainerPtr& c, linux::UniqueFd oom, uint64_t oom_kill_count,
                           Reply& r) {
  Process& p = c->init;
  p.phase = Phase::kRunning;
  events::TaskStart ev;
  ev.set_container_id(c->id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  publisher_.Publish("/tasks/start", ev);
  if (oom && !c->removed) {
    c->oom_kill_count = oom_kill_count;
    WatchOom(c, std::move(oom));
  }
  task::StartResponse resp;
  resp.set_pid(static_cast<uint32_t>(p.pid));
  r.With(resp);
}

// The checkpoint given to Create becomes the container now (runc's shim runs
// `runc restore --detach` at Start): the restored init is the shim's child.
void TaskCore::StartRestore(const ContainerPtr& c, Reply r) {
  Process& init = c->init;
  init.phase = Phase::kStarting;
  container::RestoreOptions ro;
  ro.id = c->id;
  ro.bundle = c->bundle;
  ro.criu.image_path = c->restore_from;
  ro.criu.work_path = c->options.criu_work_path;
  ro.pid_file = c->bundle + "/init.pid";
  ro.no_pivot = c->options.no_pivot_root;
  ro.keep_pty_master = init.stdio.terminal;
  auto work = [rt = c->runtime, ro = std::move(ro), paths = init.stdio, ns = config_.ns,
               owner = StdioOwner{c->options.io_uid, c->options.io_gid}]() mutable
      -> Result<RestoredInit> {
    RestoredInit out;
    CreatedInit& made = out.init;
    made.stdio = BERTH_TRY(OpenStdio(paths, owner, ro.id, ns));
    for (int i = 0; i < 3; ++i)
      ro.stdio[i] = made.stdio.child[i] ? made.stdio.child[i].get() : -1;
    auto restored = container::Restore(rt, ro);
    ReleaseChildEnds(made.stdio, !restored);
    if (!restored) return Fail(std::move(restored.error()));
    made.pid = restored->pid;
    made.pidfd = std::move(restored->pidfd);
    made.pty = std::move(restored->pty_master);
    ReadRecordFacts(rt, ro.id, made);
    if (made.cgroup) OpenOomWatch(ro.id, *made.cgroup, out.oom, out.oom_kill_count);
    return out;
  };
  Offload(std::move(work), [this, c, r = std::move(r)](Result<RestoredInit> res) mutable {
    Process& p = c->init;
    if (!res) {
      p.phase = Phase::kCreated;
      return r.Fail(Unknown("OCI runtime restore failed: " + res.error().message));
    }
    CreatedInit& made = res->init;
    p.pid = made.pid;
    p.pidfd = std::move(made.pidfd);
    p.io = std::make_unique<ProcessIo>(loop_, std::move(made.stdio), std::move(made.pty));
    c->cgroup = std::move(made.cgroup);
    c->own_pid_namespace = made.own_pid_namespace;
    InitRunning(c, std::move(res->oom), res->oom_kill_count, r);
    // Watched only now: an exit that is already there comes after the start event.
    WatchPid(c, p);
  });
}

void TaskCore::StartExec(const ContainerPtr& c, Process& p, Reply r) {
  p.phase = Phase::kStarting;
  container::ExecOptions eo;
  eo.id = c->id;
  eo.process = *p.spec;
  eo.keep_pty_master = p.stdio.terminal;
  auto work = [rt = c->runtime, eo = std::move(eo), paths = p.stdio, ns = config_.ns,
               owner = StdioOwner{c->options.io_uid, c->options.io_gid},
               exec_id = p.exec_id]() mutable -> Result<StartedExec> {
    StartedExec out;
    out.stdio = BERTH_TRY(OpenStdio(paths, owner, exec_id, ns));
    for (int i = 0; i < 3; ++i) eo.stdio[i] = out.stdio.child[i] ? out.stdio.child[i].get() : -1;
    auto result = container::Exec(rt, eo);
    ReleaseChildEnds(out.stdio, !result);
    if (!result) return Fail(std::move(result.error()));
    out.pid = result->pid;
    out.pidfd = std::move(result->pidfd);
    out.pty = std::move(result->pty_master);
    return out;
  };
  Offload(std::move(work), [this, c, exec_id = p.exec_id,
                            r = std::move(r)](Result<StartedExec> res) mutable {
    auto it = c->execs.find(exec_id);
    if (c->removed || it == c->execs.end()) {
      // Deleted meanwhile; the process (if any) dies with the container, and the
      // orphan reaper collects it.
      return r.Fail(NotFound("process does not exist " + exec_id));
    }
    Process& p = *it->second;
    if (!res) {
      // As runc's shim: the exec never ran; Wait answers with status 0.
      p.phase = Phase::kStopped;
      p.exit = ExitInfo{};
      p.exit_published = true;
      for (auto& w : p.waiters) ReplyWait(w, p);
      p.waiters.clear();
      ReleaseInitExit(c);
      return r.Fail(Unknown("OCI runtime exec failed: " + res.error().message));
    }
    p.pid = res->pid;
    p.pidfd = std::move(res->pidfd);
    p.io = std::make_unique<ProcessIo>(loop_, std::move(res->stdio), std::move(res->pty));
    p.phase = Phase::kRunning;
    events::TaskExecStarted ev;
    ev.set_container_id(c->id);
    ev.set_exec_id(exec_id);
    ev.set_pid(static_cast<uint32_t>(p.pid));
    publisher_.Publish("/tasks/exec-started", ev);
    // Watched only now: an exit that is already there comes after the start event.
    WatchPid(c, p);
    task::StartResponse resp;
    resp.set_pid(static_cast<uint32_t>(p.pid));
    r.With(resp);
  });
}

void TaskCore::Exec(const task::ExecProcessRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  if (c->deleting) return r.Fail(Unknown("cannot exec in a deleted state"));
  if (c->init.phase == Phase::kStopped) return r.Fail(Unknown("cannot exec in a stopped state"));
  if (c->paused) return r.Fail(Unknown("cannot exec in a paused state"));
  if (req.exec_id().empty()) return r.Fail(InvalidArgument("exec id must not be empty"));
  if (c->execs.count(req.exec_id())) return r.Fail(AlreadyExists("id " + req.exec_id()));
  auto spec = oci::ParseProcess(req.spec().value());
  if (!spec) return r.Fail(Unknown(spec.error().message));
  spec->terminal = req.terminal();
  auto p = std::make_unique<Process>();
  p->exec_id = req.exec_id();
  p->stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  p->spec = std::move(*spec);
  c->execs[p->exec_id] = std::move(p);
  events::TaskExecAdded ev;
  ev.set_container_id(c->id);
  ev.set_exec_id(req.exec_id());
  publisher_.Publish("/tasks/exec-added", ev);
  r.Ok("");
}

void TaskCore::Wait(const task::WaitRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  if (p->exit_published) return ReplyWait(r, *p);
  p->waiters.push_back(std::move(r));
}

void TaskCore::Delete(const task::DeleteRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  if (c->deleting) return r.Fail(NotFound("cannot delete a deleted process"));
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  if (p->phase == Phase::kStarting || p->phase == Phase::kRunning)
    return r.Fail(Unknown(c->paused ? "cannot delete a paused process"
                                    : "cannot delete a running process"));
  if (!p->exec_id.empty()) {
    std::string exec_id = p->exec_id;
    auto remove = [this, c, exec_id, r = std::move(r)]() mutable {
      auto it = c->execs.find(exec_id);
      if (it == c->execs.end()) return r.Fail(NotFound("process does not exist " + exec_id));
      task::DeleteResponse resp;
      FillDelete(resp, *it->second);
      // Waits on an exec that never ran: it never will.
      for (auto& w : it->second->waiters) w.Fail(NotFound("process does not exist " + exec_id));
      if (it->second->io) it->second->io->Close();
      StopPidWatch(*it->second);
      c->execs.erase(it);
      r.With(resp);
    };
    if (p->phase == Phase::kCreated || !p->io) return remove();
    auto after_output = [p, remove = std::move(remove)]() mutable {
      p->io->WhenOutputDone(kOutputWait, std::move(remove));
    };
    if (p->exit_published) return after_output();
    p->after_exit.push_back(std::move(after_output));
    return;
  }
  if (p->phase == Phase::kCreated) {
    // Never started: kill it, and finish once it is reaped.
    c->delete_requested = true;
    if (p->pidfd) {
      (void)linux::PidfdSendSignal(p->pidfd.get(), SIGKILL);
    } else if (!p->exit) {
      // A checkpoint never restored: no process, nothing to reap (exit status 0).
      p->exit = ExitInfo{};
      FinishExit(c, *p);
    }
  }
  if (p->exit_published) return DeleteInit(c, std::move(r));
  p->after_exit.push_back([this, c, r = std::move(r)]() mutable { DeleteInit(c, std::move(r)); });
}

void TaskCore::DeleteInit(const ContainerPtr& c, Reply r) {
  if (c->deleting) return r.Fail(NotFound("cannot delete a deleted process"));
  c->deleting = true;
  StopOomWatch(*c);
  auto remove = [this, c, r = std::move(r)]() mutable {
    auto work = [rt = c->runtime, id = c->id, rootfs = c->rootfs]() -> Result<void> {
      auto deleted = container::Delete(rt, id, /*force=*/true);
      // Gone already (a checkpoint, or a `delete` after a restart): nothing to undo.
      if (!deleted && deleted.error().code != ENOENT)
        return deleted;
      if (!rootfs.empty()) BERTH_TRY(UnmountAll(rootfs));
      return {};
    };
    Offload(std::move(work), [this, c, r = std::move(r)](Result<void> res) mutable {
      if (!res) {
        c->deleting = false;
        return r.Fail(Unknown("failed to delete task: " + res.error().message));
      }
      Process& p = c->init;
      if (p.io) p.io->Close();
      for (auto& [id, e] : c->execs) {
        if (e->io) e->io->Close();
        StopPidWatch(*e);
      }
      StopPidWatch(p);
      RemoveContainer(c);
      events::TaskDelete ev;
      ev.set_container_id(c->id);
      ev.set_pid(static_cast<uint32_t>(p.pid));
      ev.set_exit_status(p.exit ? p.exit->status : 0);
      if (p.exit && p.exit->at.tv_sec) SetTime(ev.mutable_exited_at(), p.exit->at);
      else SetZeroTime(ev.mutable_exited_at());
      publisher_.Publish("/tasks/delete", ev);
      task::DeleteResponse resp;
      FillDelete(resp, p);
      r.With(resp);
    });
  };
  if (!c->init.io) return remove();
  c->init.io->WhenOutputDone(kOutputWait, std::move(remove));
}

}  // namespace berth::shim
