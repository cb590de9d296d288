// The C++ client against the C++ server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "server_fixture.h"

namespace berth::ttrpc::testing {
namespace {

using namespace std::chrono_literals;
using berth::test::v1::EchoRequest;

using ServerClient = ServerFixture;

TEST_F(ServerClient, EchoWithMetadataAndAlias) {
  Client client = Dial();
  CallOptions options;
  options.metadata = {{"containerd-namespace-ttrpc", "ns1"}, {"b", "2"}, {"a", "1"}};
  auto result = Echo(client, EchoOf("hello"), options);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.reply.payload(), "hello");
  EXPECT_EQ(result.reply.service(), kEchoService);
  EXPECT_EQ(std::vector<std::string>(result.reply.metadata().begin(), result.reply.metadata().end()),
            (std::vector<std::string>{"a=1", "b=2", "containerd-namespace-ttrpc=ns1"}));
  EXPECT_EQ(result.reply.timeout_nano(), 0);

  auto aliased = Echo(client, EchoOf("again"), {}, kEchoAlias);
  ASSERT_TRUE(aliased.status.ok()) << aliased.status.ToString();
  EXPECT_EQ(aliased.reply.service(), kEchoAlias);
  EXPECT_EQ(aliased.reply.payload(), "again");
}

TEST_F(ServerClient, EmptyReplyIsOk) {
  Client client = Dial();
  CallResult result = client.Call(kEchoService, "Empty", "");
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.payload, "");
}

TEST_F(ServerClient, UnknownServiceAndMethod) {
  Client client = Dial();
  EXPECT_EQ(client.Call("no.such.Service", "Echo", "").status, Status(Code::kUnimplemented, "service no.such.Service"));
  EXPECT_EQ(client.Call(kEchoService, "Nope", "").status, Status(Code::kUnimplemented, "method Nope"));
}

TEST_F(ServerClient, HandlerStatusIsPassedThrough) {
  Client client = Dial();
  EchoRequest request;
  request.set_fail_code(5);
  request.set_fail_message("container c1: not found");
  EXPECT_EQ(Echo(client, request).status, Status(Code::kNotFound, "container c1: not found"));
}

TEST_F(ServerClient, InvalidPayloadIsCode13) {
  Client client = Dial();
  CallResult result = client.Call(kEchoService, "Echo", "\x0a\x05x");
  EXPECT_EQ(result.status, Status(Code::kInternal, "ttrpc: error unmarshalling payload: unexpected EOF"));
  result = client.Call(kEchoService, "Echo", std::string("\x00\x00", 2));
  EXPECT_EQ(result.status,
            Status(Code::kInternal, "ttrpc: error unmarshalling payload: proto: EchoRequest: illegal tag 0 (wire type 0)"));
}

TEST_F(ServerClient, HundredConcurrentCallsAnsweredOutOfOrder) {
  Client client = Dial();
  constexpr int kCalls = 100;
  std::mutex mu;
  std::condition_variable done_cv;
  int done = 0;
  std::vector<std::string> payloads(kCalls);
  std::vector<Status> statuses(kCalls);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    EchoRequest request = EchoOf("call-" + std::to_string(i));
    request.set_sleep_ms(200 - 2 * i);  // later calls answer first
    client.CallAsync(kEchoService, "Echo", request.SerializeAsString(), {}, [&, i](CallResult result) {
      berth::test::v1::EchoReply reply;
      reply.ParseFromString(result.payload);
      std::lock_guard lock(mu);
      statuses[i] = result.status;
      payloads[i] = reply.payload();
      ++done;
      done_cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(done_cv.wait_for(lock, 10s, [&] { return done == kCalls; }));
  // All slept concurrently: far less than the 100 * ~100 ms they would take in turn.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i].ToString();
    EXPECT_EQ(payloads[i], "call-" + std::to_string(i));
  }
  // Stream ids: odd, increasing in call order, starting at 1.
  std::lock_guard obs(observations_->mu);
  ASSERT_EQ(observations_->stream_ids.size(), size_t{kCalls});
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(observations_->stream_ids[i], uint32_t(2 * i + 1));
}

TEST_F(ServerClient, LargePayloadsBothWays) {
  Client client = Dial();
  // The request frame must stay within 4 MiB: payload + a few bytes of envelope.
  std::string payload(kMaxMessageLength - 64, 'p');
  payload[12345] = 'q';
  auto result = Echo(client, EchoOf(payload));
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.reply.payload(), payload);
}

TEST_F(ServerClient, OversizedRequestIsCode8AndConnectionSurvives) {
  Client client = Dial();
  std::string payload = EchoOf(std::string(kMaxMessageLength, 'x')).SerializeAsString();
  std::string body;
  EncodeRequest(kEchoService, "Echo", payload, 0, {}, body);
  CallResult result = client.Call(kEchoService, "Echo", payload);
  EXPECT_EQ(result.status, Status(Code::kResourceExhausted, "message length " + std::to_string(body.size()) +
                                                                " exceed maximum message size of 4194304"));
  EXPECT_TRUE(Echo(client, EchoOf("still here")).status.ok());
}

TEST_F(ServerClient, OversizedReplyIsReplacedByCode8) {
  Client client = Dial();
  EchoRequest request;
  request.set_reply_size(kMaxMessageLength);  // the reply envelope pushes it over
  berth::test::v1::EchoReply would_be;
  would_be.set_payload(std::string(kMaxMessageLength, 'r'));
  would_be.set_service(kEchoService);
  std::string body;
  EncodeResponse(Status(), would_be.SerializeAsString(), body);
  auto result = Echo(client, request);
  EXPECT_EQ(result.status, Status(Code::kResourceExhausted, "message length " + std::to_string(body.size()) +
                                                                " exceed maximum message size of 4194304"));
  EXPECT_TRUE(Echo(client, EchoOf("still here")).status.ok());
}

