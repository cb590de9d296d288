#include "ttrpc/protobuf_payload.h"

#include "ttrpc/wire.h"

namespace berth::ttrpc {

namespace {

std::string ShortTypeName(const google::protobuf::MessageLite& message) {
  std::string name = message.GetTypeName();
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Walks the fields of one message level the way gogo's generated Unmarshal does,
// without knowing the schema; returns its error text or "".
std::string ScanFields(std::string_view b, const std::string& type_name) {
  while (!b.empty()) {
    wire::Varint key = wire::DecodeVarint(b);
    if (key.length == 0) return std::string(wire::kUnexpectedEof);
    b.remove_prefix(key.length);
    uint64_t field = key.value >> 3;
    int wire_type = static_cast<int>(key.value & 7);
    if (wire_type == wire::kEndGroup) return "proto: " + type_name + ": wiretype end group for non-group";
    if (field == 0) {
      return "proto: " + type_name + ": illegal tag 0 (wire type " + std::to_string(wire_type) + ")";
    }
    std::string error;
    std::string_view rest = wire::SkipField(b, wire_type, error);
    if (!error.empty()) return error;
    b = rest;
  }
  return "";
}

}  // namespace

std::string DescribeInvalidPayload(std::string_view payload, const google::protobuf::MessageLite& message) {
  std::string structural = ScanFields(payload, ShortTypeName(message));
  if (!structural.empty()) return structural;
  return "proto: cannot parse invalid wire-format data for " + message.GetTypeName();
}

Status InvalidPayloadStatus(std::string_view payload, const google::protobuf::MessageLite& message) {
  return Status(Code::kInternal, "ttrpc: error unmarshalling payload: " + DescribeInvalidPayload(payload, message));
}

Status CallWithMessages(Client& client, std::string_view service, std::string_view method,
                        const google::protobuf::MessageLite& request,
                        google::protobuf::MessageLite& response, const CallOptions& options) {
  CallResult result = client.Call(service, method, request.SerializeAsString(), options);
  if (!result.status.ok()) return result.status;
  if (!response.ParseFromString(result.payload)) {
    return Status(Code::kInternal, "ttrpc: invalid reply payload: " + DescribeInvalidPayload(result.payload, response));
  }
  return result.status;
}

}  // namespace berth::ttrpc
