// Helpers between ttrpc payloads and generated protobuf-lite messages (berth_proto).
#pragma once

#include <google/protobuf/message_lite.h>

#include <functional>
#include <optional>
#include <string>

#include "ttrpc/client.h"
#include "ttrpc/server.h"

namespace berth::ttrpc {

// Why `payload` does not parse as `message`, worded like gogo's generated Unmarshal
// where the wire structure tells ("unexpected EOF", "proto: StateRequest: illegal tag 0
// (wire type 0)"), else protobuf's verdict.
std::string DescribeInvalidPayload(std::string_view payload, const google::protobuf::MessageLite& message);

// The status ttrpc-go answers when a payload does not unmarshal into the method's
// request type: code 13 "ttrpc: error unmarshalling payload: <reason>".
Status InvalidPayloadStatus(std::string_view payload, const google::protobuf::MessageLite& message);

// Parses the request payload; on failure answers InvalidPayloadStatus and returns
// nullopt (the responder is then spent).
template <class Message>
std::optional<Message> ParsePayload(const Request& request, Responder& responder) {
  Message message;
  if (!message.ParseFromString(request.payload)) {
    responder.Fail(InvalidPayloadStatus(request.payload, message));
    return std::nullopt;
  }
  return message;
}

inline void ReplyWith(Responder& responder, const google::protobuf::MessageLite& message) {
  responder.Reply(message.SerializeAsString());
}

// A method whose request is `RequestMessage`: the payload is parsed before `handler`
// runs, and a bad one is answered like ttrpc-go (code 13).
template <class RequestMessage>
MethodHandler TypedMethod(std::function<void(RequestMessage, Request&, Responder)> handler) {
  return [handler = std::move(handler)](Request request, Responder responder) {
    std::optional<RequestMessage> message = ParsePayload<RequestMessage>(request, responder);
    if (!message) return;
    handler(std::move(*message), request, std::move(responder));
  };
}

// A blocking call with messages. An OK status whose payload does not parse as
// `response` becomes code 13.
Status CallWithMessages(Client& client, std::string_view service, std::string_view method,
                        const google::protobuf::MessageLite& request,
                        google::protobuf::MessageLite& response, const CallOptions& options = {});

}  // namespace berth::ttrpc
