// Differential tests: the same bytes go to ttrpc-go's server and to ours, and the
// answers must be identical byte for byte; and our Request decoder must agree with
// gogo/protobuf's on thousands of valid, mutated and random inputs.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "echo.pb.h"
#include "go_peer.h"
#include "server_fixture.h"
#include "ttrpc/wire.h"

namespace berth::ttrpc::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

struct RawStep {
  uint32_t stream_id;
  uint8_t type;
  std::string body;
};

struct Scenario {
  std::string name;
  std::vector<RawStep> send;
  size_t replies;  // how many frames to expect back
};

std::string EchoBody(const berth::test::v1::EchoRequest& request) {
  return RequestBody(kEchoService, "Echo", request.SerializeAsString());
}

std::vector<Scenario> Scenarios() {
  berth::test::v1::EchoRequest hello;
  hello.set_payload("hello");
  berth::test::v1::EchoRequest failing;
  failing.set_fail_code(7);
  failing.set_fail_message("permission denied: no");
  std::string with_metadata;
  EncodeRequest(kEchoService, "Echo", hello.SerializeAsString(), 0, {{"containerd-namespace-ttrpc", "ns"}},
                with_metadata);
  std::string empty = RequestBody(kEchoService, "Empty", "");
  return {
      {"echo", {{1, 1, EchoBody(hello)}}, 1},
      {"echo with metadata", {{3, 1, with_metadata}}, 1},
      {"alias", {{1, 1, RequestBody(kEchoAlias, "Echo", hello.SerializeAsString())}}, 1},
      {"empty reply", {{1, 1, empty}}, 1},
      {"handler error", {{1, 1, EchoBody(failing)}}, 1},
      {"unknown service", {{1, 1, RequestBody("x.y.Z", "Echo", "")}}, 1},
      {"unknown method", {{1, 1, RequestBody(kEchoService, "Nope", "")}}, 1},
      {"empty service", {{1, 1, RequestBody("", "", "")}}, 1},
      {"invalid payload", {{1, 1, RequestBody(kEchoService, "Echo", "\x0a\x05")}}, 1},
      // Not "payload tag 0": gogo names the Go type there ("main.EchoRequest" for the
      // peer's reflection-decoded type, "CreateTaskRequest" for generated ones).
      {"even stream id", {{2, 1, empty}}, 1},
      {"stream id 0", {{0, 1, empty}}, 1},
      {"largest odd stream id", {{0xffffffffu, 1, empty}}, 1},
      {"truncated request", {{1, 1, "\x0a\x09svc"}}, 1},
      {"request tag 0", {{1, 1, "\x00\x00"s}}, 1},
      {"request wire type 7", {{1, 1, "\x4f"}}, 1},
      {"request bad utf-8", {{1, 1, "\x0a\x02\xc3\x28"}}, 1},
      {"metadata tag 0", {{1, 1, "\x2a\x02\x00\x00"s}}, 1},
      {"invalid request on even stream", {{6, 1, "\x80"}}, 1},
      {"unknown and repeated fields", {{1, 1, "\x48\x05\x0a\x01x" + empty}}, 1},
      {"client response frame ignored", {{1, 2, "junk"}, {3, 1, empty}}, 1},
      {"unknown frame type ignored", {{1, 9, empty}, {3, 1, empty}}, 1},
      {"flags ignored", {{1, 1, empty}}, 1},
      {"oversized then request", {{5, 1, std::string(kMaxMessageLength + 1, 'o')}, {7, 1, empty}}, 2},
      {"oversized response frame from client", {{4, 2, std::string(kMaxMessageLength + 10, 'o')}}, 1},
  };
}

std::vector<std::string> Exchange(const std::string& socket, const Scenario& scenario) {
  RawConnection raw(socket);
  EXPECT_TRUE(raw.connected());
  for (const RawStep& step : scenario.send) {
    if (scenario.name == "flags ignored") {
      char header[kFrameHeaderLength];
      EncodeFrameHeader({static_cast<uint32_t>(step.body.size()), step.stream_id, step.type, 0xff}, header);
      raw.Send(std::string(header, sizeof(header)) + step.body);
    } else {
      raw.SendFrame(step.stream_id, step.type, step.body);
    }
  }
  std::vector<std::string> frames;
  for (size_t i = 0; i < scenario.replies; ++i) {
    auto frame = raw.ReadFrame(10s);
    if (!frame) break;
    char header[kFrameHeaderLength];
    EncodeFrameHeader(frame->header, header);
    frames.push_back(std::string(header, sizeof(header)) + frame->body);
  }
  // Nothing else may follow.
  if (auto extra = raw.ReadFrame(150ms)) frames.push_back("unexpected extra frame");
  return frames;
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

class WireDifferential : public ServerFixture {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_GO_PEER();
    ServerFixture::SetUp();
  }
};

