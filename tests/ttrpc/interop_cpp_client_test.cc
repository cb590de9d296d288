// The C++ client against ttrpc-go 1.1.1's server (with containerd's real Events service).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <set>

#include "echo.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/empty.pb.h"
#include "go_peer.h"
#include "ttrpc/client.h"
#include "ttrpc/protobuf_payload.h"

namespace berth::ttrpc::testing {
namespace {

using namespace std::chrono_literals;
using berth::test::v1::EchoReply;
using berth::test::v1::EchoRequest;

constexpr char kEcho[] = "berth.test.v1.Echo";

class CppClientGoServer : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_GO_PEER();
    server_ = std::make_unique<GoServer>(dir_.File("go.sock"));
    ASSERT_TRUE(server_->ready());
  }

  Client Dial() {
    auto client = Client::Dial(loop_.loop(), server_->socket());
    if (!client) ADD_FAILURE() << client.error().message;
    return std::move(*client);
  }

  static Status Echo(Client& client, const EchoRequest& request, EchoReply& reply, const CallOptions& options = {},
                     const std::string& service = kEcho) {
    return CallWithMessages(client, service, "Echo", request, reply, options);
  }

  static EchoRequest Payload(std::string payload) {
    EchoRequest request;
    request.set_payload(std::move(payload));
    return request;
  }

  TempDir dir_;
  LoopThread loop_;
  std::unique_ptr<GoServer> server_;
};

TEST_F(CppClientGoServer, EchoWithMetadata) {
  Client client = Dial();
  CallOptions options;
  options.metadata = {{"containerd-namespace-ttrpc", "ns1"}, {"k", "v1"}, {"k", "v2"}};
  EchoReply reply;
  Status status = Echo(client, Payload("hello"), reply, options);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(reply.payload(), "hello");
  EXPECT_EQ(reply.service(), kEcho);
  EXPECT_EQ(std::vector<std::string>(reply.metadata().begin(), reply.metadata().end()),
            (std::vector<std::string>{"containerd-namespace-ttrpc=ns1", "k=v1", "k=v2"}));
}

TEST_F(CppClientGoServer, EmptyReply) {
  Client client = Dial();
  CallResult result = client.Call(kEcho, "Empty", "");
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.payload, "");
}

TEST_F(CppClientGoServer, ErrorsFromTheGoServer) {
  Client client = Dial();
  EXPECT_EQ(client.Call("no.such.Service", "Echo", "").status, Status(Code::kUnimplemented, "service no.such.Service"));
  EXPECT_EQ(client.Call(kEcho, "Nope", "").status, Status(Code::kUnimplemented, "method Nope"));
  EXPECT_EQ(client.Call(kEcho, "Echo", "\x0a\x05").status,
            Status(Code::kInternal, "ttrpc: error unmarshalling payload: unexpected EOF"));
  EchoRequest failing;
  failing.set_fail_code(5);
  failing.set_fail_message("c1: not found");
  EchoReply reply;
  EXPECT_EQ(Echo(client, failing, reply), Status(Code::kNotFound, "c1: not found"));
}

TEST_F(CppClientGoServer, HundredConcurrentCalls) {
  Client client = Dial();
  constexpr int kCalls = 100;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<CallResult> results(kCalls);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    EchoRequest request = Payload("call-" + std::to_string(i));
    request.set_sleep_ms(300 - 2 * i);
    client.CallAsync(kEcho, "Echo", request.SerializeAsString(), {}, [&, i](CallResult result) {
      std::lock_guard lock(mu);
      results[i] = std::move(result);
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return done == kCalls; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(results[i].status.ok()) << results[i].status.ToString();
    EchoReply reply;
    ASSERT_TRUE(reply.ParseFromString(results[i].payload));
    EXPECT_EQ(reply.payload(), "call-" + std::to_string(i));
  }
}

TEST_F(CppClientGoServer, PayloadNearTheLimit) {
  Client client = Dial();
  std::string payload(kMaxMessageLength - 64, 'n');
  payload[777] = 'm';
  EchoReply reply;
  Status status = Echo(client, Payload(payload), reply);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(reply.payload(), payload);
}

TEST_F(CppClientGoServer, OversizedRequestIsDiscardedByGo) {
  Client client = Dial();
  std::string payload = Payload(std::string(kMaxMessageLength, 'x')).SerializeAsString();
  std::string body;
  EncodeRequest(kEcho, "Echo", payload, 0, {}, body);
  CallResult result = client.Call(kEcho, "Echo", payload);
  EXPECT_EQ(result.status, Status(Code::kResourceExhausted, "message length " + std::to_string(body.size()) +
                                                                " exceed maximum message size of 4194304"));
  EchoReply reply;
  EXPECT_TRUE(Echo(client, Payload("after"), reply).ok());
  EXPECT_EQ(reply.payload(), "after");
}

TEST_F(CppClientGoServer, OversizedReplyFromGoIsDiscardedByTheClient) {
  // ttrpc-go 1.1.1 sends it; the client reads it away and fails just that call.
  Client client = Dial();
  EchoRequest request;
  request.set_reply_size(kMaxMessageLength);
  EchoReply would_be;
  would_be.set_payload(std::string(kMaxMessageLength, 'r'));
  would_be.set_service(kEcho);
  std::string body;
  EncodeResponse(Status(), would_be.SerializeAsString(), body);
  EchoReply reply;
  EXPECT_EQ(Echo(client, request, reply), Status(Code::kResourceExhausted, "message length " +
                                                                               std::to_string(body.size()) +
                                                                               " exceed maximum message size of 4194304"));
  EXPECT_TRUE(Echo(client, Payload("after"), reply).ok());
}

TEST_F(CppClientGoServer, DeadlineIsSentAndEnforced) {
  Client client = Dial();
  EchoRequest request;
  request.set_wait_for_cancel(true);
  CallOptions options;
  options.timeout = 200ms;
  EchoReply reply;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Echo(client, request, reply, options), Status::DeadlineExceeded());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  auto event = server_->NextEvent();
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["event"], "cancelled");
  EXPECT_EQ((*event)["reason"], "context deadline exceeded");
  EXPECT_GT((*event)["timeout_nano"].get<int64_t>(), 150'000'000);
  EXPECT_LE((*event)["timeout_nano"].get<int64_t>(), 200'000'000);
  // The late "deadline exceeded" reply from Go is dropped; the connection is fine.
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(Echo(client, Payload("next"), reply).ok());
}

