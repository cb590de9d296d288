// Raw, malformed and hostile peers against the C++ server: exact ttrpc-go answers, and
// no effect on other connections.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>

#include "server_fixture.h"
#include "ttrpc/unix_socket.h"

namespace berth::ttrpc::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

using ServerHostile = ServerFixture;
using berth::test::v1::EchoRequest;

Status StatusOf(const RawFrame& frame) {
  Response response;
  std::string error;
  EXPECT_TRUE(DecodeResponse(frame.body, response, error)) << error;
  return response.status;
}

std::string EmptyRequest() { return RequestBody(kEchoService, "Empty", ""); }

TEST_F(ServerHostile, EvenStreamIdIsCode3OnThatStream) {
  RawConnection raw(socket_);
  ASSERT_TRUE(raw.connected());
  raw.SendFrame(2, 1, EmptyRequest());
  auto frame = raw.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 2u);
  EXPECT_EQ(frame->header.type, 2);
  EXPECT_EQ(StatusOf(*frame), Status(Code::kInvalidArgument, "StreamID must be odd for client initiated streams"));
}

TEST_F(ServerHostile, InvalidRequestIsCode3BeforeTheStreamIdCheck) {
  RawConnection raw(socket_);
  raw.SendFrame(4, 1, "\x0a\x09svc"s);
  auto frame = raw.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 4u);
  EXPECT_EQ(StatusOf(*frame), Status(Code::kInvalidArgument, "unmarshal request error: unexpected EOF"));
}

TEST_F(ServerHostile, ResponseAndUnknownFramesFromClientAreIgnored) {
  RawConnection raw(socket_);
  raw.SendFrame(1, 2, "whatever");
  raw.SendFrame(3, 7, EmptyRequest());
  raw.SendFrame(5, 1, EmptyRequest());
  auto frame = raw.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 5u);
  EXPECT_EQ(frame->header.length, 0u);  // OK + empty payload: an empty body
  EXPECT_FALSE(raw.ReadFrame(200ms));
}

TEST_F(ServerHostile, OversizedFrameIsDiscardedAndAnswered) {
  RawConnection raw(socket_);
  std::string big(kMaxMessageLength + 1, 'B');
  raw.SendFrame(7, 2, big);  // even a "response" frame: size is checked first
  raw.SendFrame(9, 1, EmptyRequest());
  auto frame = raw.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 7u);
  EXPECT_EQ(StatusOf(*frame), Status(Code::kResourceExhausted, "message length 4194305 exceed maximum message size of 4194304"));
  frame = raw.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 9u);
}

TEST_F(ServerHostile, ReusedStreamIdsAreEachAnswered) {
  RawConnection raw(socket_);
  EchoRequest slow = EchoOf("slow");
  slow.set_sleep_ms(100);
  raw.SendFrame(1, 1, RequestBody(kEchoService, "Echo", slow.SerializeAsString()));
  raw.SendFrame(1, 1, RequestBody(kEchoService, "Echo", EchoOf("fast").SerializeAsString()));
  std::vector<std::string> payloads;
  for (int i = 0; i < 2; ++i) {
    auto frame = raw.ReadFrame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->header.stream_id, 1u);
    Response response;
    std::string error;
    ASSERT_TRUE(DecodeResponse(frame->body, response, error));
    berth::test::v1::EchoReply reply;
    ASSERT_TRUE(reply.ParseFromString(response.payload));
    payloads.push_back(reply.payload());
  }
  EXPECT_EQ(payloads, (std::vector<std::string>{"fast", "slow"}));
}

TEST_F(ServerHostile, GarbageOnOneConnectionDoesNotDisturbAnother) {
  Client good = Dial();
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    RawConnection raw(socket_);
    std::string junk(1 + rng() % 5000, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    raw.Send(junk);
    auto result = Echo(good, EchoOf("ok " + std::to_string(round)));
    ASSERT_TRUE(result.status.ok()) << result.status.ToString();
    EXPECT_EQ(result.reply.payload(), "ok " + std::to_string(round));
  }
}

TEST_F(ServerHostile, TruncatedFrameThenCloseIsHarmless) {
  {
    RawConnection raw(socket_);
    std::string frame = std::string("\x00\x00\x01\x00\x00\x00\x00\x01\x01\x00", 10) + "abc";
    raw.Send(frame);
  }
  Client client = Dial();
  EXPECT_TRUE(Echo(client, EchoOf("x")).status.ok());
  // The half-sent connection is gone from the server.
  for (int i = 0; i < 100 && loop_.Sync([&] { return server_->connection_count(); }) != 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(loop_.Sync([&] { return server_->connection_count(); }), 1u);
}

TEST_F(ServerHostile, ClientThatNeverReadsIsThrottledAlone) {
  // Requests whose 256 KiB replies are never read: the server stops reading from this
  // connection once its unsent replies pass the limit, instead of buffering without end.
  ServerOptions options;
  options.max_queued_reply_bytes = 1 << 20;
  StartServer(options);
  RawConnection greedy(socket_);
  EchoRequest request;
  request.set_reply_size(256 << 10);
  std::string frame_body = RequestBody(kEchoService, "Echo", request.SerializeAsString());
  std::thread writer([&] {
    for (uint32_t i = 0; i < 2000; ++i) greedy.SendFrame(2 * i + 1, 1, frame_body);
  });
  std::this_thread::sleep_for(300ms);
  // Another client is served normally meanwhile.
  Client other = Dial();
  auto result = Echo(other, EchoOf("fair"));
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  // Far fewer than 2000 calls were taken in: the greedy writer is blocked.
  size_t taken = loop_.Sync([&] { return observations_->stream_ids.size(); });
  EXPECT_LT(taken, 200u);
  loop_.Sync([&] { server_->Close(); });  // unblocks the writer (EPIPE)
  writer.join();
}

TEST_F(ServerHostile, PeerWithOtherCredentialsIsRefused) {
  ServerOptions options;
  options.required_uid = ::geteuid() + 12345;
  StartServer(options);
  RawConnection raw(socket_);
  ASSERT_TRUE(raw.connected());
  raw.SendFrame(1, 1, EmptyRequest());
  EXPECT_TRUE(raw.WaitForEof());
  auto log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("refusing connection after handshake: ttrpc: invalid credentials"), std::string::npos)
      << log[0];
  EXPECT_EQ(loop_.Sync([&] { return server_->connection_count(); }), 0u);
}

TEST_F(ServerHostile, ServesAnInheritedListeningFd) {
  auto listener = ListenUnix(dir_.File("inherited.sock"));
  ASSERT_TRUE(listener);
  ASSERT_TRUE(loop_.Sync([&] { return server_->Serve(std::move(*listener)); }));
  auto client = Client::Dial(loop_.loop(), dir_.File("inherited.sock"));
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->Call(kEchoService, "Empty", "").status.ok());
}

TEST_F(ServerHostile, AbstractSocket) {
  std::string name = "@berth-ttrpc-test-" + std::to_string(::getpid());
  ASSERT_TRUE(loop_.Sync([&] { return server_->Listen(name); }));
  auto client = Client::Dial(loop_.loop(), name);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->Call(kEchoService, "Empty", "").status.ok());
}

}  // namespace
}  // namespace berth::ttrpc::testing
