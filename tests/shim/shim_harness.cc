#include "tests/shim/shim_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/runtime/bootstrap/v1/bootstrap.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "tests/integration/harness.h"
#include "ttrpc/protobuf_payload.h"

extern char** environ;

namespace berth::shimtest {

namespace events = containerd::events;
namespace boot = containerd::runtime::bootstrap::v1;

LoopThread::LoopThread() {
  loop_ = std::move(*ttrpc::EventLoop::Create());
  thread_ = std::thread([this] { (void)loop_->Run(); });
}

LoopThread::~LoopThread() {
  loop_->Stop();
  thread_.join();
}

void LoopThread::Sync(std::function<void()> f) {
  std::promise<void> done;
  loop_->Post([&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}

namespace {

void Decode(RecordedEvent& e) {
  auto take = [&](auto msg) {
    if (msg.ParseFromString(e.value)) return msg;
    return decltype(msg){};
  };
  if (e.type_url == "containerd.events.TaskExit") {
    auto m = take(events::TaskExit{});
    e.container_id = m.container_id();
    e.process_id = m.id();
    e.exit_status = m.exit_status();
  } else if (e.type_url == "containerd.events.TaskDelete") {
    auto m = take(events::TaskDelete{});
    e.container_id = m.container_id();
    e.process_id = m.container_id();
    e.exit_status = m.exit_status();
  } else if (e.type_url == "containerd.events.TaskExecAdded") {
    auto m = take(events::TaskExecAdded{});
    e.container_id = m.container_id();
    e.process_id = m.exec_id();
  } else if (e.type_url == "containerd.events.TaskExecStarted") {
    auto m = take(events::TaskExecStarted{});
    e.container_id = m.container_id();
    e.process_id = m.exec_id();
  } else if (e.type_url == "containerd.events.TaskCreate") {
    e.container_id = take(events::TaskCreate{}).container_id();
    e.process_id = e.container_id;
  } else if (e.type_url == "containerd.events.TaskStart") {
    e.container_id = take(events::TaskStart{}).container_id();
    e.process_id = e.container_id;
  } else if (e.type_url == "containerd.events.TaskPaused") {
    e.container_id = take(events::TaskPaused{}).container_id();
  } else if (e.type_url == "containerd.events.TaskResumed") {
    e.container_id = take(events::TaskResumed{}).container_id();
  } else if (e.type_url == "containerd.events.TaskOOM") {
    e.container_id = take(events::TaskOOM{}).container_id();
  } else if (e.type_url == "containerd.events.TaskCheckpointed") {
    e.container_id = take(events::TaskCheckpointed{}).container_id();
  }
}

}  // namespace

FakeEvents::FakeEvents(LoopThread& loop, const std::string& socket_path) : loop_(loop) {
  loop_.Sync([&] {
    server_ = std::make_unique<ttrpc::Server>(loop_.loop());
    ttrpc::ServiceMethods methods;
    methods["Forward"] = ttrpc::TypedMethod<containerd::services::events::ttrpc::v1::ForwardRequest>(
        [this](containerd::services::events::ttrpc::v1::ForwardRequest req, ttrpc::Request& call,
               ttrpc::Responder r) {
          std::lock_guard lock(mu_);
          if (unavailable_) return r.Fail(ttrpc::Status(ttrpc::Code::kUnavailable, "away"));
          RecordedEvent e;
          e.topic = req.envelope().topic();
          e.type_url = req.envelope().event().type_url();
          e.value = req.envelope().event().value();
          e.namespace_ = req.envelope().namespace_();
          if (auto ns = ttrpc::FindMetadata(call.metadata, "containerd-namespace-ttrpc"))
            e.metadata_ns = std::string(*ns);
          Decode(e);
          events_.push_back(std::move(e));
          cv_.notify_all();
          r.Reply("");
        });
    (void)server_->Register("containerd.services.events.ttrpc.v1.Events", std::move(methods));
    auto listening = server_->Listen(socket_path);
    if (!listening) ADD_FAILURE() << "fake events: " << listening.error().message;
  });
}

FakeEvents::~FakeEvents() {
  loop_.Sync([&] { server_.reset(); });
}

std::vector<RecordedEvent> FakeEvents::Events() {
  std::lock_guard lock(mu_);
  return events_;
}

bool FakeEvents::WaitFor(const std::function<bool(const std::vector<RecordedEvent>&)>& pred,
                         std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
}

void FakeEvents::SetUnavailable(bool unavailable) {
  std::lock_guard lock(mu_);
  unavailable_ = unavailable;
}

StartOutput RunStartAction(const std::string& binary, const std::string& ns, const std::string& id,
                           const std::string& bundle, const std::string& stdin_bytes,
                           const std::vector<std::string>& env_extra) {
  StartOutput result;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0) return result;
  std::vector<std::string> args{binary, "-namespace", ns, "-address", kGrpcAddress,
                                "-publish-binary", "/bin/false", "-id", id, "start"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // What containerd sets for its shims is the test's to choose.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (!v.starts_with("TTRPC_ADDRESS=") && !v.starts_with("GRPC_ADDRESS=") &&
        !v.starts_with("NAMESPACE=") && !v.starts_with("MAX_SHIM_VERSION="))
      env.push_back(*e);
  }
  env.insert(env.end(), env_extra.begin(), env_extra.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    if (::chdir(bundle.c_str()) < 0) ::_exit(126);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  (void)!::write(in[1], stdin_bytes.data(), stdin_bytes.size());
  ::close(in[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string BootstrapParamsFor(const std::string& ns, const std::string& id,
                               const std::string& events_socket, const std::string& options,
                               const std::string& socket_dir) {
  boot::BootstrapParams params;
  params.set_instance_id(id);
  params.set_namespace_(ns);
  params.set_containerd_version("v2.3.7");
  params.set_containerd_grpc_address(kGrpcAddress);
  params.set_containerd_ttrpc_address(events_socket);
  params.set_containerd_binary("/bin/false");
  if (!socket_dir.empty()) params.set_socket_dir(socket_dir);
  if (!options.empty()) params.add_extensions()->mutable_value()->ParseFromString(options);
  return params.SerializeAsString();
}

std::vector<std::string> ContainerdEnvironment(const std::string& ns, const std::string& events_socket) {
  // containerd 2.3's pkg/shim Command; runc-v2 finds runc 1.4 on the PATH.
  const char* path = ::getenv("PATH");
  return {"GOMAXPROCS=2", "MAX_SHIM_VERSION=2", "TTRPC_ADDRESS=" + events_socket,
          std::string("GRPC_ADDRESS=") + kGrpcAddress, "NAMESPACE=" + ns,
          std::string("PATH=") + kDepsBin + ":" + (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin")};
}

std::unique_ptr<ShimProcess> ShimProcess::Start(LoopThread& loop, const std::string& binary,
                                                const std::string& ns, const std::string& id,
                                                const std::string& bundle,
                                                const std::string& events_socket,
                                                const std::string& options, std::string* error) {
  StartOutput started = RunStartAction(binary, ns, id, bundle,
                                       BootstrapParamsFor(ns, id, events_socket, options),
                                       ContainerdEnvironment(ns, events_socket));
  boot::BootstrapResult result;
  if (started.status != 0 || !result.ParseFromString(started.output) || result.version() != 3 ||
      result.protocol() != "ttrpc") {
    *error = "start (status " + std::to_string(started.status) +
             ") did not answer a version 3 ttrpc BootstrapResult: " + started.output;
    return nullptr;
  }
  return Attach(loop, result.address(), id, error);
}

std::unique_ptr<ShimProcess> ShimProcess::Attach(LoopThread& loop, const std::string& address,
                                                 const std::string& id, std::string* error) {
  std::unique_ptr<ShimProcess> shim(new ShimProcess());
  shim->address_ = address;
  auto client = ttrpc::Client::Dial(loop.loop(), shim->socket_path());
  if (!client) {
    *error = "dial " + address + ": " + client.error().message;
    return nullptr;
  }
  shim->client_ = std::make_unique<ttrpc::Client>(std::move(*client));
  containerd::task::v2::ConnectRequest req;
  req.set_id(id);
  containerd::task::v2::ConnectResponse resp;  // v3's messages are v2's
  ttrpc::Status s = shim->Call("Connect", req, resp);
  if (!s.ok()) {
    *error = "connect: " + s.ToString();
    return nullptr;
  }
  shim->pid_ = static_cast<pid_t>(resp.shim_pid());
  return shim;
}

ShimProcess::~ShimProcess() {
  if (client_) client_->Close();
  // A shim a test left behind: it is ours, and it goes.
  if (pid_ > 0 && ProcessAlive(pid_)) ::kill(pid_, SIGKILL);
  ::unlink(socket_path().c_str());
}

std::string ShimProcess::socket_path() const {
  const std::string scheme = "unix://";
  return address_.rfind(scheme, 0) == 0 ? address_.substr(scheme.size()) : "@" + address_;
}

ttrpc::Status ShimProcess::Call(const std::string& method, const google::protobuf::MessageLite& req,
                                google::protobuf::MessageLite& resp,
                                std::chrono::milliseconds timeout) {
  ttrpc::CallOptions options;
  options.timeout = timeout;
  return ttrpc::CallWithMessages(*client_, kTaskService, method, req, resp, options);
}

ttrpc::CallResult ShimProcess::CallRaw(const std::string& service, const std::string& method,
                                       const std::string& payload) {
  ttrpc::CallOptions options;
  options.timeout = std::chrono::seconds(10);
  return client_->Call(service, method, payload, options);
}

std::string ShimProcess::RunDelete(const std::string& binary, const std::string& ns,
                                   const std::string& id, const std::string& bundle) {
  // runc's shim finds the bundle from its working directory, whatever -bundle says.
  auto r = testing::RunCommand({"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", bundle, binary,
                                "-namespace", ns, "-address", kGrpcAddress,
                                "-publish-binary", "/bin/false", "-id", id, "-bundle", bundle,
                                "delete"});
  return r.out;
}

std::string MakeBundle(const std::string& dir, const std::string& id,
                       const std::vector<std::string>& args,
                       const std::function<void(nlohmann::json&)>& edit) {
  std::string bundle = dir + "/" + id;
  ::mkdir(bundle.c_str(), 0711);
  auto spec = testing::RunCommand({BERTH_BINARY, "spec", "--bundle", bundle});
  EXPECT_EQ(spec.status, 0) << spec.err;
  std::ifstream in(bundle + "/config.json");
  nlohmann::json j = nlohmann::json::parse(in);
  j["process"]["args"] = args;
  j["process"]["terminal"] = false;
  j["root"]["path"] = testing::SharedRootfs();
  j["root"]["readonly"] = true;
  j["linux"]["cgroupsPath"] = "/" + id;
  if (edit) edit(j);
  std::ofstream(bundle + "/config.json") << j.dump();
  return bundle;
}

std::string RuncOptionsAny(const std::string& root) {
  containerd::runc::v1::Options o;
  o.set_root(root);
  google::protobuf::Any any;
  any.set_type_url("containerd.runc.v1.Options");
  any.set_value(o.SerializeAsString());
  return any.SerializeAsString();
}

bool ProcessAlive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  auto close = stat.rfind(')');
  return !stat.empty() && close != std::string::npos && close + 2 < stat.size() &&
         stat[close + 2] != 'Z';
}

}  // namespace berth::shimtest
