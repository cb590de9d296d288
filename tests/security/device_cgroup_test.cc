// The device cgroup: a node listed in linux.devices is created in the container but
// gets no allow rule of its own. Only runc's default devices and the config's
// linux.resources.devices allow rules are allowed, for the init and for every exec
// (runc's specconv appends AllowedDevices only). Granting the listed nodes let a
// container with a deny-all rule write /dev/kmsg, or any disk node it was handed.
#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class DeviceCgroup : public CveTest {
 protected:
  // A config with the deny-all rule of `berth spec`, /dev/kmsg (c 1:11) in
  // linux.devices and CAP_SYSLOG, so that only the device cgroup stands between
  // the process and the node.
  static void KmsgDenied(json& s) {
    s["linux"]["resources"]["devices"] = json::array({{{"allow", false}, {"access", "rwm"}}});
    s["linux"]["devices"] = json::array(
        {{{"path", "/dev/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"fileMode", 0666}}});
    for (const char* set : {"bounding", "effective", "permitted"})
      s["process"]["capabilities"][set].push_back("CAP_SYSLOG");
  }
};

const char* kWrite = "echo berth-device-test > /dev/kmsg";
const char* kRead = "head -c 1 /dev/kmsg";

TEST_F(DeviceCgroup, ListedDeviceIsDeniedToInitAndExec) {
  for (const auto& rt : SideBySideRuntimes()) {
    SCOPED_TRACE(rt.name);
    for (const char* script : {kWrite, kRead}) {
      auto init = RunWith(rt, {"run", "-b", MakeBundle({"sh", "-c", script}, KmsgDenied), NewId()});
      EXPECT_NE(init.status, 0) << script << ": " << init.out;
      EXPECT_NE(init.err.find("Operation not permitted"), std::string::npos) << init.err;
    }
    std::string id = NewId();
    auto run = RunWith(rt, {"run", "-d", "-b", MakeBundle({"sleep", "1000"}, KmsgDenied), id});
    ASSERT_EQ(run.status, 0) << run.err;
    for (const char* script : {kWrite, kRead}) {
      auto exec = RunWith(rt, {"exec", id, "sh", "-c", script});
      EXPECT_NE(exec.status, 0) << script << ": " << exec.out;
      EXPECT_NE(exec.err.find("Operation not permitted"), std::string::npos) << exec.err;
    }
    // The node itself is there: the cgroup, not a missing file, refused it.
    auto node = RunWith(rt, {"exec", id, "stat", "-c", "%t:%T", "/dev/kmsg"});
    EXPECT_EQ(node.out, "1:b\n") << node.err;
  }
}

}  // namespace
}  // namespace berth::testing
