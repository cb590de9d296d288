// AppArmor and SELinux requests, and what `berth features` reports: a label the
// host cannot apply is a one-line error (never silently dropped), except
// linux.mountLabel without SELinux, which is a warning, as the conformance suite
// expects. On a host that enforces a module the refusal tests are skipped for it.
#include <fstream>

#include "linux/lsm.h"
#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Lsm : public BerthTest {};

TEST_F(Lsm, FeaturesReportTheHostAndTheSeccompModule) {
  auto r = Berth({"features"});
  ASSERT_EQ(r.status, 0) << r.err;
  json f = json::parse(r.out);
  EXPECT_EQ(f["linux"]["apparmor"]["enabled"], linux::AppArmorEnabled());
  EXPECT_EQ(f["linux"]["selinux"]["enabled"], linux::SelinuxEnabled());
  const json& seccomp = f["linux"]["seccomp"];
  EXPECT_EQ(seccomp["enabled"], true);
  auto has = [](const json& list, const char* name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  EXPECT_TRUE(has(seccomp["actions"], "SCMP_ACT_NOTIFY"));
  EXPECT_TRUE(has(seccomp["operators"], "SCMP_CMP_MASKED_EQ"));
  EXPECT_TRUE(has(seccomp["archs"], "SCMP_ARCH_X86_64"));
  EXPECT_TRUE(has(seccomp["knownFlags"], "SECCOMP_FILTER_FLAG_TSYNC"));
  // TSYNC is accepted but not applied: known, never reported as supported.
  EXPECT_FALSE(has(seccomp["supportedFlags"], "SECCOMP_FILTER_FLAG_TSYNC"));
  for (const auto& flag : seccomp["supportedFlags"])
    EXPECT_TRUE(has(seccomp["knownFlags"], flag.get<std::string>().c_str()));
  EXPECT_TRUE(has(seccomp["supportedFlags"], "SECCOMP_FILTER_FLAG_LOG"));
}

TEST_F(Lsm, AppArmorProfileOnAHostWithoutAppArmorIsRefused) {
  if (linux::AppArmorEnabled()) GTEST_SKIP() << "AppArmor is enabled here";
  std::string id = NewId();
  auto r = Berth({"run", "-b",
                  MakeBundle({"echo", "RAN"},
                             [](json& s) { s["process"]["apparmorProfile"] = "docker-default"; }),
                  id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err,
      "berth: process.apparmorProfile \"docker-default\": AppArmor is not enabled on this host\n");
  std::string running = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), running}).status, 0);
  auto exec = Berth({"exec", "--apparmor", "docker-default", running, "echo", "RAN"});
  EXPECT_EQ(exec.status, 255);  // an exec that did not start, as runc
  EXPECT_NE(exec.err.find("AppArmor is not enabled on this host"), std::string::npos) << exec.err;
}

TEST_F(Lsm, SelinuxLabelOnAHostWithoutSelinuxIsRefused) {
  if (linux::SelinuxEnabled()) GTEST_SKIP() << "SELinux is enabled here";
  const std::string label = "system_u:system_r:container_t:s0:c1,c2";
  auto r =
      Berth({"run", "-b",
             MakeBundle({"echo", "RAN"}, [&](json& s) { s["process"]["selinuxLabel"] = label; }),
             NewId()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "berth: process.selinuxLabel \"" + label + "\": SELinux is not enabled on this host\n");
  std::string running = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), running}).status, 0);
  auto exec = Berth({"exec", "--process-label", label, running, "echo", "RAN"});
  EXPECT_EQ(exec.status, 255);  // an exec that did not start, as runc
  EXPECT_NE(exec.err.find("SELinux is not enabled on this host"), std::string::npos) << exec.err;
}

TEST_F(Lsm, MountLabelWithoutSelinuxIsAWarning) {
  if (linux::SelinuxEnabled()) GTEST_SKIP() << "SELinux is enabled here";
  auto r = Berth({"run", "-b",
                  MakeBundle({"echo", "RAN"},
                             [](json& s) {
                               s["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
                             }),
                  NewId()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "RAN\n");
  EXPECT_NE(r.err.find("linux.mountLabel ignored: SELinux is not enabled"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace berth::testing
