#include "shim/shim_v1_service.h"

#include <unistd.h>

#include <google/protobuf/empty.pb.h>

#include "shim/errors.h"
#include "shim/log.h"
#include "ttrpc/protobuf_payload.h"

namespace berth::shim {

namespace v1 = containerd::runtime::linux::shim::v1;
using namespace std::chrono_literals;

namespace {

// How long Exec and Delete wait for their events to reach containerd before they
// answer anyway (containerd away: the events stay queued, the API does not hang).
constexpr auto kEventWait = 5s;

// A reply whose v2 answer `V2` becomes a v1 message through `convert`.
template <class V2, class Convert>
Reply::OkHandler Translate(Convert convert) {
  return [convert = std::move(convert)](ttrpc::Responder r, std::string payload) {
    V2 answer;
    if (!answer.ParseFromString(payload))
      return r.Fail({ttrpc::Code::kInternal, "shim: invalid v2 answer " + answer.GetTypeName()});
    r.Reply(convert(answer).SerializeAsString());
  };
}

// v2 and v1 DeleteResponse and WaitResponse carry the same fields.
template <class V1, class V2>
V1 ExitOf(const V2& a) {
  V1 out;
  if constexpr (requires { a.pid(); }) out.set_pid(a.pid());
  out.set_exit_status(a.exit_status());
  *out.mutable_exited_at() = a.exited_at();
  return out;
}

v1::StateResponse StateOf(const task::StateResponse& a) {
  v1::StateResponse out;
  out.set_id(a.id());
  out.set_bundle(a.bundle());
  out.set_pid(a.pid());
  out.set_status(a.status());
  out.set_stdin(a.stdin());
  out.set_stdout(a.stdout());
  out.set_stderr(a.stderr());
  out.set_terminal(a.terminal());
  out.set_exit_status(a.exit_status());
  *out.mutable_exited_at() = a.exited_at();
  return out;
}

}  // namespace

template <class Message, class Handler>
ttrpc::MethodHandler ShimV1Service::Method(Handler handler) {
  return [this, handler = std::move(handler)](ttrpc::Request call, ttrpc::Responder r) {
    core_.NoteActivity();
    auto req = ttrpc::ParsePayload<Message>(call, r);
    if (!req) return;
    handler(*req, std::move(r));
  };
}

std::optional<ShimV1Service::Ids> ShimV1Service::ProcessIds(const std::string& v1_id,
                                                           ttrpc::Responder& r) const {
  // containerd-shim's getExecProcess.
  if (id_.empty()) {
    r.Fail(NotFound("process " + v1_id + " does not exist"));
    return std::nullopt;
  }
  return Ids{id_, v1_id == id_ ? "" : v1_id};
}

std::optional<std::string> ShimV1Service::ContainerId(ttrpc::Responder& r) const {
  // containerd-shim's getInitProcess.
  if (id_.empty()) {
    r.Fail(FailedPrecondition("container must be created"));
    return std::nullopt;
  }
  return id_;
}

Reply ShimV1Service::AfterEvents(ttrpc::Responder r, Reply::OkHandler then) {
  return Reply(std::move(r), [this, then = std::move(then)](ttrpc::Responder r,
                                                             std::string payload) mutable {
    // Flush keeps copyable callbacks; the responder and handler are move-only.
    auto held = std::make_shared<std::pair<ttrpc::Responder, Reply::OkHandler>>(std::move(r),
                                                                                std::move(then));
    events_.Flush(kEventWait, [held, payload = std::move(payload)]() mutable {
      held->second(std::move(held->first), std::move(payload));
    });
  });
}

ttrpc::ServiceMethods ShimV1Service::Methods() {
  using Empty = google::protobuf::Empty;
  ttrpc::ServiceMethods m;
  m["Create"] = Method<v1::CreateTaskRequest>([this](const auto& req, ttrpc::Responder r) {
    Create(req, std::move(r));
  });
  m["Start"] = Method<v1::StartRequest>([this](const auto& req, ttrpc::Responder r) {
    auto ids = ProcessIds(req.id(), r);
    if (!ids) return;
    task::StartRequest v2;
    v2.set_id(ids->id);
    v2.set_exec_id(ids->exec_id);
    core_.Start(v2, Reply(std::move(r), Translate<task::StartResponse>([id = req.id()](const auto& a) {
                  v1::StartResponse out;
                  out.set_id(id);
                  out.set_pid(a.pid());
                  return out;
                })));
  });
  m["Delete"] = Method<Empty>([this](const auto&, ttrpc::Responder r) { Delete(std::move(r)); });
  m["DeleteProcess"] = Method<v1::DeleteProcessRequest>([this](const auto& req, ttrpc::Responder r) {
    DeleteProcess(req.id(), std::move(r));
  });
  m["Exec"] = Method<v1::ExecProcessRequest>([this](const auto& req, ttrpc::Responder r) {
    Exec(req, std::move(r));
  });
  m["Wait"] = Method<v1::WaitRequest>([this](const auto& req, ttrpc::Responder r) {
    auto ids = ProcessIds(req.id(), r);
    if (!ids) return;
    task::WaitRequest v2;
    v2.set_id(ids->id);
    v2.set_exec_id(ids->exec_id);
    core_.Wait(v2, Reply(std::move(r), Translate<task::WaitResponse>(ExitOf<v1::WaitResponse, task::WaitResponse>)));
  });
  m["State"] = Method<v1::StateRequest>([this](const auto& req, ttrpc::Responder r) {
    auto ids = ProcessIds(req.id(), r);
    if (!ids) return;
    task::StateRequest v2;
    v2.set_id(ids->id);
    v2.set_exec_id(ids->exec_id);
    core_.State(v2, Reply(std::move(r), Translate<task::StateResponse>(StateOf)));
  });
  m["Kill"] = Method<v1::KillRequest>([this](const auto& req, ttrpc::Responder r) {
    // An empty id is the init.
    auto ids = ProcessIds(req.id().empty() ? id_ : req.id(), r);
    if (!ids) return;
    task::KillRequest v2;
    v2.set_id(ids->id);
    v2.set_exec_id(ids->exec_id);
    v2.set_signal(req.signal());
    v2.set_all(req.all());
    core_.Kill(v2, Reply(std::move(r)));
  });
  m["ListPids"] = Method<v1::ListPidsRequest>([this](const auto& req, ttrpc::Responder r) {
    auto id = ContainerId(r);
    if (!id) return;
    task::PidsRequest v2;
    v2.set_id(req.id().empty() ? *id : req.id());
    core_.Pids(v2, Reply(std::move(r), Translate<task::PidsResponse>([](const auto& a) {
                 v1::ListPidsResponse out;
                 *out.mutable_processes() = a.processes();
                 return out;
               })));
  });
  for (bool pause : {true, false}) {
    m[pause ? "Pause" : "Resume"] = Method<Empty>([this, pause](const auto&, ttrpc::Responder r) {
      auto id = ContainerId(r);
      if (!id) return;
      core_.Pause(*id, pause, Reply(std::move(r)));
    });
  }
  m["Checkpoint"] = Method<v1::CheckpointTaskRequest>([this](const auto& req, ttrpc::Responder r) {
    auto id = ContainerId(r);
    if (!id) return;
    task::CheckpointTaskRequest v2;
    v2.set_id(*id);
    v2.set_path(req.path());
    *v2.mutable_options() = req.options();
    core_.Checkpoint(v2, Reply(std::move(r)));
  });
  m["Update"] = Method<v1::UpdateTaskRequest>([this](const auto& req, ttrpc::Responder r) {
    auto id = ContainerId(r);
    if (!id) return;
    task::UpdateTaskRequest v2;
    v2.set_id(*id);
    *v2.mutable_resources() = req.resources();
    core_.Update(v2, Reply(std::move(r)));
  });
  m["ResizePty"] = Method<v1::ResizePtyRequest>([this](const auto& req, ttrpc::Responder r) {
    if (req.id().empty()) return r.Fail(InvalidArgument("id not provided"));
    auto ids = ProcessIds(req.id(), r);
    if (!ids) return;
    task::ResizePtyRequest v2;
    v2.set_id(ids->id);
    v2.set_exec_id(ids->exec_id);
    v2.set_width(req.width());
    v2.set_height(req.height());
    core_.ResizePty(v2, Reply(std::move(r)));
  });
  m["CloseIO"] = Method<v1::CloseIORequest>([this](const auto& req, ttrpc::Responder r) {
    auto ids = ProcessIds(req.id(), r);
    if (!ids) return;
    task::CloseIORequest v2;
    v2.set_id(ids->id);
    v2.set_exec_id(ids->exec_id);
    v2.set_stdin(req.stdin());
    core_.CloseIO(v2, Reply(std::move(r)));
  });
  m["ShimInfo"] = Method<Empty>([](const auto&, ttrpc::Responder r) {
    v1::ShimInfoResponse out;
    out.set_shim_pid(static_cast<uint32_t>(::getpid()));
    ttrpc::ReplyWith(r, out);
  });
  return m;
}

void ShimV1Service::Create(const v1::CreateTaskRequest& req, ttrpc::Responder r) {
  // One container per v1 shim (a failed Create leaves none, so it may come again).
  if (core_.container_count() > 0) return r.Fail(AlreadyExists("id " + req.id()));
  if (!req.runtime().empty()) LogDebug("create " + req.id() + ": runtime " + req.runtime() + " is berth's library");
  task::CreateTaskRequest v2;
  v2.set_id(req.id());
  v2.set_bundle(req.bundle());
  *v2.mutable_rootfs() = req.rootfs();
  v2.set_terminal(req.terminal());
  v2.set_stdin(req.stdin());
  v2.set_stdout(req.stdout());
  v2.set_stderr(req.stderr());
  v2.set_checkpoint(req.checkpoint());
  v2.set_parent_checkpoint(req.parent_checkpoint());
  *v2.mutable_options() = req.options();
  id_ = req.id();
  core_.Create(std::move(v2), Reply(std::move(r), Translate<task::CreateTaskResponse>([](const auto& a) {
                 v1::CreateTaskResponse out;
                 out.set_pid(a.pid());
                 return out;
               })));
}

void ShimV1Service::Exec(const v1::ExecProcessRequest& req, ttrpc::Responder r) {
  auto id = ContainerId(r);
  if (!id) return;
  // Exec ids and the container's share one namespace in v1.
  if (req.id() == *id) return r.Fail(AlreadyExists("id " + req.id()));
  task::ExecProcessRequest v2;
  v2.set_id(*id);
  v2.set_exec_id(req.id());
  v2.set_terminal(req.terminal());
  v2.set_stdin(req.stdin());
  v2.set_stdout(req.stdout());
  v2.set_stderr(req.stderr());
  *v2.mutable_spec() = req.spec();
  // TaskExecAdded reaches containerd before the answer, so before containerd's
  // TaskExecStarted for this exec.
  core_.Exec(v2, AfterEvents(std::move(r), [](ttrpc::Responder r, std::string) { r.Reply(""); }));
}

void ShimV1Service::Delete(ttrpc::Responder r) {
  auto id = ContainerId(r);
  if (!id) return;
  task::DeleteRequest v2;
  v2.set_id(*id);
  core_.Delete(v2, AfterEvents(std::move(r), Translate<task::DeleteResponse>(
                                                 ExitOf<v1::DeleteResponse, task::DeleteResponse>)));
}

void ShimV1Service::DeleteProcess(const std::string& v1_id, ttrpc::Responder r) {
  if (!id_.empty() && v1_id == id_)
    return r.Fail({ttrpc::Code::kInvalidArgument, "cannot delete init process with DeleteProcess"});
  auto ids = ProcessIds(v1_id, r);
  if (!ids) return;
  task::DeleteRequest v2;
  v2.set_id(ids->id);
  v2.set_exec_id(ids->exec_id);
  core_.Delete(v2, Reply(std::move(r), Translate<task::DeleteResponse>(
                                           ExitOf<v1::DeleteResponse, task::DeleteResponse>)));
}

}  // namespace berth::shim
