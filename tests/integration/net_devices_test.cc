// linux.netDevices (runtime-spec 1.3): a veth interface made by the test in a network
// namespace the test makes (its "host"), moved by berth into the container's, renamed,
// with its address and up. Berth runs under nsenter --net of that namespace, so the
// real host's interfaces are never touched. runc 1.1.5 does not know the field: the
// side-by-side check is with runc 1.4 only.
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

// A named network namespace (ip netns) with a veth pair, removed at the end of
// the test whatever happened: the interface goes with it.
class HostNetns {
 public:
  explicit HostNetns(const std::string& name) : name_(name) {
    ok_ = Ip({"netns", "add", name_}) && Ip({"-n", name_, "link", "add", "bveth0", "type", "veth", "peer", "name", "bveth1"}) &&
          Ip({"-n", name_, "addr", "add", "10.77.0.5/24", "dev", "bveth0"});
  }
  ~HostNetns() { Ip({"netns", "del", name_}); }
  bool ok() const { return ok_; }
  std::string path() const { return "/run/netns/" + name_; }
  // `ip -n <ns> args`' output.
  CommandResult In(std::vector<std::string> args) const {
    args.insert(args.begin(), {"/usr/sbin/ip", "-n", name_});
    return RunCommand(args);
  }
  SpawnOptions Inside() const {
    SpawnOptions o;
    o.wrapper = {"/usr/bin/nsenter", "--net=" + path()};
    return o;
  }

 private:
  static bool Ip(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/sbin/ip");
    auto r = RunCommand(args);
    if (r.status != 0) ADD_FAILURE() << "ip: " << r.err;
    return r.status == 0;
  }
  std::string name_;
  bool ok_ = false;
};

class NetDevices : public BerthTest {
 protected:
  std::string NetnsName() { return "berth-it-" + NewId(); }
  std::string Bundle(const json& devices) {
    return MakeBundle({"sh", "-c",
                       "ls /sys/class/net | tr '\\n' ' '; cat /sys/class/net/ctr0/flags; "
                       "ip -o -4 addr show dev ctr0 | tr -s ' ' | cut -d' ' -f2-4"},
                      [&](json& s) { s["linux"]["netDevices"] = devices; });
  }
  void ExpectNothingLeft(const std::string& id) {
    struct stat st;
    EXPECT_NE(::stat((root_ + "/" + id).c_str(), &st), 0) << "state dir left for " << id;
    EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "cgroup left for " << id;
  }
};

TEST_F(NetDevices, MovedRenamedWithItsAddressAndUpSameAsRunc14) {
  std::string bundle = Bundle({{"bveth0", {{"name", "ctr0"}}}});
  for (const auto& rt : SideBySideRuntimes()) {
    if (rt.name == "runc-1.1") continue;  // no netDevices in runc 1.1.5
    SCOPED_TRACE(rt.name);
    HostNetns host(NetnsName());
    ASSERT_TRUE(host.ok());
    auto r = RunWith(rt, {"run", "-b", bundle, NewId()}, host.Inside());
    ASSERT_EQ(r.status, 0) << r.err;
    // Up (0x1) with veth's broadcast and multicast flags; the permanent global address.
    EXPECT_EQ(r.out, "ctr0 lo 0x1003\nctr0 inet 10.77.0.5/24\n");
    // Not moved back after the container: a virtual device goes with the container's
    // namespace (which the kernel frees asynchronously, so its peer may linger a while).
    EXPECT_NE(host.In({"link", "show", "bveth0"}).status, 0);
  }
}

TEST_F(NetDevices, BadConfigIsOneLineBeforeAnythingIsMade) {
  struct Case {
    std::function<void(json&)> edit;
    std::string message;
  } cases[] = {
      {[](json& s) { s["linux"]["netDevices"] = {{"bad/name", json::object()}}; },
       "linux.netDevices: invalid network device name \"bad/name\""},
      {[](json& s) { s["linux"]["netDevices"] = {{"eth9", {{"name", "a:b"}}}}; },
       "linux.netDevices.eth9.name: invalid network device name \"a:b\""},
      {[](json& s) {
         s["linux"]["netDevices"] = {{"eth9", json::object()}};
         auto& ns = s["linux"]["namespaces"];
         for (size_t i = 0; i < ns.size(); ++i)
           if (ns[i]["type"] == "network") ns.erase(i--);
       },
       "linux.netDevices: moving network devices needs a network namespace of the container"},
  };
  for (const auto& c : cases) {
    std::string id = NewId();
    auto r = Berth({"create", "-b", MakeBundle({"true"}, c.edit), id});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "berth: " + c.message + "\n");
    ExpectNothingLeft(id);
  }
}

TEST_F(NetDevices, MissingInterfaceFailsCreateAndLeavesNothing) {
  HostNetns host(NetnsName());
  ASSERT_TRUE(host.ok());
  std::string id = NewId();
  auto r = Berth({"create", "-b", Bundle({{"nosuch0", json::object()}}), id}, host.Inside());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: linux.netDevices: interface nosuch0 of the runtime's namespace: No such "
                   "device\n");
  ExpectNothingLeft(id);
  // The interface that was asked for elsewhere is untouched.
  EXPECT_EQ(host.In({"link", "show", "bveth0"}).status, 0);
}

}  // namespace
}  // namespace berth::testing
