// ttrpc-go 1.1.1's client (and containerd's generated Task client) against the C++ server.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "go_peer.h"
#include "server_fixture.h"

namespace berth::ttrpc::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class GoClientCppServer : public ServerFixture {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_GO_PEER();
    ServerFixture::SetUp();
  }

  std::vector<json> GoCall(std::vector<std::string> args, std::function<void()> before_exec = {}) {
    args.insert(args.begin(), {"call", "-socket", socket_});
    return RunGoPeer(args, std::move(before_exec), peer_);
  }

  std::string peer_ = GoPeerPath();
};

TEST_F(GoClientCppServer, EchoWithMetadata) {
  auto lines = GoCall({"-payload", "hello", "-md", "Containerd-Namespace-Ttrpc=ns1", "-md", "k=v1", "-md", "k=v2"});
  ASSERT_EQ(lines.size(), 1u);
  const json& r = lines[0];
  EXPECT_EQ(r["code"], 0) << r;
  EXPECT_EQ(r["payload_ok"], true);
  EXPECT_EQ(r["service"], kEchoService);
  EXPECT_EQ(r["timeout_nano"], 0);
  // ttrpc-go lower-cases metadata keys; both values of k arrive.
  EXPECT_EQ(r["metadata"], json({"containerd-namespace-ttrpc=ns1", "k=v1", "k=v2"}));
}

TEST_F(GoClientCppServer, SecondServiceName) {
  auto lines = GoCall({"-service", kEchoAlias});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 0) << lines[0];
  EXPECT_EQ(lines[0]["service"], kEchoAlias);
}

