// How a shim binary answers containerd outside the Task API: `start` in each
// generation's protocol (shim/bootstrap.h) and `-info`. The same checks run against
// containerd 2.3's runc-v2 shim where they are containerd 2.3's contract; the replies
// for older containerd are berth's alone (runc-v2 2.3 no longer gives them).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/runtime/bootstrap/v1/bootstrap.pb.h"
#include "github.com/containerd/containerd/api/types/introspection.pb.h"
#include "tests/shim/shim_fixture.h"

namespace berth::shimtest {
namespace {

namespace boot = containerd::runtime::bootstrap::v1;

std::string Sha256Hex(const std::string& text) {
  auto r = testing::RunCommand({"/usr/bin/sha256sum"}, {.stdin_data = text});
  return r.out.substr(0, 64);
}

// Keeps the shim that a raw `start` left running, so that the fixture ends it.
class StartTest : public ShimApiTest {
 protected:
  void Adopt(const std::string& address, const std::string& id) {
    std::string error;
    auto shim = ShimProcess::Attach(loop_, address, id, &error);
    ASSERT_TRUE(shim) << error;
    shims_.push_back(std::move(shim));
  }
  std::string events_socket() const { return dir_ + "/events.sock"; }
};

TEST_P(StartTest, BootstrapParamsGetABootstrapResultInTheirSocketDir) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  std::string socket_dir = dir_ + "/s";
  StartOutput out = RunStartAction(
      binary(), ns_, id, bundle, BootstrapParamsFor(ns_, id, events_socket(), RuncOptionsAny(root_), socket_dir),
      ContainerdEnvironment(ns_, events_socket()));
  ASSERT_EQ(out.status, 0) << out.output;
  boot::BootstrapResult result;
  ASSERT_TRUE(result.ParseFromString(out.output)) << out.output;
  EXPECT_EQ(result.version(), 3);
  EXPECT_EQ(result.protocol(), "ttrpc");
  // containerd's CreateSocketAddress under the directory containerd chose.
  EXPECT_EQ(result.address(),
            "unix://" + socket_dir + "/" + Sha256Hex(std::string(kGrpcAddress) + "/" + ns_ + "/" + id));
  Adopt(result.address(), id);
  // It serves Task v3: a Create through it works.
  EXPECT_TRUE(Create(*shims_.back(), id, bundle).ok());
}

TEST_P(StartTest, InfoReportsTheRuntimeAndItsOciFeatures) {
  auto r = testing::RunCommand({binary(), "-info"},
                               {.stdin_data = RuncOptionsAny(root_),
                                .env = {std::string("PATH=") + kDepsBin + ":/usr/sbin:/usr/bin:/sbin:/bin"}});
  ASSERT_EQ(r.status, 0) << r.err;
  containerd::types::RuntimeInfo info;
  ASSERT_TRUE(info.ParseFromString(r.out));
  EXPECT_EQ(info.name(), "io.containerd." + GetParam().name + ".v2");
  EXPECT_FALSE(info.version().version().empty());
  EXPECT_EQ(info.options().type_url(), "containerd.runc.v1.Options");
  ASSERT_EQ(info.features().type_url(),
            "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
  auto features = nlohmann::json::parse(info.features().value(), nullptr, false);
  ASSERT_TRUE(features.is_object()) << info.features().value();
  EXPECT_TRUE(features.contains("ociVersionMax"));
  auto ns = features["linux"]["namespaces"];
  EXPECT_NE(std::find(ns.begin(), ns.end(), "user"), ns.end()) << ns.dump();
  // With "user", what containerd's CRI needs to offer user-namespaced pods
  // (internal/cri/server/service.go supportsCRIUserns); the kernel here has it. Not
  // asked of the runc-v2 shim: the runc it runs here may be Debian's 1.1, without it.
  if (is_berth())
    EXPECT_EQ(features["linux"]["mountExtensions"]["idmap"]["enabled"], true) << features.dump();
  if (is_berth()) {
    // The features are berth's own, the same as `berth features` prints.
    auto cli = testing::RunCommand({BERTH_BINARY, "features"});
    ASSERT_EQ(cli.status, 0) << cli.err;
    EXPECT_EQ(features, nlohmann::json::parse(cli.out));
  }
}

INSTANTIATE_TEST_SUITE_P(Shims, StartTest, ::testing::ValuesIn(Shims()),
                         [](const auto& info) { return info.param.name; });

// The replies berth still gives the containerd releases before 2.3.
class LegacyStartTest : public StartTest {};

TEST_P(LegacyStartTest, AnAnyWithGrpcAddressGetsJsonVersion3) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  // containerd 1.7 to 2.2: the options Any on stdin, GRPC_ADDRESS set.
  StartOutput out = RunStartAction(binary(), ns_, id, bundle, RuncOptionsAny(root_),
                                   {"TTRPC_ADDRESS=" + events_socket(),
                                    std::string("GRPC_ADDRESS=") + kGrpcAddress, "NAMESPACE=" + ns_});
  ASSERT_EQ(out.status, 0) << out.output;
  auto reply = nlohmann::json::parse(out.output, nullptr, false);
  ASSERT_TRUE(reply.is_object()) << out.output;
  std::string address =
      "unix:///run/containerd/s/" + Sha256Hex(std::string(kGrpcAddress) + "/" + ns_ + "/" + id);
  EXPECT_EQ(reply, (nlohmann::json{{"version", 3}, {"address", address}, {"protocol", "ttrpc"}}));
  Adopt(address, id);
}

TEST_P(LegacyStartTest, AnAnyWithoutGrpcAddressGetsThePlainAddress) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  // containerd 1.6: no GRPC_ADDRESS; it reads the address and nothing else.
  StartOutput out = RunStartAction(binary(), ns_, id, bundle, RuncOptionsAny(root_),
                                   {"TTRPC_ADDRESS=" + events_socket()});
  ASSERT_EQ(out.status, 0) << out.output;
  EXPECT_EQ(out.output,
            "unix:///run/containerd/s/" + Sha256Hex(std::string(kGrpcAddress) + "/" + ns_ + "/" + id));
  Adopt(out.output, id);
}

