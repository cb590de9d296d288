// containerd.task.v2.Task (also served as containerd.task.v3.Task): the shim's API to
// containerd, over the berth library in this process.
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

#include "shim/log.h"
#include "shim/publisher.h"
#include "shim/task_state.h"
#include "shim/worker_pool.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/server.h"

namespace berth::shim {

struct ServiceConfig {
  std::string ns;  // containerd namespace
  // Runs when Shutdown finds no container left: the daemon stops serving and exits.
  std::function<void()> on_shutdown;
};

class TaskService {
 public:
  TaskService(ttrpc::EventLoop& loop, Publisher& publisher, WorkerPool& workers,
              ServiceConfig config);
  ~TaskService();

  ttrpc::ServiceMethods Methods();

  // Pids the shim reaps itself (inits, execs); the orphan reaper leaves them alone.
  bool Tracks(pid_t pid) const;
  size_t container_count() const { return containers_.size(); }

 private:
  using ContainerPtr = std::shared_ptr<Container>;

  // task_service.cc: the lifecycle.
  void Create(ttrpc::Request& call, ttrpc::Responder r);
  void Start(ttrpc::Request& call, ttrpc::Responder r);
  void StartInit(const ContainerPtr& c, ttrpc::Responder r);
  void StartExec(const ContainerPtr& c, Process& p, ttrpc::Responder r);
  void Delete(ttrpc::Request& call, ttrpc::Responder r);
  void DeleteInit(const ContainerPtr& c, ttrpc::Responder r);
  void Exec(ttrpc::Request& call, ttrpc::Responder r);
  void Wait(ttrpc::Request& call, ttrpc::Responder r);

  // task_ops.cc: everything else.
  void State(ttrpc::Request& call, ttrpc::Responder r);
  void Kill(ttrpc::Request& call, ttrpc::Responder r);
  void Pids(ttrpc::Request& call, ttrpc::Responder r);
  void Pause(ttrpc::Request& call, ttrpc::Responder r, bool pause);
  void Update(ttrpc::Request& call, ttrpc::Responder r);
  void Stats(ttrpc::Request& call, ttrpc::Responder r);
  void ResizePty(ttrpc::Request& call, ttrpc::Responder r);
  void CloseIO(ttrpc::Request& call, ttrpc::Responder r);
  void Connect(ttrpc::Request& call, ttrpc::Responder r);
  void Shutdown(ttrpc::Request& call, ttrpc::Responder r);
  void Checkpoint(ttrpc::Request& call, ttrpc::Responder r);

  // task_exit.cc: reaping, exits, OOM.
  void WatchPid(const ContainerPtr& c, Process& p);
  void OnPidfd(const ContainerPtr& c, const std::string& exec_id);
  bool Reap(Process& p);  // true once p.exit is set
  void HandleExit(const ContainerPtr& c, Process& p);
  void FinishExit(const ContainerPtr& c, Process& p);
  void PublishExit(const ContainerPtr& c, Process& p);
  void WatchOom(const ContainerPtr& c, linux::UniqueFd fd);
  void ReadOom(const ContainerPtr& c);
  void StopOomWatch(Container& c);
  void StopPidWatch(Process& p);

  // Lookups that answer the runc shim's errors through `r` and return null.
  ContainerPtr FindContainer(const std::string& id, ttrpc::Responder& r);
  Process* FindProcess(Container& c, const std::string& exec_id, ttrpc::Responder& r);
  void RemoveContainer(const ContainerPtr& c);

  void NoteActivity();

  // Runs `work` on a worker and `done(result)` back on the loop.
  template <class Work, class Done>
  void Offload(Work work, Done done);

  ttrpc::EventLoop& loop_;
  Publisher& publisher_;
  WorkerPool& workers_;
  ServiceConfig config_;
  std::map<std::string, ContainerPtr> containers_;
  ttrpc::EventLoop::TimerId idle_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

template <class Work, class Done>
void TaskService::Offload(Work work, Done done) {
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