TEST_F(GoClientCppServer, UnknownServiceAndMethod) {
  auto lines = GoCall({"-service", "containerd.task.v9.Task"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 12);
  EXPECT_EQ(lines[0]["message"], "service containerd.task.v9.Task");
  lines = GoCall({"-method", "Frobnicate"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 12);
  EXPECT_EQ(lines[0]["message"], "method Frobnicate");
}

TEST_F(GoClientCppServer, HandlerErrorStatus) {
  auto lines = GoCall({"-fail-code", "9", "-fail-message", "task must be stopped before deletion: running"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 9);
  EXPECT_EQ(lines[0]["message"], "task must be stopped before deletion: running");
}

TEST_F(GoClientCppServer, InvalidPayloadIsCode13) {
  auto lines = GoCall({"-raw-payload-hex", "0a05"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 13);
  EXPECT_EQ(lines[0]["message"], "ttrpc: error unmarshalling payload: unexpected EOF");
}

TEST_F(GoClientCppServer, HundredConcurrentCalls) {
  // 100 calls on one connection, each answered from a thread after 300 - 2i ms:
  // replies come back in reverse order and in about 300 ms in total.
  auto lines = GoCall({"-concurrency", "100", "-sleep-ms", "300", "-sleep-spread-ms", "2"});
  ASSERT_EQ(lines.size(), 100u);
  std::set<int> indexes;
  int64_t slowest = 0;
  for (const json& r : lines) {
    EXPECT_EQ(r["code"], 0) << r;
    EXPECT_EQ(r["payload_ok"], true) << r;
    indexes.insert(r["index"].get<int>());
    slowest = std::max<int64_t>(slowest, r["elapsed_ms"].get<int64_t>());
  }
  EXPECT_EQ(indexes.size(), 100u);
  EXPECT_LT(slowest, 3000);
  std::lock_guard lock(observations_->mu);
  std::set<uint32_t> ids(observations_->stream_ids.begin(), observations_->stream_ids.end());
  ASSERT_EQ(ids.size(), 100u);
  for (uint32_t id : ids) EXPECT_EQ(id % 2, 1u);
  EXPECT_EQ(*ids.begin(), 1u);
  EXPECT_EQ(*ids.rbegin(), 199u);
}

TEST_F(GoClientCppServer, PayloadNearTheLimit) {
  auto lines = GoCall({"-payload-size", std::to_string(kMaxMessageLength - 64)});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 0) << lines[0];
  EXPECT_EQ(lines[0]["payload_ok"], true);
  EXPECT_EQ(lines[0]["payload_len"], kMaxMessageLength - 64);
}

TEST_F(GoClientCppServer, OversizedRequestIsCode8ThenTheConnectionGoesOn) {
  auto lines = GoCall({"-payload-size", "4194400", "-followup"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["code"], 8);
  std::string message = lines[0]["message"];
  // The request body: EchoRequest{payload} inside Request{service, method, payload}.
  std::string body;
  EncodeRequest(kEchoService, "Echo", EchoOf(std::string(4194400, 'x')).SerializeAsString(), 0, {}, body);
  EXPECT_EQ(message, "message length " + std::to_string(body.size()) + " exceed maximum message size of 4194304");
  EXPECT_EQ(lines[1]["index"], -2);
  EXPECT_EQ(lines[1]["code"], 0) << lines[1];
  EXPECT_EQ(lines[1]["payload_ok"], true);
}

TEST_F(GoClientCppServer, OversizedReplyIsRefusedNotSent) {
  // ttrpc-go 1.1.1's client panics on an oversized reply frame; the server answers
  // code 8 instead, as later ttrpc-go servers do.
  auto lines = GoCall({"-reply-size", std::to_string(kMaxMessageLength), "-followup"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["code"], 8);
  berth::test::v1::EchoReply would_be;
  would_be.set_payload(std::string(kMaxMessageLength, 'r'));
  would_be.set_service(kEchoService);
  std::string body;
  EncodeResponse(Status(), would_be.SerializeAsString(), body);
  EXPECT_EQ(lines[0]["message"],
            "message length " + std::to_string(body.size()) + " exceed maximum message size of 4194304");
  EXPECT_EQ(lines[1]["code"], 0);
}

TEST_F(GoClientCppServer, DeadlineReachesTheHandler) {
  // -linger: the connection stays open, so the server sees the deadline rather than
  // the client going away when its own context expires.
  auto lines = GoCall({"-timeout", "200ms", "-wait-for-cancel", "-linger", "300ms"});
  ASSERT_EQ(lines.size(), 1u);
  // Either the client's own context expires first, or the handler's answer to its
  // cancellation (code 4, as a ttrpc-go handler returning ctx.Err()) arrives first.
  if (lines[0].contains("code")) {
    EXPECT_EQ(lines[0]["code"], 4) << lines[0];
    EXPECT_EQ(lines[0]["message"], "context deadline exceeded");
  } else {
    EXPECT_EQ(lines[0]["error"], "context deadline exceeded");
  }
  ASSERT_TRUE(observations_->WaitForCancellations(1, 5s));
  std::lock_guard lock(observations_->mu);
  const auto& seen = observations_->cancellations[0];
  EXPECT_EQ(seen.reason, CancelReason::kDeadlineExceeded);
  EXPECT_GT(seen.timeout_nano, 150'000'000);
  EXPECT_LE(seen.timeout_nano, 200'000'000);
  EXPECT_GE(seen.after, 140ms);
}

class GoClientCppServerCredentials : public GoClientCppServer {
 protected:
  void SetUp() override {
    GoClientCppServer::SetUp();
    // Let another uid reach the socket, so that the refusal comes from SO_PEERCRED,
    // and run the peer: a copy in our 0755 temporary directory, since the build's may
    // sit under a directory only root can enter (a checkout in /root).
    ASSERT_EQ(::chmod(socket_.c_str(), 0777), 0);
    std::string copy = dir_.File("ttrpc-peer");
    std::ifstream src(peer_, std::ios::binary);
    std::ofstream(copy, std::ios::binary) << src.rdbuf();
    ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
    peer_ = copy;
  }
};

TEST_F(GoClientCppServerCredentials, OtherUidIsRefused) {
  auto lines = GoCall({"-payload", "x"}, [] { BecomeUser(65534, 65534); });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].contains("payload_ok")) << lines[0];
  EXPECT_EQ(lines[0]["error"], "ttrpc: closed") << lines[0];
  auto log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("invalid credentials"), std::string::npos) << log[0];
  EXPECT_NE(log[0].find("uid 65534 gid 65534"), std::string::npos) << log[0];
}

TEST_F(GoClientCppServerCredentials, OtherGidIsRefused) {
  auto lines = GoCall({"-payload", "x"}, [] { BecomeUser(0, 65534); });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"], "ttrpc: closed") << lines[0];
  auto log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("uid 0 gid 65534"), std::string::npos) << log[0];
}

TEST_F(GoClientCppServerCredentials, SameUserIsServed) {
  auto lines = GoCall({"-payload", "x"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["code"], 0);
  EXPECT_TRUE(Log().empty());
}

TEST_F(GoClientCppServer, ContainerdTaskClient) {
  using namespace containerd::task::v2;
  loop_.Sync([&] {
    ServiceMethods task;
    task["State"] = TypedMethod<StateRequest>([](StateRequest request, Request&, Responder responder) {
      StateResponse state;
      state.set_id(request.id());
      state.set_bundle("/run/containerd/io.containerd.runtime.v2.task/default/" + request.id());
      state.set_pid(4242);
      state.set_status(containerd::v1::types::RUNNING);
      // A running task has no exit time: Go's zero time, as runc's shim sends it.
      state.mutable_exited_at()->set_seconds(-62135596800);
      ReplyWith(responder, state);
    });
    task["Connect"] = TypedMethod<ConnectRequest>([](ConnectRequest, Request&, Responder responder) {
      ConnectResponse connect;
      connect.set_shim_pid(static_cast<uint32_t>(::getpid()));
      connect.set_task_pid(4242);
      ReplyWith(responder, connect);
    });
    ASSERT_TRUE(server_->Register("containerd.task.v2.Task", std::move(task)));
    ASSERT_TRUE(server_->RegisterAlias("containerd.task.v3.Task", "containerd.task.v2.Task"));
  });
  auto lines = RunGoPeer({"task", "-socket", socket_, "-id", "c1"});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["call"], "State");
  EXPECT_FALSE(lines[0].contains("error")) << lines[0];
  EXPECT_EQ(lines[0]["id"], "c1");
  EXPECT_EQ(lines[0]["bundle"], "/run/containerd/io.containerd.runtime.v2.task/default/c1");
  EXPECT_EQ(lines[0]["pid"], 4242);
  EXPECT_EQ(lines[0]["status"], "RUNNING");
  EXPECT_EQ(lines[0]["exited_at_zero"], true);
  EXPECT_EQ(lines[1]["call"], "Connect");
  EXPECT_EQ(lines[1]["shim_pid"], ::getpid());
  EXPECT_EQ(lines[1]["task_pid"], 4242);
  EXPECT_EQ(lines[2]["call"], "Pids");
  EXPECT_EQ(lines[2]["code"], 12);
  EXPECT_EQ(lines[2]["message"], "method Pids");
  EXPECT_EQ(lines[3]["call"], "v3.State");
  EXPECT_FALSE(lines[3].contains("error")) << lines[3];
  EXPECT_EQ(lines[3]["id"], "c1");
  EXPECT_EQ(lines[3]["pid"], 4242);
}

}  // namespace
}  // namespace berth::ttrpc::testing
