#include "shim/task_service.h"

#include <unistd.h>

#include "ttrpc/protobuf_payload.h"

namespace berth::shim {
namespace {

// A method taking `Message`: parsed first, then handed on with the responder as the
// reply (no translation: the core speaks v2).
template <class Message, class Handler>
ttrpc::MethodHandler V2Method(TaskCore& core, Handler handler) {
  return [&core, handler = std::move(handler)](ttrpc::Request call, ttrpc::Responder r) {
    core.NoteActivity();
    auto req = ttrpc::ParsePayload<Message>(call, r);
    if (!req) return;
    handler(std::move(*req), Reply(std::move(r)));
  };
}

}  // namespace

ttrpc::ServiceMethods TaskService::Methods() {
  TaskCore& c = core_;
  ttrpc::ServiceMethods m;
  m["Create"] = V2Method<task::CreateTaskRequest>(c, [&c](auto req, Reply r) {
    c.Create(std::move(req), std::move(r));
  });
  m["Start"] = V2Method<task::StartRequest>(c, [&c](auto req, Reply r) { c.Start(req, std::move(r)); });
  m["Delete"] = V2Method<task::DeleteRequest>(c, [&c](auto req, Reply r) { c.Delete(req, std::move(r)); });
  m["Exec"] = V2Method<task::ExecProcessRequest>(c, [&c](auto req, Reply r) { c.Exec(req, std::move(r)); });
  m["Wait"] = V2Method<task::WaitRequest>(c, [&c](auto req, Reply r) { c.Wait(req, std::move(r)); });
  m["State"] = V2Method<task::StateRequest>(c, [&c](auto req, Reply r) { c.State(req, std::move(r)); });
  m["Kill"] = V2Method<task::KillRequest>(c, [&c](auto req, Reply r) { c.Kill(req, std::move(r)); });
  m["Pids"] = V2Method<task::PidsRequest>(c, [&c](auto req, Reply r) { c.Pids(req, std::move(r)); });
  m["Pause"] = V2Method<task::PauseRequest>(c, [&c](auto req, Reply r) {
    c.Pause(req.id(), true, std::move(r));
  });
  m["Resume"] = V2Method<task::ResumeRequest>(c, [&c](auto req, Reply r) {
    c.Pause(req.id(), false, std::move(r));
  });
  m["Update"] = V2Method<task::UpdateTaskRequest>(c, [&c](auto req, Reply r) { c.Update(req, std::move(r)); });
  m["Stats"] = V2Method<task::StatsRequest>(c, [&c](auto req, Reply r) { c.Stats(req, std::move(r)); });
  m["ResizePty"] = V2Method<task::ResizePtyRequest>(c, [&c](auto req, Reply r) {
    c.ResizePty(req, std::move(r));
  });
  m["CloseIO"] = V2Method<task::CloseIORequest>(c, [&c](auto req, Reply r) { c.CloseIO(req, std::move(r)); });
  m["Checkpoint"] = V2Method<task::CheckpointTaskRequest>(c, [&c](auto req, Reply r) {
    c.Checkpoint(req, std::move(r));
  });
  m["Connect"] = V2Method<task::ConnectRequest>(c, [this](auto req, Reply r) {
    Connect(req, std::move(r));
  });
  m["Shutdown"] = V2Method<task::ShutdownRequest>(c, [this](auto req, Reply r) {
    Shutdown(req, std::move(r));
  });
  return m;
}

void TaskService::Connect(const task::ConnectRequest& req, Reply r) {
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
  if (auto pid = core_.InitPid(req.id())) resp.set_task_pid(static_cast<uint32_t>(*pid));
  r.With(resp);
}

void TaskService::Shutdown(const task::ShutdownRequest&, Reply r) {
  r.Ok("");
  // Still serving containers (a group shares this shim): nothing to do.
  if (core_.container_count() > 0) return;
  if (on_shutdown_) on_shutdown_();
}

}  // namespace berth::shim