TEST_P(LegacyStartTest, TheBootstrapsTtrpcAddressCarriesTheEvents) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  // The environment names nothing that listens; the bootstrap names the events service.
  std::vector<std::string> env = ContainerdEnvironment(ns_, dir_ + "/nobody.sock");
  StartOutput out = RunStartAction(
      binary(), ns_, id, bundle, BootstrapParamsFor(ns_, id, events_socket(), RuncOptionsAny(root_)), env);
  ASSERT_EQ(out.status, 0) << out.output;
  boot::BootstrapResult result;
  ASSERT_TRUE(result.ParseFromString(out.output));
  Adopt(result.address(), id);
  ASSERT_TRUE(Create(*shims_.back(), id, bundle).ok());
  EXPECT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id) == "create"; }))
      << Sequence(events_->Events(), id);
}

TEST_P(LegacyStartTest, BootstrapParamsOfAnotherInstanceAreNotTaken) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  // Parameters naming another task are no bootstrap for this one: read as options,
  // they are refused, and nothing is left running.
  StartOutput out = RunStartAction(binary(), ns_, id, bundle,
                                   BootstrapParamsFor(ns_, "someone-else", events_socket(), ""),
                                   ContainerdEnvironment(ns_, events_socket()));
  EXPECT_NE(out.status, 0) << out.output;
  EXPECT_NE(out.output.find("not found"), std::string::npos) << out.output;
  std::string socket =
      "/run/containerd/s/" + Sha256Hex(std::string(kGrpcAddress) + "/" + ns_ + "/" + id);
  EXPECT_NE(::access(socket.c_str(), F_OK), 0) << socket << " was left";
}

INSTANTIATE_TEST_SUITE_P(Berth, LegacyStartTest,
                         ::testing::Values(ShimKind{"berth", BERTH_SHIM_BINARY}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace berth::shimtest
