// containerd.task.v2.Task (also served as containerd.task.v3.Task): the v2 shim's API
// to containerd. Each method parses its request (a bad payload is answered as
// ttrpc-go answers it) and hands it to the task core, whose v2 answers go back as
// they are. Connect and Shutdown are the v2 API's own.
#pragma once

#include <functional>

#include "shim/task_core.h"
#include "ttrpc/server.h"

namespace berth::shim {

class TaskService {
 public:
  // `on_shutdown` runs when Shutdown finds no container left: the daemon stops
  // serving and exits.
  TaskService(TaskCore& core, std::function<void()> on_shutdown)
      : core_(core), on_shutdown_(std::move(on_shutdown)) {}

  ttrpc::ServiceMethods Methods();

 private:
  void Connect(const task::ConnectRequest& req, Reply r);
  void Shutdown(const task::ShutdownRequest& req, Reply r);

  TaskCore& core_;
  std::function<void()> on_shutdown_;
};

}  // namespace berth::shim