TEST_F(ServerClient, DeadlineCancelsTheHandlerAndFailsTheCall) {
  Client client = Dial();
  EchoRequest request;
  request.set_wait_for_cancel(true);
  CallOptions options;
  options.timeout = 150ms;
  auto start = std::chrono::steady_clock::now();
  auto result = Echo(client, request, options);
  EXPECT_EQ(result.status, Status::DeadlineExceeded());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  ASSERT_TRUE(observations_->WaitForCancellations(1, 5s));
  std::lock_guard lock(observations_->mu);
  const auto& seen = observations_->cancellations[0];
  EXPECT_EQ(seen.reason, CancelReason::kDeadlineExceeded);
  EXPECT_GT(seen.timeout_nano, 0);
  EXPECT_LE(seen.timeout_nano, 150'000'000);
  EXPECT_GE(seen.after, 100ms);
}

TEST_F(ServerClient, TimeoutIsSentAsTimeoutNano) {
  Client client = Dial();
  CallOptions options;
  options.timeout = 7s;
  auto result = Echo(client, EchoOf("x"), options);
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(result.reply.timeout_nano(), 7'000'000'000);
}

TEST_F(ServerClient, ClientCloseCancelsCallsInFlight) {
  Client client = Dial();
  EchoRequest request;
  request.set_wait_for_cancel(true);
  std::promise<CallResult> pending;
  client.CallAsync(kEchoService, "Echo", request.SerializeAsString(), {},
                   [&](CallResult r) { pending.set_value(std::move(r)); });
  // Make sure the call reached the server before closing.
  while (loop_.Sync([&] { return observations_->stream_ids.size(); }) == 0) std::this_thread::sleep_for(1ms);
  client.Close();
  EXPECT_EQ(pending.get_future().get().status, Status::Closed());
  ASSERT_TRUE(observations_->WaitForCancellations(1, 5s));
  std::lock_guard lock(observations_->mu);
  EXPECT_EQ(observations_->cancellations[0].reason, CancelReason::kConnectionClosed);
}

TEST_F(ServerClient, ServerCloseFailsPendingCallsWithClosed) {
  Client client = Dial();
  EchoRequest request;
  request.set_sleep_ms(5000);
  std::promise<CallResult> pending;
  client.CallAsync(kEchoService, "Echo", request.SerializeAsString(), {},
                   [&](CallResult r) { pending.set_value(std::move(r)); });
  while (loop_.Sync([&] { return observations_->stream_ids.size(); }) == 0) std::this_thread::sleep_for(1ms);
  loop_.Sync([&] { server_->Close(); });
  EXPECT_EQ(pending.get_future().get().status, Status(Code::kUnavailable, "ttrpc: closed"));
  EXPECT_EQ(client.Call(kEchoService, "Empty", "").status, Status::Closed());
}

TEST_F(ServerClient, DialFailsCleanly) {
  auto client = Client::Dial(loop_.loop(), dir_.File("nothing-here.sock"));
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("connect"), std::string::npos) << client.error().message;
}

TEST_F(ServerClient, BlockingCallOnTheLoopThreadFailsInsteadOfDeadlocking) {
  Client client = Dial();
  Status status = loop_.Sync([&] { return client.Call(kEchoService, "Empty", "").status; });
  EXPECT_EQ(status.code, static_cast<int32_t>(Code::kFailedPrecondition));
}

TEST_F(ServerClient, DroppedResponderAnswersInternal) {
  loop_.Sync([&] {
    ServiceMethods methods;
    methods["Forget"] = [](Request, Responder) {};
    ASSERT_TRUE(server_->Register("berth.test.v1.Forgetful", std::move(methods)));
  });
  Client client = Dial();
  EXPECT_EQ(client.Call("berth.test.v1.Forgetful", "Forget", "").status,
            Status(Code::kInternal, "ttrpc: handler returned no response"));
}

TEST_F(ServerClient, RegistrationErrors) {
  loop_.Sync([&] {
    EXPECT_FALSE(server_->Register(kEchoService, {}));
    EXPECT_FALSE(server_->RegisterAlias(kEchoService, kEchoAlias));
    EXPECT_FALSE(server_->RegisterAlias("x.Y", "no.such.Service"));
  });
}

TEST_F(ServerClient, ShutdownWaitsForCallsInFlight) {
  Client client = Dial();
  EchoRequest request = EchoOf("late");
  request.set_sleep_ms(300);
  std::promise<CallResult> pending;
  client.CallAsync(kEchoService, "Echo", request.SerializeAsString(), {},
                   [&](CallResult r) { pending.set_value(std::move(r)); });
  while (loop_.Sync([&] { return observations_->stream_ids.size(); }) == 0) std::this_thread::sleep_for(1ms);
  std::promise<void> shut;
  loop_.Sync([&] { server_->Shutdown([&] { shut.set_value(); }); });
  auto shut_future = shut.get_future();
  EXPECT_EQ(shut_future.wait_for(100ms), std::future_status::timeout);
  CallResult result = pending.get_future().get();
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(shut_future.wait_for(5s), std::future_status::ready);
  // No new connections once shut down.
  EXPECT_FALSE(Client::Dial(loop_.loop(), socket_));
}

TEST_F(ServerClient, ManyClientsInterleaved) {
  std::vector<Client> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(Dial());
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 50; ++j) {
        std::string payload = std::to_string(i) + "/" + std::to_string(j);
        auto result = Echo(clients[i], EchoOf(payload));
        if (!result.status.ok() || result.reply.payload() != payload) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(loop_.Sync([&] { return server_->connection_count(); }), 20u);
}

}  // namespace
}  // namespace berth::ttrpc::testing
