// Reaping and exits. The init and the execs are the shim's children; each has a pidfd
// on the event loop, and waitid(P_PIDFD) reaps exactly that process, so an exit is
// never taken by someone else's wait and a recycled pid is never confused with it.
#include <signal.h>
#include <sys/wait.h>

#include "cgroup/oom.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "linux/process.h"
#include "shim/log.h"
#include "shim/proto_time.h"
#include "shim/task_core.h"

namespace berth::shim {

namespace events = containerd::events;
using namespace std::chrono_literals;

namespace {

// How long a pty may take to hand over the last output of a process that exited.
constexpr auto kPtyDrainWait = 200ms;

uint32_t ExitStatus(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return static_cast<uint32_t>(info.si_status);
  return 128 + static_cast<uint32_t>(info.si_status);  // killed or dumped: 128 + signal
}

Process* Lookup(Container& c, const std::string& exec_id) {
  if (exec_id.empty()) return &c.init;
  auto it = c.execs.find(exec_id);
  return it == c.execs.end() ? nullptr : it->second.get();
}

}  // namespace

void TaskCore::WatchPid(const ContainerPtr& c, Process& p) {
  if (!p.pidfd) return;
  std::weak_ptr<Container> weak = c;
  auto watched = loop_.Watch(p.pidfd.get(), EPOLLIN, [this, weak, id = p.exec_id](uint32_t) {
    if (auto c = weak.lock()) OnPidfd(c, id);
  });
  if (watched) p.pid_watch = *watched;
  else LogError("watch pid " + std::to_string(p.pid) + ": " + watched.error().message);
}

void TaskCore::StopPidWatch(Process& p) {
  if (p.pid_watch) loop_.Unwatch(p.pid_watch);
  p.pid_watch = 0;
}

void TaskCore::OnPidfd(const ContainerPtr& c, const std::string& exec_id) {
  Process* p = Lookup(*c, exec_id);
  if (!p || p->exit || !Reap(*p)) return;
  HandleExit(c, *p);
}

bool TaskCore::Reap(Process& p) {
  if (p.exit) return true;
  if (!p.pidfd) return false;
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PIDFD, static_cast<id_t>(p.pidfd.get()), &info, WEXITED | WNOHANG | __WALL);
  } while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return false;  // still running
  ExitInfo exit;
  exit.at = RealtimeNow();
  if (r < 0) {
    // Not ours to reap any more (ECHILD): its status is lost; report it as killed.
    LogWarning("reap pid " + std::to_string(p.pid) + ": " + std::strerror(errno));
    exit.status = 128 + SIGKILL;
  } else {
    exit.status = ExitStatus(info);
  }
  p.exit = exit;
  StopPidWatch(p);
  p.pidfd.reset();
  return true;
}

void TaskCore::HandleExit(const ContainerPtr& c, Process& p) {
  LogDebug("process " + std::to_string(p.pid) + " of " + c->id + " exited with " +
           std::to_string(p.exit->status));
  // containerd issue 9719: never an exit before its start event (nor before the
  // checkpoint event of the dump that ended it).
  if (p.phase == Phase::kStarting || c->checkpointing) {
    p.exit_held = true;
    return;
  }
  FinishExit(c, p);
}

namespace {

bool ExecsRunning(const Container& c) {
  for (const auto& [id, e] : c.execs)
    if (e->phase == Phase::kRunning || e->phase == Phase::kStarting) return true;
  return false;
}

}  // namespace

