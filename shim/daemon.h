// The shim daemons. v2: what `start` leaves running; it serves the Task API on the
// listening socket it inherits as fd 3 (or -socket), publishes events to
// TTRPC_ADDRESS, logs to the bundle's `log` fifo, and exits after a Shutdown that finds
// no container left. v1: started by containerd itself with the socket as fd 3; serves
// the v1 Shim API, publishes through `containerd publish`, logs to stderr (a pipe
// containerd reads). Both reap as child subreapers and exit on SIGTERM/SIGINT once
// their events are out (5 s at most).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "shim/event_sink.h"
#include "shim/flags.h"
#include "shim/task_core.h"
#include "ttrpc/server.h"

namespace berth::shim {

// What differs between the v1 and the v2 daemon.
struct DaemonApi {
  std::string log_fields;  // appended to every log line
  ShimOptions defaults;    // the core's task option defaults
  std::function<std::unique_ptr<EventSink>(ttrpc::EventLoop&)> make_events;
  // Registers the API's services on `server`; `stop` ends the daemon. What it returns
  // lives as long as the server.
  std::function<Result<std::shared_ptr<void>>(ttrpc::Server& server, TaskCore& core,
                                              EventSink& events, std::function<void()> stop)>
      serve;
  std::function<void()> on_stopped;  // after the server closed, before events are flushed
};

// The daemon both shims share: signals, subreaper, loop, workers, core, server.
int RunShimDaemon(const Flags& flags, const DaemonApi& api);

int RunDaemon(const Flags& flags);    // v2
int RunDaemonV1(const Flags& flags);  // v1

}  // namespace berth::shim
