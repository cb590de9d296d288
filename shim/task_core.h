// The shim's task management, over the berth library in this process: containers and
// their processes, stdio, reaping, OOM, events. Both containerd APIs adapt it: the v2
// Task service (task_service.h) and the legacy v1 Shim service (shim_v1_service.h).
// It takes containerd.task.v2 requests and answers v2 messages through a Reply.
//
// Handlers run on the event loop and never block: library calls go to the worker
// pool with copies of what they need, and their results come back to the loop, where
// all the state lives (task_state.h). Wait is a long poll answered at the exit.
//
// Event order (runtime/v2/README.md, seed 000): TaskCreate, TaskStart, TaskExit,
// TaskDelete for the init; TaskExecAdded, TaskExecStarted, TaskExit for an exec;
// TaskPaused/TaskResumed; TaskOOM before the exit it caused. An exit reaped while
// its Start is in flight is held until the start event is queued, and an exit is
// published only after the process's output was drained.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim/event_sink.h"
#include "shim/log.h"
#include "shim/options.h"
#include "shim/reply.h"
#include "shim/task_state.h"
#include "shim/worker_pool.h"
#include "ttrpc/event_loop.h"

namespace berth::shim {

struct CoreConfig {
  std::string ns;  // containerd namespace
  // What a task's options start from before CreateTaskRequest.options apply (the v1
  // shim's -runtime-root, -systemd-cgroup and -criu flags).
  ShimOptions defaults;
};

namespace task = containerd::task::v2;

class TaskCore {
 public:
  TaskCore(ttrpc::EventLoop& loop, EventSink& events, WorkerPool& workers, CoreConfig config);
  ~TaskCore();

  // task_core.cc: the lifecycle.
  void Create(task::CreateTaskRequest req, Reply r);
  void Start(const task::StartRequest& req, Reply r);
  void Delete(const task::DeleteRequest& req, Reply r);
  void Exec(const task::ExecProcessRequest& req, Reply r);
  void Wait(const task::WaitRequest& req, Reply r);

  // task_ops.cc: everything else.
  void State(const task::StateRequest& req, Reply r);
  void Kill(const task::KillRequest& req, Reply r);
  void Pids(const task::PidsRequest& req, Reply r);
  void Pause(const std::string& id, bool pause, Reply r);
  void Update(const task::UpdateTaskRequest& req, Reply r);
  void Stats(const task::StatsRequest& req, Reply r);
  void ResizePty(const task::ResizePtyRequest& req, Reply r);
  void CloseIO(const task::CloseIORequest& req, Reply r);
  void Checkpoint(const task::CheckpointTaskRequest& req, Reply r);

  // Every request calls this: once the shim has been quiet for a while, memory goes back.
  void NoteActivity();

  // Pids the shim reaps itself (inits, execs); the orphan reaper leaves them alone.
  bool Tracks(pid_t pid) const;
  size_t container_count() const { return containers_.size(); }
  // The init's pid of a created container.
  std::optional<pid_t> InitPid(const std::string& id) const;

 private:
  using ContainerPtr = std::shared_ptr<Container>;

  void StartInit(const ContainerPtr& c, Reply r);
  void StartRestore(const ContainerPtr& c, Reply r);
  // A started or restored init: TaskStart, the OOM watch, the reply.
  void InitRunning(const ContainerPtr& c, linux::UniqueFd oom, uint64_t oom_kill_count, Reply& r);
  void StartExec(const ContainerPtr& c, Process& p, Reply r);
  void DeleteInit(const ContainerPtr& c, Reply r);

  // task_exit.cc: reaping, exits, OOM.
  void WatchPid(const ContainerPtr& c, Process& p);
  void OnPidfd(const ContainerPtr& c, const std::string& exec_id);
  bool Reap(Process& p);  // true once p.exit is set
  void HandleExit(const ContainerPtr& c, Process& p);
  void FinishExit(const ContainerPtr& c, Process& p);
  void ReapExecs(const ContainerPtr& c);
  void ReleaseInitExit(const ContainerPtr& c);
  void DrainAndPublish(const ContainerPtr& c, Process& p);
  void PublishExit(const ContainerPtr& c, Process& p);
  void WatchOom(const ContainerPtr& c, linux::UniqueFd fd);
  void ReadOom(const ContainerPtr& c);
  void StopOomWatch(Container& c);
  void StopPidWatch(Process& p);

  // Lookups that answer the runc shim's errors through `r` and return null.
  ContainerPtr FindContainer(const std::string& id, Reply& r);
  Process* FindProcess(Container& c, const std::string& exec_id, Reply& r);
  void RemoveContainer(const ContainerPtr& c);

  // Runs `work` on a worker and `done(result)` back on the loop.
  template <class Work, class Done>
  void Offload(Work work, Done done);

  ttrpc::EventLoop& loop_;
  EventSink& publisher_;
  WorkerPool& workers_;
  CoreConfig config_;
  std::map<std::string, ContainerPtr> containers_;
  ttrpc::EventLoop::TimerId idle_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

template <class Work, class Done>
void TaskCore::Offload(Work work, Done done) {
  std::weak_ptr<bool> alive = alive_;
  // The loop outlives the workers (the daemon stops them first); this object may not.
  ttrpc::EventLoop& loop = loop_;
  workers_.Run([&loop, alive, work = std::move(work), done = std::move(done)]() mutable {
    auto started = std::chrono::steady_clock::now();
    auto result = work();
    LogDebug("worker task took " +
             std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count()) +
             " us");
    loop.Post([alive, done = std::move(done), result = std::move(result)]() mutable {
      if (!alive.expired()) done(std::move(result));
    });
  });
}

}  // namespace berth::shim
