// containerd.runtime.linux.shim.v1.Shim: the legacy shim API that containerd's v1
// runtime (io.containerd.runtime.v1.linux) speaks to containerd-shim-berth-v1. One shim
// serves one container. The v1 API names a process by one id, the container's (the
// init) or an exec's, and has no container id in Delete, Pause, Resume, Checkpoint or
// Update; this service maps each request onto the task core's v2 request and each v2
// answer back onto the v1 message.
//
// Events: containerd's v1 runtime publishes TaskCreate, TaskStart, TaskExecStarted,
// TaskPaused, TaskResumed, TaskCheckpointed and TaskDelete itself, from the answers,
// and TaskOOM from its cgroups monitor; the shim publishes TaskExit (as containerd-shim
// does) and TaskExecAdded (which nothing else publishes for v1 tasks). So that those
// come before what containerd publishes next, Exec answers once TaskExecAdded was
// delivered, and Delete once every exit was: containerd SIGKILLs a v1 shim right after
// Delete, and an event still queued would die with it.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "shim/event_sink.h"
#include "github.com/containerd/containerd/runtime/v1/shim/v1/shim.pb.h"
#include "shim/task_core.h"
#include "ttrpc/server.h"

namespace berth::shim {

// The topics a v1 shim publishes (see above).
inline const std::set<std::string> kShimV1Topics = {"/tasks/exit", "/tasks/exec-added"};

class ShimV1Service {
 public:
  ShimV1Service(TaskCore& core, EventSink& events) : core_(core), events_(events) {}

  ttrpc::ServiceMethods Methods();

 private:
  template <class Message, class Handler>
  ttrpc::MethodHandler Method(Handler handler);

  // The v2 ids of a v1 process id, or nullopt (answered through `r`).
  struct Ids {
    std::string id, exec_id;
  };
  std::optional<Ids> ProcessIds(const std::string& v1_id, ttrpc::Responder& r) const;
  // The container, for the requests about the init alone.
  std::optional<std::string> ContainerId(ttrpc::Responder& r) const;
  // A reply that answers once the events published so far were delivered.
  Reply AfterEvents(ttrpc::Responder r, Reply::OkHandler then);

  void Create(const containerd::runtime::linux::shim::v1::CreateTaskRequest& req, ttrpc::Responder r);
  void Exec(const containerd::runtime::linux::shim::v1::ExecProcessRequest& req, ttrpc::Responder r);
  void Delete(ttrpc::Responder r);
  void DeleteProcess(const std::string& v1_id, ttrpc::Responder r);

  TaskCore& core_;
  EventSink& events_;
  std::string id_;  // the container's, once Create came
};

}  // namespace berth::shim
