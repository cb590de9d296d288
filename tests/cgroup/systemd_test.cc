// The systemd driver: cgroupsPath parsing and the unit property mapping (pure), and the
// error when systemd is not running (this machine has no systemd as PID 1).
#include <gtest/gtest.h>

#include <limits>

#include "cgroup/systemd.h"
#include "cgroup/systemd_properties.h"

namespace berth::cgroup::systemd {
namespace {

const UnitProperty* Find(const std::vector<UnitProperty>& props, const std::string& name) {
  for (const auto& p : props)
    if (p.name == name) return &p;
  return nullptr;
}

template <class T>
T Value(const std::vector<UnitProperty>& props, const std::string& name) {
  auto* p = Find(props, name);
  EXPECT_NE(p, nullptr) << name;
  if (!p) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(p->value)) << name;
  return std::holds_alternative<T>(p->value) ? std::get<T>(p->value) : T{};
}

TEST(SystemdPath, Parse) {
  auto p = ParseCgroupsPath("system.slice:berth:c1", "ignored");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->slice, "system.slice");
  EXPECT_EQ(p->unit, "berth-c1.scope");
  EXPECT_EQ(p->cgroup_dir, "/system.slice/berth-c1.scope");

  p = ParseCgroupsPath("", "c2");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->unit, "berth-c2.scope");

  p = ParseCgroupsPath("machine-web.slice:docker:abc", "x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->cgroup_dir, "/machine.slice/machine-web.slice/docker-abc.scope");

  p = ParseCgroupsPath(":cri:n", "x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->slice, "system.slice");

  p = ParseCgroupsPath("-.slice::pod.slice", "x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->unit, "pod.slice");
  EXPECT_EQ(p->cgroup_dir, "/pod.slice");

  EXPECT_FALSE(ParseCgroupsPath("/not/systemd", "x"));
  EXPECT_FALSE(ParseCgroupsPath("a.slice:b", "x"));
  EXPECT_FALSE(ParseCgroupsPath("a.slice:b:c:d", "x"));
  EXPECT_FALSE(ParseCgroupsPath("bad:p:n", "x"));
  EXPECT_FALSE(ParseCgroupsPath("a.slice:p:..", "x"));
  EXPECT_EQ(ParseCgroupsPath("x", "c").error().message,
            "cgroupsPath \"x\": the systemd driver wants \"slice:prefix:name\"");
}

TEST(SystemdPath, ExpandSlice) {
  EXPECT_EQ(ExpandSlice("a-b-c.slice").value(), "/a.slice/a-b.slice/a-b-c.slice");
  EXPECT_EQ(ExpandSlice("-.slice").value(), "/");
  EXPECT_FALSE(ExpandSlice("a--b.slice"));
  EXPECT_FALSE(ExpandSlice("-a.slice"));
  EXPECT_FALSE(ExpandSlice(".slice"));
  EXPECT_FALSE(ExpandSlice("a.scope"));
}

TEST(SystemdProperties, ScopeProperties) {
  UnitPath path{"system.slice", "berth-c1.scope", "/system.slice/berth-c1.scope"};
  auto props = ScopeProperties(path, "c1", 1234, Mode::kUnified);
  EXPECT_EQ(Value<std::string>(props, "Slice"), "system.slice");
  EXPECT_EQ(Value<std::string>(props, "Description"), "berth container c1");
  EXPECT_TRUE(Value<bool>(props, "Delegate"));
  EXPECT_EQ(Value<std::vector<uint32_t>>(props, "PIDs"), std::vector<uint32_t>{1234});
  EXPECT_TRUE(Value<bool>(props, "IOAccounting"));
  EXPECT_FALSE(Value<bool>(props, "DefaultDependencies"));
  auto v1 = ScopeProperties(path, "c1", 1, Mode::kHybrid);
  EXPECT_NE(Find(v1, "BlockIOAccounting"), nullptr);
  EXPECT_EQ(Find(v1, "IOAccounting"), nullptr);
}

oci::Resources Sample() {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 1 << 30;
  r.memory->reservation = 1 << 29;
  r.memory->swap = 3LL << 30;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 12345;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-2,9";
  r.cpu->mems = "0";
  r.pids = oci::Pids{-1};
  r.block_io.emplace();
  r.block_io->weight = 300;
  return r;
}

TEST(SystemdProperties, UnifiedHost) {
  auto props = ResourceProperties(Sample(), Mode::kUnified, 252, "");
  ASSERT_TRUE(props) << props.error().message;
  EXPECT_EQ(Value<uint64_t>(*props, "MemoryMax"), 1u << 30);
  EXPECT_EQ(Value<uint64_t>(*props, "MemoryLow"), 1u << 29);
  EXPECT_EQ(Value<uint64_t>(*props, "MemorySwapMax"), 2ULL << 30);  // swap alone
  EXPECT_EQ(Value<uint64_t>(*props, "CPUWeight"), 39u);
  EXPECT_EQ(Value<uint64_t>(*props, "CPUQuotaPeriodUSec"), 100000u);
  // 12345/100000 of a CPU = 123450 us/s, rounded up to whole percent.
  EXPECT_EQ(Value<uint64_t>(*props, "CPUQuotaPerSecUSec"), 130000u);
  EXPECT_EQ(Value<uint64_t>(*props, "TasksMax"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Value<std::vector<uint8_t>>(*props, "AllowedCPUs"), (std::vector<uint8_t>{0x07, 0x02}));
  EXPECT_EQ(Value<std::vector<uint8_t>>(*props, "AllowedMemoryNodes"), std::vector<uint8_t>{0x01});
  EXPECT_EQ(Find(*props, "MemoryLimit"), nullptr);
  EXPECT_EQ(Find(*props, "CPUShares"), nullptr);
}

TEST(SystemdProperties, LegacyHostAndOldSystemd) {
  auto props = ResourceProperties(Sample(), Mode::kLegacy, 239, "");
  ASSERT_TRUE(props) << props.error().message;
  EXPECT_EQ(Value<uint64_t>(*props, "MemoryLimit"), 1u << 30);
  EXPECT_EQ(Value<uint64_t>(*props, "CPUShares"), 1024u);
  EXPECT_EQ(Value<uint64_t>(*props, "BlockIOWeight"), 300u);
  EXPECT_EQ(Find(*props, "MemoryMax"), nullptr);
  // systemd 239 has neither CPUQuotaPeriodUSec (242) nor AllowedCPUs (244).
  EXPECT_EQ(Find(*props, "CPUQuotaPeriodUSec"), nullptr);
  EXPECT_EQ(Find(*props, "AllowedCPUs"), nullptr);
  EXPECT_NE(Find(*props, "CPUQuotaPerSecUSec"), nullptr);
}

TEST(SystemdProperties, UnifiedKeys) {
  oci::Resources r;
  r.unified = {{"memory.high", "1000"},
               {"pids.max", "max"},
               {"cpu.max", "50000 200000"},
               {"io.weight", "100"}};
  auto props = ResourceProperties(r, Mode::kUnified, 252, "");
  ASSERT_TRUE(props) << props.error().message;
  EXPECT_EQ(Value<uint64_t>(*props, "MemoryHigh"), 1000u);
  EXPECT_EQ(Value<uint64_t>(*props, "TasksMax"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Value<uint64_t>(*props, "CPUQuotaPerSecUSec"), 250000u);
  EXPECT_EQ(Value<uint64_t>(*props, "CPUQuotaPeriodUSec"), 200000u);
  r.unified = {{"memory.high", "lots"}};
  EXPECT_FALSE(ResourceProperties(r, Mode::kUnified, 252, ""));
}

TEST(SystemdProperties, Devices) {
  const char* proc_devices =
      "Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n  8 sd\n";
  oci::Resources r;
  oci::DeviceRule deny;
  deny.allow = false;
  oci::DeviceRule null;
  null.allow = true;
  null.type = "c";
  null.major = 1;
  null.minor = 3;
  oci::DeviceRule pts = null;
  pts.minor.reset();
  pts.major = 136;
  oci::DeviceRule sd = null;
  sd.type = "b";
  sd.major = 8;
  sd.minor.reset();
  sd.access = "r";
  oci::DeviceRule mknod;
  mknod.allow = true;
  mknod.type = "c";
  mknod.access = "m";
  r.devices = {deny, null, pts, sd, mknod};
  auto props = ResourceProperties(r, Mode::kUnified, 252, proc_devices);
  ASSERT_TRUE(props);
  EXPECT_EQ(Value<std::string>(*props, "DevicePolicy"), "strict");
  DeviceAllowList want = {
      {"/dev/char/1:3", "rwm"}, {"char-pts", "rwm"}, {"block-sd", "r"}, {"char-*", "m"}};
  EXPECT_EQ(Value<DeviceAllowList>(*props, "DeviceAllow"), want);

  oci::DeviceRule allow_all;
  allow_all.allow = true;
  r.devices = {deny, null, allow_all};
  props = ResourceProperties(r, Mode::kUnified, 252, proc_devices);
  ASSERT_TRUE(props);
  EXPECT_EQ(Value<std::string>(*props, "DevicePolicy"), "auto");
  EXPECT_TRUE(Value<DeviceAllowList>(*props, "DeviceAllow").empty());
}

TEST(SystemdProperties, Helpers) {
  EXPECT_EQ(CpuQuotaPerSecUSec(-1, 100000), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(CpuQuotaPerSecUSec(50000, 0), 500000u);
  EXPECT_EQ(CpuMask("8").value(), (std::vector<uint8_t>{0x00, 0x01}));
  EXPECT_FALSE(CpuMask(""));
  EXPECT_FALSE(CpuMask("3-1"));
  EXPECT_EQ(ParseSystemdVersion("252.39-1~deb12u2"), 252);
  EXPECT_EQ(ParseSystemdVersion("v255"), 255);
  EXPECT_EQ(ParseSystemdVersion("x"), 0);
  EXPECT_STREQ(Signature(PropertyValue{DeviceAllowList{}}), "a(ss)");
  EXPECT_STREQ(Signature(PropertyValue{uint64_t{1}}), "t");
}

TEST(SystemdDriver, LibsystemdHasEverySdBusCall) {
  auto r = LoadLibsystemd();
  EXPECT_TRUE(r) << r.error().message;
}

TEST(SystemdDriver, ClearErrorWithoutSystemd) {
  if (SystemdRunning()) GTEST_SKIP() << "systemd is running here";
  EXPECT_FALSE(SystemdRunning("/nonexistent/run/systemd/system"));
  Request req{.container_id = "c1", .cgroups_path = "system.slice:berth:c1", .systemd = true};
  auto m = Manager::Create(req);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message,
            "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)");
}

}  // namespace
}  // namespace berth::cgroup::systemd
