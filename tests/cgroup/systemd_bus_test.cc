// The systemd driver end to end over D-Bus, against FakeSystemd (a private dbus-daemon
// and a fake org.freedesktop.systemd1 manager), on the host's real hierarchies.
#include "cgroup/hierarchy.h"
#include "cgroup/systemd.h"
#include "fake_systemd.h"
#include "test_util.h"

namespace berth::cgroup::testing {
namespace {

class SystemdBus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
    auto layout = ReadLayout("/sys/fs/cgroup");
    if (!layout || layout->mode == Mode::kUnified) GTEST_SKIP() << "written for v1/hybrid hosts";
    std::string error;
    fake_ = FakeSystemd::Start(error);
    ASSERT_TRUE(fake_) << error;
  }
  std::unique_ptr<FakeSystemd> fake_;
};

oci::Resources SampleResources() {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 << 20;
  r.pids = oci::Pids{50};
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0";
  oci::DeviceRule deny;
  deny.allow = false;
  oci::DeviceRule null;
  null.allow = true;
  null.type = "c";
  null.major = 1;
  null.minor = 3;
  r.devices = {deny, null};
  return r;
}

TEST_F(SystemdBus, StartsTheScopeAppliesResourcesAndStopsIt) {
  std::string name = UniqueName();
  std::string unit = name + ".scope";
  auto res = SampleResources();
  Request req{
      .container_id = name, .cgroups_path = "-.slice::" + name, .systemd = true, .resources = &res};
  auto m = CreateSystemdManager(req, fake_->run_dir());
  ASSERT_TRUE(m) << m.error().message;
  const Paths& paths = (*m)->paths();
  EXPECT_EQ(paths.systemd_unit, unit);
  EXPECT_EQ(paths.v1.at("memory"), "/sys/fs/cgroup/memory/" + unit);
  EXPECT_TRUE(fake_->calls().empty()) << "the scope starts with the first process";
  {
    Cleanup cleanup(m->get());
    Child child;
    auto added = (*m)->AddProcess(child.pid());
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(fake_->calls(), std::vector<std::string>{"StartTransientUnit " + unit});
    auto p = fake_->start_properties();
    EXPECT_EQ(p["PIDs"], "au:" + std::to_string(child.pid()));
    EXPECT_EQ(p["Slice"], "s:-.slice");
    EXPECT_EQ(p["Description"], "s:berth container " + name);
    EXPECT_EQ(p["Delegate"], "b:true");
    EXPECT_EQ(p["DefaultDependencies"], "b:false");
    EXPECT_EQ(p["BlockIOAccounting"], "b:true");
    EXPECT_EQ(p["MemoryLimit"], "t:" + std::to_string(100 << 20));
    EXPECT_EQ(p["CPUShares"], "t:512");
    EXPECT_EQ(p["TasksMax"], "t:50");
    EXPECT_EQ(p["CPUQuotaPerSecUSec"], "t:200000");
    EXPECT_EQ(p["CPUQuotaPeriodUSec"], "t:100000");
    EXPECT_EQ(p["AllowedCPUs"], "ay:01");
    EXPECT_EQ(p["DevicePolicy"], "s:strict");
    EXPECT_EQ(p["DeviceAllow"], "a(ss):/dev/char/1:3 rwm");
    // The same resources on cgroupfs, and the process in every hierarchy.
    EXPECT_EQ(ReadText(paths.v1.at("memory") + "/memory.limit_in_bytes"),
              std::to_string(100 << 20));
    EXPECT_EQ(ReadText(paths.v1.at("pids") + "/pids.max"), "50");
    EXPECT_EQ(ReadText(paths.v1.at("devices") + "/devices.list"), "c 1:3 rwm");
    auto in = ReadProcCgroup(child.pid());
    ASSERT_TRUE(in);
    for (const auto& [controller, dir] : paths.v1) EXPECT_EQ((*in)[controller], "/" + unit);

    oci::Resources update;
    update.pids = oci::Pids{60};
    auto updated = (*m)->Update(update);
    ASSERT_TRUE(updated) << updated.error().message;
    EXPECT_EQ(fake_->set_properties()["TasksMax"], "t:60");
    EXPECT_EQ(fake_->calls().back(), "SetUnitProperties " + unit + " runtime");
    EXPECT_EQ(ReadText(paths.v1.at("pids") + "/pids.max"), "60");
    // A period alone keeps the quota: 20000 us per 50000 is 0.4 s of CPU per second.
    oci::Resources period_only;
    period_only.cpu.emplace();
    period_only.cpu->period = 50000;
    updated = (*m)->Update(period_only);
    ASSERT_TRUE(updated) << updated.error().message;
    EXPECT_EQ(fake_->set_properties()["CPUQuotaPeriodUSec"], "t:50000");
    EXPECT_EQ(fake_->set_properties()["CPUQuotaPerSecUSec"], "t:400000");
    EXPECT_EQ(ReadText(paths.v1.at("cpu") + "/cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(ReadText(paths.v1.at("cpu") + "/cpu.cfs_period_us"), "50000");

    auto destroyed = (*m)->Destroy();
    ASSERT_TRUE(destroyed) << destroyed.error().message;
    EXPECT_EQ(fake_->calls().back(), "StopUnit " + unit);
    EXPECT_TRUE(child.WaitFor(5000));
    cleanup.reset(nullptr);
  }
  EXPECT_TRUE(FindTestCgroups(name).empty());
}

TEST_F(SystemdBus, AFailedJobIsAnErrorAndLeavesNothing) {
  fake_->set_start_result("failed");
  std::string name = UniqueName();
  std::string unit = name + ".scope";
  auto res = SampleResources();
  Request req{
      .container_id = name, .cgroups_path = "-.slice::" + name, .systemd = true, .resources = &res};
  auto m = CreateSystemdManager(req, fake_->run_dir());
  ASSERT_TRUE(m) << m.error().message;
  Child child;
  auto added = (*m)->AddProcess(child.pid());
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().message, "systemd: start " + unit + ": job failed");
  EXPECT_EQ(fake_->calls(),
            (std::vector<std::string>{"StartTransientUnit " + unit, "ResetFailedUnit " + unit}));
  EXPECT_TRUE(FindTestCgroups(name).empty());
}

TEST_F(SystemdBus, LoadedManagerStopsTheUnit) {
  std::string name = UniqueName();
  std::string unit = name + ".scope";
  Request req{.container_id = name, .cgroups_path = "-.slice::" + name, .systemd = true};
  auto m = CreateSystemdManager(req, fake_->run_dir());
  ASSERT_TRUE(m) << m.error().message;
  Child child;
  ASSERT_TRUE((*m)->AddProcess(child.pid()));
  // A later command rebuilds the manager from state.json.
  auto saved = PathsFromJson(PathsToJson((*m)->paths()));
  ASSERT_TRUE(saved);
  auto loaded = Manager::Load(*saved);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE((*loaded)->Freeze());
  EXPECT_TRUE((*loaded)->IsFrozen().value_or(false));
  auto destroyed = (*loaded)->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  EXPECT_EQ(fake_->calls().back(), "StopUnit " + unit);
  EXPECT_TRUE(child.WaitFor(5000));
  EXPECT_TRUE(FindTestCgroups(name).empty());
}

}  // namespace
}  // namespace berth::cgroup::testing
