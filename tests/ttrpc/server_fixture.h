// A C++ ttrpc server with the echo service on a loop thread, in a temp directory.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "echo.pb.h"
#include "echo_service.h"
#include "test_support.h"
#include "ttrpc/client.h"
#include "ttrpc/protobuf_payload.h"
#include "ttrpc/server.h"

namespace berth::ttrpc::testing {

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ServerOptions{}); }
  void TearDown() override {
    loop_.Sync([&] { server_.reset(); });
  }

  void StartServer(ServerOptions options) {
    loop_.Sync([&] { server_.reset(); });
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mu_);
      log_.emplace_back(line);
    };
    socket_ = dir_.File("ttrpc-" + std::to_string(++servers_started_) + ".sock");
    Result<void> started = loop_.Sync([&]() -> Result<void> {
      server_ = std::make_unique<Server>(loop_.loop(), std::move(options));
      BERTH_TRY(RegisterEchoService(*server_, observations_));
      return server_->Listen(socket_);
    });
    ASSERT_TRUE(started) << started.error().message;
  }

  Client Dial() {
    auto client = Client::Dial(loop_.loop(), socket_);
    if (!client) ADD_FAILURE() << client.error().message;
    return std::move(*client);
  }

  struct EchoResult {
    Status status;
    berth::test::v1::EchoReply reply;
  };
  static EchoResult Echo(Client& client, const berth::test::v1::EchoRequest& request,
                         const CallOptions& options = {}, const std::string& service = kEchoService) {
    EchoResult result;
    result.status = CallWithMessages(client, service, "Echo", request, result.reply, options);
    return result;
  }

  std::vector<std::string> Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }

  TempDir dir_;
  LoopThread loop_;
  std::shared_ptr<EchoObservations> observations_ = std::make_shared<EchoObservations>();
  std::unique_ptr<Server> server_;
  std::string socket_;
  int servers_started_ = 0;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

inline berth::test::v1::EchoRequest EchoOf(std::string payload) {
  berth::test::v1::EchoRequest request;
  request.set_payload(std::move(payload));
  return request;
}

}  // namespace berth::ttrpc::testing
