// The task operations besides the lifecycle: State, Kill, Pids, Pause/Resume, Update,
// Stats, ResizePty, CloseIO, Checkpoint.
#include <signal.h>
#include <unistd.h>

#include <utility>

#include "cgroup/stats.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "container/container.h"
#include "github.com/containerd/containerd/runtime/linux/runctypes/runc.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "linux/process.h"
#include "shim/errors.h"
#include "shim/log.h"
#include "shim/metrics.h"
#include "shim/proto_time.h"
#include "shim/task_core.h"

namespace berth::shim {

namespace task = containerd::task::v2;
namespace events = containerd::events;
namespace types = containerd::v1::types;

namespace {

types::Status StatusOf(const Container& c, const Process& p) {
  switch (p.phase) {
    case Phase::kCreated: return types::CREATED;
    case Phase::kStopped: return types::STOPPED;
    default: return c.paused ? types::PAUSED : types::RUNNING;
  }
}

// runc's checkKillError for a process that is gone.
ttrpc::Status ProcessFinished() { return NotFound("process already finished"); }

}  // namespace

void TaskCore::State(const task::StateRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  task::StateResponse resp;
  resp.set_id(p->exec_id.empty() ? c->id : p->exec_id);
  resp.set_bundle(c->bundle);
  resp.set_pid(static_cast<uint32_t>(p->pid));
  resp.set_status(StatusOf(*c, *p));
  resp.set_stdin(p->stdio.in);
  resp.set_stdout(p->stdio.out);
  resp.set_stderr(p->stdio.err);
  resp.set_terminal(p->stdio.terminal);
  // The exit shows once it is published, so State never runs ahead of Wait.
  if (p->exit && p->exit_published) {
    resp.set_exit_status(p->exit->status);
    if (p->exit->at.tv_sec) SetTime(resp.mutable_exited_at(), p->exit->at);
    else SetZeroTime(resp.mutable_exited_at());
  } else {
    SetZeroTime(resp.mutable_exited_at());
  }
  resp.set_exec_id(p->exec_id);
  r.With(resp);
}

void TaskCore::Kill(const task::KillRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  int signal = static_cast<int>(req.signal());
  // An exec not started, or an init whose checkpoint is not restored yet.
  if (!p->pidfd && !p->exit) return r.Fail(FailedPrecondition("process not created"));
  if (p->exit || !p->pidfd) return r.Fail(ProcessFinished());
  auto finish = [](Reply& r, const Result<void>& res) {
    if (!res && res.error().code == ESRCH) return r.Fail(ProcessFinished());
    if (!res) return r.Fail(Unknown("unknown error after kill: " + res.error().message));
    r.Ok("");
  };
  container::KillTargets to{};
  if (p->exec_id.empty() && c->cgroup)
    to = container::KillTargetsFor(signal, req.all(), c->own_pid_namespace, c->paused);
  if (to.cgroup) {
    // Every process of the container: through its cgroup, on a worker.
    Offload([paths = *c->cgroup, signal, to]() -> Result<void> {
              BERTH_TRY(container::KillCgroup(paths, signal));
              if (!to.thaw_after) return {};
              return container::FreezeCgroup(paths, false);
            },
            [c, to, finish, r = std::move(r)](Result<void> res) mutable {
              if (res && to.thaw_after) c->paused = false;
              finish(r, res);
            });
    return;
  }
  // The pidfd names exactly our child, reaped or not: no pid reuse can be hit.
  auto sent = linux::PidfdSendSignal(p->pidfd.get(), signal);
  if (!sent || !to.thaw_after) return finish(r, sent);
  Offload([paths = *c->cgroup] { return container::FreezeCgroup(paths, false); },
          [c, finish, r = std::move(r)](Result<void> res) mutable {
            if (res) c->paused = false;
            finish(r, res);
          });
}

void TaskCore::Pids(const task::PidsRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  if (!c->cgroup) return r.Fail(NotFound("cgroup does not exist"));
  Offload([paths = *c->cgroup] { return container::CgroupProcesses(paths); },
          [this, c, r = std::move(r)](Result<std::vector<pid_t>> pids) mutable {
            if (!pids) return r.Fail(Unknown(pids.error().message));
            task::PidsResponse resp;
            for (pid_t pid : *pids) {
              auto* info = resp.add_processes();
              info->set_pid(static_cast<uint32_t>(pid));
              for (const auto& [id, e] : c->execs) {
                if (e->pid != pid) continue;
                containerd::runc::v1::ProcessDetails details;
                details.set_exec_id(id);
                info->mutable_info()->set_type_url(details.GetTypeName());
                info->mutable_info()->set_value(details.SerializeAsString());
              }
            }
            r.With(resp);
          });
}

void TaskCore::Pause(const std::string& id, bool pause, Reply r) {
  ContainerPtr c = FindContainer(id, r);
  if (!c) return;
  const Process& init = c->init;
  // The runc shim's state machine texts.
  if (init.phase == Phase::kCreated)
    return r.Fail(Unknown(pause ? "cannot pause task in created state"
                                : "cannot resume task in created state"));
  if (init.phase == Phase::kStopped || c->deleting)
    return r.Fail(Unknown(pause ? "cannot pause a stopped container"
                                : "cannot resume a stopped container"));
  if (pause && c->paused) return r.Fail(Unknown("cannot pause a paused container"));
  if (!pause && !c->paused) return r.Fail(Unknown("cannot resume a running process"));
  if (!c->cgroup) return r.Fail(FailedPrecondition("the container has no cgroup to freeze"));
  Offload([paths = *c->cgroup, pause] { return container::FreezeCgroup(paths, pause); },
          [this, c, pause, r = std::move(r)](Result<void> res) mutable {
            if (!res) return r.Fail(Unknown(res.error().message));
            c->paused = pause;
            if (pause) {
              events::TaskPaused ev;
              ev.set_container_id(c->id);
              publisher_.Publish("/tasks/paused", ev);
            } else {
              events::TaskResumed ev;
              ev.set_container_id(c->id);
              publisher_.Publish("/tasks/resumed", ev);
            }
            r.Ok("");
          });
}

void TaskCore::Update(const task::UpdateTaskRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  if (c->init.phase == Phase::kStopped) return r.Fail(Unknown("cannot update a stopped container"));
  if (!c->cgroup) return r.Fail(FailedPrecondition("the container has no cgroup to update"));
  // linux.resources as JSON, as runc's shim reads the Any.
  auto resources = oci::ParseResources(req.resources().value());
  if (!resources) return r.Fail(Unknown(resources.error().message));
  Offload([paths = *c->cgroup, res = std::move(*resources)]() -> Result<void> {
            return container::UpdateCgroup(paths, res);
          },
          [r = std::move(r)](Result<void> res) mutable {
            if (!res) return r.Fail(Unknown(res.error().message));
            r.Ok("");
          });
}

void TaskCore::Stats(const task::StatsRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  if (!c->cgroup) return r.Fail(NotFound("cgroup does not exist"));
  Offload([paths = *c->cgroup]() -> Result<google::protobuf::Any> {
            return MetricsAny(BERTH_TRY(container::CgroupStats(paths)));
          },
          [r = std::move(r)](Result<google::protobuf::Any> any) mutable {
            if (!any) return r.Fail(Unknown(any.error().message));
            task::StatsResponse resp;
            *resp.mutable_stats() = std::move(*any);
            r.With(resp);
          });
}

void TaskCore::ResizePty(const task::ResizePtyRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  if (p->phase == Phase::kStopped && !p->exec_id.empty())
    return r.Fail(Unknown("cannot resize a stopped container"));
  if (p->io) {
    if (auto resized = p->io->Resize(req.width(), req.height()); !resized)
      return r.Fail(Unknown(resized.error().message));
  }
  r.Ok("");
}

void TaskCore::CloseIO(const task::CloseIORequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  Process* p = FindProcess(*c, req.exec_id(), r);
  if (!p) return;
  if (req.stdin() && p->io) p->io->CloseStdin();
  r.Ok("");
}

namespace {

// The checkpoint options of containerd's runc shim: `containerd.runc.v1.CheckpointOptions`
// (what containerd's client sends) or the older `containerd.linux.runc.CheckpointOptions`;
// none means criu's defaults with the image in the request's path.
Result<container::CheckpointOptions> CheckpointOptionsOf(const task::CheckpointTaskRequest& req,
                                                         const ShimOptions& shim) {
  container::CheckpointOptions o;
  o.id = req.id();
  o.criu.image_path = req.path();
  o.criu.work_path = shim.criu_work_path;
  bool exit = false;
  std::string cgroups_mode, image_path, work_path;
  auto apply = [&](const auto& m) {
    exit = m.exit();
    o.criu.tcp_established = m.open_tcp();
    o.criu.ext_unix_sk = m.external_unix_sockets();
    o.criu.shell_job = m.terminal();
    o.criu.file_locks = m.file_locks();
    o.criu.empty_ns.assign(m.empty_namespaces().begin(), m.empty_namespaces().end());
    cgroups_mode = m.cgroups_mode();
    image_path = m.image_path();
    work_path = m.work_path();
  };
  std::string_view type = req.options().type_url();
  type = type.substr(type.rfind('/') == std::string_view::npos ? 0 : type.rfind('/') + 1);
  if (type == "containerd.runc.v1.CheckpointOptions") {
    containerd::runc::v1::CheckpointOptions m;
    if (!m.ParseFromString(req.options().value())) return Fail("checkpoint options: invalid protobuf");
    apply(m);
  } else if (type == "containerd.linux.runc.CheckpointOptions") {
    containerd::linux::runc::CheckpointOptions m;
    if (!m.ParseFromString(req.options().value())) return Fail("checkpoint options: invalid protobuf");
    apply(m);
  } else if (!type.empty()) {
    return Fail("type with url " + req.options().type_url() + ": not found");
  }
  if (!image_path.empty()) o.criu.image_path = image_path;
  if (!work_path.empty()) o.criu.work_path = work_path;
  if (o.criu.image_path.empty()) return Fail("checkpoint: no image path");
  o.criu.manage_cgroups_mode = BERTH_TRY(container::ParseCriuCgroupMode(cgroups_mode));
  o.leave_running = !exit;
  return o;
}

}  // namespace

// As containerd's runc shim: criu dumps the init's container into the request's path
// (or the options' image path); with `exit` the container's processes are gone
// afterwards and their exit comes through the pidfd as any other.
void TaskCore::Checkpoint(const task::CheckpointTaskRequest& req, Reply r) {
  ContainerPtr c = FindContainer(req.id(), r);
  if (!c) return;
  const Process& init = c->init;
  if (init.phase == Phase::kCreated) return r.Fail(Unknown("cannot checkpoint a created container"));
  if (init.phase == Phase::kStopped || c->deleting)
    return r.Fail(Unknown("cannot checkpoint a stopped container"));
  auto options = CheckpointOptionsOf(req, c->options);
  if (!options) return r.Fail(Unknown(options.error().message));
  if (c->checkpointing) return r.Fail(Unknown("a checkpoint of " + c->id + " is in progress"));
  c->checkpointing = true;
  Offload([rt = c->runtime, options = std::move(*options)]() -> Result<void> {
            return container::Checkpoint(rt, options);
          },
          [this, c, path = req.path(), r = std::move(r)](Result<void> res) mutable {
            c->checkpointing = false;
            if (res) {
              events::TaskCheckpointed ev;
              ev.set_container_id(c->id);
              ev.set_checkpoint(path);
              publisher_.Publish("/tasks/checkpointed", ev);
              r.Ok("");
            } else {
              r.Fail(Unknown("checkpoint failed: " + res.error().message));
            }
            for (auto& [id, e] : c->execs)
              if (std::exchange(e->exit_held, false)) FinishExit(c, *e);
            if (c->init.phase != Phase::kStarting && std::exchange(c->init.exit_held, false))
              FinishExit(c, c->init);
          });
}

}  // namespace berth::shim
