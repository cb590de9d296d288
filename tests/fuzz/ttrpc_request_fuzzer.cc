// libFuzzer target: the ttrpc frame decoder and the Request/Response decoders, the
// code that reads what an untrusted peer sends before any handler runs.
//
// Besides "no crash, no UB" it checks properties:
//  - whatever the chunking, the decoder yields the same frames;
//  - a Request or Response that decodes re-encodes to something that decodes to the
//    same value (for a Response with code 0, the message is not kept).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ttrpc/frame.h"
#include "ttrpc/messages.h"

namespace {

using berth::ttrpc::DecodeRequest;
using berth::ttrpc::DecodeResponse;
using berth::ttrpc::FrameDecoder;
using berth::ttrpc::Request;
using berth::ttrpc::Response;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckRequestRoundTrip(std::string_view body) {
  Request request;
  std::string error;
  if (!DecodeRequest(body, request, error)) {
    Check(!error.empty());
    return;
  }
  std::string again;
  EncodeRequest(request, again);
  Request back;
  Check(DecodeRequest(again, back, error));
  Check(back == request);
}

void CheckResponseRoundTrip(std::string_view body) {
  Response response;
  std::string error;
  if (!DecodeResponse(body, response, error)) return;
  std::string again;
  EncodeResponse(response.status, response.payload, again);
  Response back;
  Check(DecodeResponse(again, back, error));
  // Code 0 is OK whatever the message says (as in grpc-go), and OK is sent without a status.
  Check(back.status.code == response.status.code);
  Check(response.status.code == 0 || back.status.message == response.status.message);
  Check(back.payload == response.payload);
}

struct Seen {
  uint32_t length, stream_id;
  uint8_t type;
  bool oversized;
  std::string body;
  bool operator==(const Seen&) const = default;
};

// A small limit so that the oversized path is reached with small inputs.
constexpr uint32_t kFuzzLimit = 256;

std::vector<Seen> DecodeFrames(std::string_view input, size_t chunk) {
  FrameDecoder decoder(kFuzzLimit);
  std::vector<Seen> seen;
  for (size_t offset = 0; offset < input.size(); offset += chunk) {
    decoder.Append(input.substr(offset, chunk));
    while (auto frame = decoder.Next()) {
      Check(frame->oversized == (frame->header.length > kFuzzLimit));
      Check(frame->oversized || frame->body.size() == frame->header.length);
      seen.push_back({frame->header.length, frame->header.stream_id, frame->header.type, frame->oversized,
                      std::string(frame->body)});
    }
    decoder.ReleaseMemory();
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckRequestRoundTrip(input);
  CheckResponseRoundTrip(input);

  std::vector<Seen> whole = DecodeFrames(input, input.size() + 1);
  size_t chunk = size > 0 ? 1 + data[0] % 17 : 1;
  Check(DecodeFrames(input, chunk) == whole);
  for (const Seen& frame : whole) {
    if (!frame.oversized) {
      CheckRequestRoundTrip(frame.body);
      CheckResponseRoundTrip(frame.body);
    }
  }
  return 0;
}