TEST_F(CppClientGoServer, ForwardEventToContainerdEventsService) {
  Client client = Dial();
  containerd::events::TaskExit exit;
  exit.set_container_id("c1");
  exit.set_id("c1");
  exit.set_pid(4242);
  exit.set_exit_status(137);
  exit.mutable_exited_at()->set_seconds(1700000000);

  containerd::services::events::ttrpc::v1::ForwardRequest forward;
  auto* envelope = forward.mutable_envelope();
  envelope->mutable_timestamp()->set_seconds(1700000001);
  envelope->set_namespace_("default");
  envelope->set_topic("/tasks/exit");
  envelope->mutable_event()->set_type_url("containerd.events.TaskExit");
  envelope->mutable_event()->set_value(exit.SerializeAsString());

  CallOptions options;
  options.timeout = 5s;
  options.metadata = {{"containerd-namespace-ttrpc", "default"}};
  google::protobuf::Empty empty;
  Status status = CallWithMessages(client, "containerd.services.events.ttrpc.v1.Events", "Forward", forward,
                                   empty, options);
  ASSERT_TRUE(status.ok()) << status.ToString();
  auto event = server_->NextEvent();
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["event"], "forward");
  EXPECT_EQ((*event)["md_namespace"], "default");
  EXPECT_EQ((*event)["namespace"], "default");
  EXPECT_EQ((*event)["topic"], "/tasks/exit");
  EXPECT_EQ((*event)["type_url"], "containerd.events.TaskExit");
  EXPECT_EQ((*event)["timestamp_unix_nano"], int64_t{1700000001} * 1'000'000'000);
  EXPECT_EQ((*event)["container_id"], "c1");
  EXPECT_EQ((*event)["pid"], 4242);
  EXPECT_EQ((*event)["exit_status"], 137);
  EXPECT_EQ((*event)["exited_at_unix"], 1700000000);
  EXPECT_GT((*event)["timeout_ms"].get<int64_t>(), 4000);
  EXPECT_LE((*event)["timeout_ms"].get<int64_t>(), 5000);
}

TEST_F(CppClientGoServer, ServerDeathFailsPendingAndLaterCalls) {
  Client client = Dial();
  EchoRequest request;
  request.set_sleep_ms(30000);
  std::promise<CallResult> pending;
  client.CallAsync(kEcho, "Echo", request.SerializeAsString(), {}, [&](CallResult r) { pending.set_value(std::move(r)); });
  std::promise<void> closed;
  client.OnClosed([&] { closed.set_value(); });
  std::this_thread::sleep_for(100ms);
  server_->Kill();
  auto future = pending.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(future.get().status, Status(Code::kUnavailable, "ttrpc: closed"));
  EXPECT_EQ(closed.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(client.Call(kEcho, "Empty", "").status, Status::Closed());
}

TEST_F(CppClientGoServer, GoServerRefusesAnotherUid) {
  // A forked child becomes nobody and calls with its own loop; the Go server
  // (UnixSocketRequireSameUser, running as root) must close the connection.
  std::string socket = server_->socket();
  ASSERT_EQ(::chmod(socket.c_str(), 0777), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    BecomeUser(65534, 65534);
    auto loop = EventLoop::Create();
    if (!loop) ::_exit(10);
    std::thread runner([&] { (void)(*loop)->Run(); });
    int code = 0;
    {
      auto client = Client::Dial(**loop, socket);
      if (!client) {
        code = 11;
      } else {
        CallResult result = client->Call(kEcho, "Empty", "");
        code = result.status == Status::Closed() ? 0 : 12;
      }
    }
    (*loop)->Stop();
    runner.join();
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: no loop, 11: connect failed, 12: the call was served";
  // And the same user is served.
  Client client = Dial();
  EXPECT_TRUE(client.Call(kEcho, "Empty", "").status.ok());
}

}  // namespace
}  // namespace berth::ttrpc::testing