void TaskCore::FinishExit(const ContainerPtr& c, Process& p) {
  p.phase = Phase::kStopped;
  if (!p.exec_id.empty()) {
    DrainAndPublish(c, p);
    return ReleaseInitExit(c);
  }
  // With a pid namespace the kernel takes every other process first, and only then
  // the init: report the execs that are gone before the init, whatever the order
  // of the wakeups.
  ReapExecs(c);
  // An OOM kill is reported before the exit it caused.
  if (c->oom_watch) ReadOom(c);
  if (c->own_pid_namespace || !c->cgroup) return DrainAndPublish(c, p);
  // Without a pid namespace of its own (the host's, or the pod's it joined) the
  // container's other processes survive the init: kill them, as runc's shim does, and
  // report the init's exit after theirs, as containerd does.
  Offload([paths = *c->cgroup] {
            (void)container::KillCgroup(paths, SIGKILL);
            return 0;
          },
          [this, c](int) {
            ReapExecs(c);
            c->init_exit_waits = true;
            ReleaseInitExit(c);
          });
}

// The last exec of a shared-pid container lets the init's exit out (above).
void TaskCore::ReleaseInitExit(const ContainerPtr& c) {
  if (!c->init_exit_waits || ExecsRunning(*c)) return;
  c->init_exit_waits = false;
  DrainAndPublish(c, c->init);
}

void TaskCore::ReapExecs(const ContainerPtr& c) {
  for (auto& [id, e] : c->execs)
    if (e->phase == Phase::kRunning && Reap(*e)) FinishExit(c, *e);
}

void TaskCore::DrainAndPublish(const ContainerPtr& c, Process& p) {
  if (!p.io) return PublishExit(c, p);
  p.io->Drain(kPtyDrainWait, [this, c, id = p.exec_id] {
    if (Process* p = Lookup(*c, id)) PublishExit(c, *p);
  });
}

void TaskCore::PublishExit(const ContainerPtr& c, Process& p) {
  bool deleted_unstarted = p.exec_id.empty() && c->delete_requested;
  if (!c->removed && !deleted_unstarted) {
    events::TaskExit ev;
    ev.set_container_id(c->id);
    ev.set_id(p.exec_id.empty() ? c->id : p.exec_id);
    ev.set_pid(static_cast<uint32_t>(p.pid));
    ev.set_exit_status(p.exit->status);
    SetTime(ev.mutable_exited_at(), p.exit->at);
    publisher_.Publish("/tasks/exit", ev);
  }
  p.exit_published = true;
  auto waiters = std::move(p.waiters);
  p.waiters.clear();
  auto after = std::move(p.after_exit);
  p.after_exit.clear();
  for (auto& w : waiters) {
    containerd::task::v2::WaitResponse resp;
    resp.set_exit_status(p.exit->status);
    if (p.exit->at.tv_sec) SetTime(resp.mutable_exited_at(), p.exit->at);
    else SetZeroTime(resp.mutable_exited_at());  // never ran
    w.With(resp);
  }
  // Last: these may remove `p`.
  for (auto& f : after) f();
}

void TaskCore::WatchOom(const ContainerPtr& c, linux::UniqueFd fd) {
  std::weak_ptr<Container> weak = c;
  auto watched = loop_.Watch(fd.get(), EPOLLIN, [this, weak](uint32_t) {
    if (auto c = weak.lock()) ReadOom(c);
  });
  if (!watched) {
    LogWarning("watch OOM of " + c->id + ": " + watched.error().message);
    return;
  }
  c->oom_fd = std::move(fd);
  c->oom_watch = *watched;
}

void TaskCore::ReadOom(const ContainerPtr& c) {
  if (!c->oom_fd || !c->cgroup) return;
  auto n = cgroup::ReadOomEvents(*c->cgroup, c->oom_fd.get(), c->oom_kill_count);
  if (!n) {
    if (n.error().code != ENOENT) LogWarning("read OOM events of " + c->id + ": " + n.error().message);
    StopOomWatch(*c);
    return;
  }
  if (*n == 0 || c->removed) return;
  events::TaskOOM ev;
  ev.set_container_id(c->id);
  publisher_.Publish("/tasks/oom", ev);
}

void TaskCore::StopOomWatch(Container& c) {
  if (c.oom_watch) loop_.Unwatch(c.oom_watch);
  c.oom_watch = 0;
  c.oom_fd.reset();
}

}  // namespace berth::shim