TEST_F(WireDifferential, SameAnswersAsTtrpcGoByteForByte) {
  GoServer go(dir_.File("go.sock"));
  ASSERT_TRUE(go.ready());
  for (const Scenario& scenario : Scenarios()) {
    std::vector<std::string> from_go = Exchange(go.socket(), scenario);
    std::vector<std::string> from_us = Exchange(socket_, scenario);
    ASSERT_EQ(from_go.size(), scenario.replies) << scenario.name;
    ASSERT_EQ(from_us.size(), from_go.size()) << scenario.name;
    for (size_t i = 0; i < from_go.size(); ++i) {
      EXPECT_EQ(Hex(from_us[i]), Hex(from_go[i])) << scenario.name << ", reply " << i;
    }
  }
}

// ---- Request decoder vs gogo/protobuf ----

std::string Describe(std::string_view body) {
  Request request;
  std::string error;
  if (!DecodeRequest(body, request, error)) return "err " + error;
  std::string out = "ok " + Hex(request.service) + " " + Hex(request.method) + " " + Hex(request.payload) + " " +
                    std::to_string(request.timeout_nano);
  for (const KeyValue& kv : request.metadata) out += " " + Hex(kv.key) + "=" + Hex(kv.value);
  return out;
}

class InputGenerator {
 public:
  explicit InputGenerator(uint32_t seed) : rng_(seed) {}

  std::string Text() {
    static const std::vector<std::string> pieces = {"a", "containerd", "é", "\xff", "\xc3", "\xed\xa0\x80",
                                                    "\xf4\x90\x80\x80", "\xe0\x80\xaf", "", "ns", "\x00"s};
    std::string s;
    int n = Below(4);
    for (int i = 0; i < n; ++i) s += pieces[Below(static_cast<int>(pieces.size()))];
    return s;
  }

  std::string Valid() {
    Metadata metadata;
    int entries = Below(3);
    for (int i = 0; i < entries; ++i) metadata.push_back({Text(), Text()});
    int64_t timeouts[] = {0, 1, -1, 5'000'000'000, INT64_MIN, INT64_MAX};
    std::string body;
    EncodeRequest(Text(), Text(), Text(), timeouts[Below(6)], metadata, body);
    return body;
  }

  std::string Mutate(std::string s) {
    int edits = 1 + Below(3);
    for (int e = 0; e < edits; ++e) {
      switch (Below(7)) {
        case 0:  // flip a byte
          if (!s.empty()) s[Below(static_cast<int>(s.size()))] = static_cast<char>(rng_());
          break;
        case 1:  // truncate
          if (!s.empty()) s.resize(Below(static_cast<int>(s.size())));
          break;
        case 2:  // insert a random tag with some value bytes
        {
          std::string piece;
          wire::AppendVarint(piece, rng_() % 80);
          int extra = Below(4);
          for (int i = 0; i < extra; ++i) piece.push_back(static_cast<char>(rng_()));
          s.insert(Below(static_cast<int>(s.size()) + 1), piece);
          break;
        }
        case 3:  // insert a long varint
        {
          std::string piece;
          int n = 1 + Below(11);
          for (int i = 0; i < n; ++i) piece.push_back(static_cast<char>(0x80 | rng_()));
          piece.push_back(static_cast<char>(rng_() & 0x7f));
          s.insert(Below(static_cast<int>(s.size()) + 1), piece);
          break;
        }
        case 4:  // append another valid request (fields repeat)
          s += Valid();
          break;
        case 5:  // a group around something
          s = "\x5b" + s + (Below(2) ? "\x5c" : "");
          break;
        default:  // random bytes
        {
          int n = Below(6);
          for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(rng_()));
        }
      }
    }
    return s;
  }

  std::string Random() {
    std::string s(Below(24), '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }

  int Below(int n) { return n <= 0 ? 0 : static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

 private:
  std::mt19937 rng_;
};

TEST(RequestDecoderDifferential, AgreesWithGogoProtobuf) {
  BERTH_REQUIRE_GO_PEER();
  TempDir dir;
  InputGenerator gen(20240601);
  std::vector<std::string> inputs;
  for (int i = 0; i < 3000; ++i) inputs.push_back(gen.Valid());
  for (int i = 0; i < 15000; ++i) inputs.push_back(gen.Mutate(gen.Valid()));
  for (int i = 0; i < 3000; ++i) inputs.push_back(gen.Random());

  std::string input_path = dir.File("inputs.hex");
  {
    std::ofstream file(input_path);
    for (const std::string& input : inputs) file << Hex(input) << "\n";
  }
  const char* path = input_path.c_str();
  ChildProcess go({GoPeerPath(), "decode"}, [path] {
    int fd = ::open(path, O_RDONLY);
    if (fd < 0 || ::dup2(fd, STDIN_FILENO) < 0) ::_exit(125);
  });
  size_t mismatches = 0, errors = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto line = go.ReadLine(60s);
    ASSERT_TRUE(line) << "Go decoder stopped at input " << i;
    std::string ours = Describe(inputs[i]);
    if (ours.rfind("err ", 0) == 0) ++errors;
    if (ours != *line && ++mismatches <= 10) {
      ADD_FAILURE() << "input " << Hex(inputs[i]) << "\n gogo: " << *line << "\n ours: " << ours;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // The generator must reach the error paths, or the comparison proves little.
  EXPECT_GT(errors, inputs.size() / 5);
  EXPECT_EQ(go.Wait(), 0);
}

}  // namespace
}  // namespace berth::ttrpc::testing
