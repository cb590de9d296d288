// The answer to one task request. The task core speaks containerd.task.v2 messages;
// the v2 service hands it the call's Responder as is, and the v1 service
// (shim_v1_service.h) a handler that turns the v2 answer into the v1 message, and may
// answer later (after the events it must precede were delivered). Errors go straight
// to the responder: both APIs use the same statuses.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "ttrpc/server.h"
#include "ttrpc/status.h"

namespace berth::shim {

class Reply {
 public:
  // Gets the responder and the serialized v2 answer; must answer the responder.
  using OkHandler = std::move_only_function<void(ttrpc::Responder, std::string)>;

  Reply() = default;
  explicit Reply(ttrpc::Responder responder, OkHandler on_ok = nullptr)
      : responder_(std::move(responder)), on_ok_(std::move(on_ok)) {}
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&&) noexcept = default;

  void Ok(std::string payload) {
    if (responder_.answered()) return;
    if (!on_ok_) return responder_.Reply(payload);
    auto on_ok = std::move(on_ok_);
    on_ok_ = nullptr;
    on_ok(std::move(responder_), std::move(payload));
  }
  void With(const google::protobuf::MessageLite& message) { Ok(message.SerializeAsString()); }
  void Fail(ttrpc::Status status) { responder_.Fail(std::move(status)); }
  bool answered() const { return responder_.answered(); }

 private:
  ttrpc::Responder responder_;
  OkHandler on_ok_;
};

}  // namespace berth::shim
