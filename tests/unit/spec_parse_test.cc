#include <gtest/gtest.h>

#include "oci/spec.h"
#include "oci/state.h"

namespace berth::oci {
namespace {

TEST(SpecParse, DefaultSpecRoundTrips) {
  auto spec = ParseSpec(DefaultSpecJson(false));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->root.path, "rootfs");
  ASSERT_TRUE(spec->process);
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(spec->HasNamespace("network"));
  ASSERT_TRUE(spec->linux->resources);
  ASSERT_EQ(spec->linux->resources->devices.size(), 1u);
  EXPECT_FALSE(spec->linux->resources->devices[0].allow);
  EXPECT_EQ(spec->linux->resources->devices[0].type, "a");
}

TEST(SpecParse, RootlessSpecHasUserNamespace) {
  auto spec = ParseSpec(DefaultSpecJson(true));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_TRUE(spec->HasNamespace("user"));
  EXPECT_FALSE(spec->HasNamespace("network"));
  ASSERT_EQ(spec->linux->uid_mappings.size(), 1u);
}

TEST(SpecParse, RejectsInvalidVersion) {
  auto spec = ParseSpec(R"({"ociVersion":"invalid","root":{"path":"r"}})");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().message.find("ociVersion"), std::string::npos);
  EXPECT_FALSE(ParseSpec(R"({"ociVersion":"2.0.0","root":{"path":"r"}})"));
  EXPECT_TRUE(ParseSpec(R"({"ociVersion":"1.1.0-rc.1","root":{"path":"r"}})"));
}

TEST(SpecParse, NamesThePathOfABadField) {
  auto spec = ParseSpec(
      R"({"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"resources":{"memory":{"limit":"x"}}}})");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message, "linux.resources.memory.limit: expected an integer");
  auto neg = ParseSpec(
      R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"cwd":"/","user":{"uid":-1}}})");
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().message, "process.user.uid: -1 must not be negative");
  auto rl = ParseSpec(
      R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"cwd":"/","rlimits":[{"hard":1,"soft":1}]}})");
  ASSERT_FALSE(rl);
  EXPECT_EQ(rl.error().message, "process.rlimits[0].type: required field is missing");
}

// Found by the config_plan fuzzer: a number past uint64_t (nlohmann reads it as a
// double) was cast to int64_t unchecked, which is undefined behaviour.
TEST(SpecParse, RejectsIntegersBeyondInt64WrittenAsDoubles) {
  auto huge = ParseResources(R"({"devices":[{"allow":true,"major":1111111111111111111111111111110}]})");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().message, "resources.devices[0].major: expected an integer");
  auto edge = ParseResources(R"({"pids":{"limit":9223372036854775808.0}})");
  ASSERT_FALSE(edge);
  EXPECT_EQ(edge.error().message, "resources.pids.limit: expected an integer");
  auto whole = ParseResources(R"({"pids":{"limit":64.0}})");
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->pids->limit, 64);
}

TEST(SpecParse, RejectsInvalidJsonAndMissingRoot) {
  EXPECT_EQ(ParseSpec("{").error().message, "config.json: invalid JSON");
  EXPECT_EQ(ParseSpec(R"({"ociVersion":"1.0.0"})").error().message,
            "root: required field is missing");
}

TEST(SpecParse, IgnoresUnknownProperties) {
  auto spec = ParseSpec(
      R"({"ociVersion":"1.0.2","root":{"path":"r","extra":1},"whatever":{"a":[1]},"annotations":{"x.y":"z"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->annotations.at("x.y"), "z");
}

TEST(State, HookJsonOmitsPidWhenZero) {
  State s{.oci_version = "1.0.2", .id = "c1", .status = Status::kStopped, .pid = 0,
          .bundle = "/b"};
  EXPECT_EQ(HookStateJson(s),
            R"({"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"})");
  s.pid = 42;
  s.status = Status::kRunning;
  EXPECT_EQ(HookStateJson(s),
            R"({"ociVersion":"1.0.2","id":"c1","pid":42,"status":"running","bundle":"/b"})");
}

}  // namespace
}  // namespace berth::oci
