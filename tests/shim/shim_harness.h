// Drives a containerd runtime v2 shim binary directly, as containerd does, without a
// containerd: `start` in a bundle directory with the runtime options on stdin, a ttrpc
// client on the socket it prints, and a fake containerd events service (Events/Forward
// on TTRPC_ADDRESS) that records what the shim publishes. The same harness runs
// berth's shim and containerd-shim-runc-v2, so a test can compare the two.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/message_lite.h>
#include <nlohmann/json.hpp>

#include "ttrpc/client.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/server.h"

namespace berth::shimtest {

struct RecordedEvent {
  std::string topic;      // "/tasks/exit"
  std::string type_url;   // "containerd.events.TaskExit"
  std::string value;      // the serialized event
  std::string namespace_;  // from the envelope
  std::string metadata_ns;  // the containerd-namespace-ttrpc metadata
  // Convenience, decoded for the task events: container id, process id, exit status.
  std::string container_id, process_id;
  uint32_t exit_status = 0;
};

// An event loop on its own thread; the fake events server and the clients live on it.
class LoopThread {
 public:
  LoopThread();
  ~LoopThread();
  ttrpc::EventLoop& loop() { return *loop_; }
  // Runs `f` on the loop thread and waits for it.
  void Sync(std::function<void()> f);

 private:
  std::unique_ptr<ttrpc::EventLoop> loop_;
  std::thread thread_;
};

class FakeEvents {
 public:
  FakeEvents(LoopThread& loop, const std::string& socket_path);
  ~FakeEvents();
  std::vector<RecordedEvent> Events();
  // Waits until an event satisfying `pred` arrived.
  bool WaitFor(const std::function<bool(const std::vector<RecordedEvent>&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Makes Forward fail (code 14) while true: a containerd that is away.
  void SetUnavailable(bool unavailable);

 private:
  LoopThread& loop_;
  std::unique_ptr<ttrpc::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RecordedEvent> events_;
  bool unavailable_ = false;
};

struct ShimKind {
  std::string name;    // "berth" or "runc"
  std::string binary;  // path of the shim binary
};
// Test names and failure messages show the shim's name.
inline void PrintTo(const ShimKind& kind, std::ostream* os) { *os << kind.name; }

// The containerd address the tests name (no containerd listens there), the Task
// service containerd 2.3 calls, and where scripts/install-deps.sh installs
// containerd-shim-runc-v2 2.3 and runc 1.4.
inline constexpr const char* kGrpcAddress = "/run/berth-shimtest.sock";
inline constexpr const char* kTaskService = "containerd.task.v3.Task";
inline constexpr const char* kDepsBin = "/opt/berth-deps/bin";

struct StartOutput {
  int status = -1;
  std::string output;  // stdout and stderr, as containerd reads them
};
// Runs `binary -namespace ns -address kGrpcAddress -publish-binary /bin/false -id id
// start` in `bundle` with `stdin_bytes` on stdin and `env_extra` added to the test's
// environment (without containerd's own variables).
StartOutput RunStartAction(const std::string& binary, const std::string& ns, const std::string& id,
                           const std::string& bundle, const std::string& stdin_bytes,
                           const std::vector<std::string>& env_extra);
// The BootstrapParams containerd 2.3 writes to `start`: `options` (a serialized Any,
// may be empty) as the extension.
std::string BootstrapParamsFor(const std::string& ns, const std::string& id,
                               const std::string& events_socket, const std::string& options,
                               const std::string& socket_dir = "");
// containerd 2.3's environment for a shim, TTRPC_ADDRESS = events_socket.
std::vector<std::string> ContainerdEnvironment(const std::string& ns, const std::string& events_socket);

// One started shim (one `start`), its socket and a client.
class ShimProcess {
 public:
  // Starts the shim as containerd 2.3 does (bootstrap protocol; TTRPC_ADDRESS =
  // events_socket; `options`, a serialized Any, may be empty) and connects to it.
  static std::unique_ptr<ShimProcess> Start(LoopThread& loop, const std::string& binary,
                                            const std::string& ns, const std::string& id,
                                            const std::string& bundle,
                                            const std::string& events_socket,
                                            const std::string& options, std::string* error);
  // Connects to the shim serving `address` (its pid from Connect); it is killed with
  // this object if still alive.
  static std::unique_ptr<ShimProcess> Attach(LoopThread& loop, const std::string& address,
                                             const std::string& id, std::string* error);
  ~ShimProcess();

  const std::string& address() const { return address_; }
  std::string socket_path() const;
  pid_t pid() const { return pid_; }
  ttrpc::Client& client() { return *client_; }

  // A Task call with messages; the status is returned, the reply parsed into `resp`.
  ttrpc::Status Call(const std::string& method, const google::protobuf::MessageLite& req,
                     google::protobuf::MessageLite& resp,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The same with a raw payload and no reply parsing.
  ttrpc::CallResult CallRaw(const std::string& service, const std::string& method,
                            const std::string& payload);

  // Runs `binary ... -id id -bundle bundle delete` and returns its stdout.
  static std::string RunDelete(const std::string& binary, const std::string& ns,
                               const std::string& id, const std::string& bundle);

 private:
  ShimProcess() = default;
  std::string address_;
  pid_t pid_ = 0;
  std::unique_ptr<ttrpc::Client> client_;
};

// A bundle whose config.json (runc's default spec) runs `args` on the shared busybox
// rootfs, with its cgroup at /<id>.
// `edit` may change the config before it is written.
std::string MakeBundle(const std::string& dir, const std::string& id,
                       const std::vector<std::string>& args,
                       const std::function<void(nlohmann::json&)>& edit = nullptr);

// A containerd.runc.v1.Options Any with `root` as the runtime root.
std::string RuncOptionsAny(const std::string& root);

bool ProcessAlive(pid_t pid);

}  // namespace berth::shimtest
