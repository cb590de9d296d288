// cgroup v1 against the real hierarchies of the host (this machine: a hybrid host with
// cpu, cpuacct, cpuset, memory, devices, freezer, blkio, pids and name=systemd mounted
// as v1). Tests skip when the host has no v1 hierarchies.
#include <fcntl.h>
#include <poll.h>

#include <thread>

#include "cgroup/hierarchy.h"
#include "cgroup/mounts.h"
#include "cgroup/oom.h"
#include "cgroup/stats.h"
#include "test_util.h"

namespace berth::cgroup::testing {
namespace {

bool HaveV1() {
  auto layout = ReadLayout("/sys/fs/cgroup");
  return layout && !layout->v1.empty();
}

#define REQUIRE_V1() \
  if (!HaveV1()) GTEST_SKIP() << "no cgroup v1 hierarchies on this host"

std::string Dir(const Manager& m, const std::string& controller) {
  auto it = m.paths().v1.find(controller);
  return it == m.paths().v1.end() ? "" : it->second;
}

// The v1 directories of the manager, deduplicated.
std::vector<std::string> AllDirs(const Paths& p) {
  std::vector<std::string> out;
  for (const auto& [c, d] : p.v1)
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  if (!p.unified.empty()) out.push_back(p.unified);
  return out;
}

// A whole disk of this machine ("254:0"), for the blkio throttles.
std::pair<int64_t, int64_t> SomeDisk() {
  for (const auto& e : std::filesystem::directory_iterator("/sys/block")) {
    std::string dev = ReadText(e.path().string() + "/dev");
    auto colon = dev.find(':');
    if (colon != std::string::npos && !e.path().filename().string().starts_with("loop"))
      return {std::stoll(dev.substr(0, colon)), std::stoll(dev.substr(colon + 1))};
  }
  return {-1, -1};
}

oci::Resources FullV1Resources() {
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->shares = 2048;
  r.cpu->quota = 50000;
  r.cpu->period = 200000;
  r.cpu->realtime_period = 1000000;
  r.cpu->realtime_runtime = 10000;
  r.cpu->cpus = "0";
  r.cpu->mems = "0";
  r.memory.emplace();
  r.memory->limit = 50593792;
  r.memory->reservation = 40000000;
  r.memory->swap = 101187584;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  r.pids = oci::Pids{42};
  auto [major, minor] = SomeDisk();
  if (major >= 0) {
    r.block_io.emplace();
    r.block_io->throttle_read_bps.push_back({major, minor, 102400});
    r.block_io->throttle_write_iops.push_back({major, minor, 300});
  }
  oci::DeviceRule deny_all;
  deny_all.allow = false;
  deny_all.access = "rwm";
  oci::DeviceRule null_dev;
  null_dev.allow = true;
  null_dev.type = "c";
  null_dev.major = 1;
  null_dev.minor = 3;
  null_dev.access = "rwm";
  oci::DeviceRule sda;
  sda.allow = true;
  sda.type = "b";
  sda.major = 8;
  sda.minor = 20;
  sda.access = "rw";
  r.devices = {deny_all, null_dev, sda};
  return r;
}

TEST(CgroupV1, CreateWritesEveryResourceFile) {
  REQUIRE_V1();
  auto res = FullV1Resources();
  std::string name = UniqueName();
  Request req{.container_id = name, .cgroups_path = "/" + name, .resources = &res};
  auto m = Manager::Create(req);
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Manager& mgr = **m;

  std::string cpu = Dir(mgr, "cpu");
  ASSERT_EQ(cpu, "/sys/fs/cgroup/cpu/" + name);
  EXPECT_EQ(ReadText(cpu + "/cpu.shares"), "2048");
  EXPECT_EQ(ReadText(cpu + "/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(ReadText(cpu + "/cpu.cfs_period_us"), "200000");
  if (Exists(cpu + "/cpu.rt_runtime_us")) {
    EXPECT_EQ(ReadText(cpu + "/cpu.rt_period_us"), "1000000");
    EXPECT_EQ(ReadText(cpu + "/cpu.rt_runtime_us"), "10000");
  }
  std::string cpuset = Dir(mgr, "cpuset");
  EXPECT_EQ(ReadText(cpuset + "/cpuset.cpus"), "0");
  EXPECT_EQ(ReadText(cpuset + "/cpuset.mems"), "0");
  std::string mem = Dir(mgr, "memory");
  EXPECT_EQ(ReadText(mem + "/memory.limit_in_bytes"), "50593792");
  EXPECT_EQ(ReadText(mem + "/memory.soft_limit_in_bytes"), "39997440");  // page-rounded
  if (Exists(mem + "/memory.memsw.limit_in_bytes")) {
    EXPECT_EQ(ReadText(mem + "/memory.memsw.limit_in_bytes"), "101187584");
  }
  EXPECT_EQ(ReadText(mem + "/memory.swappiness"), "10");
  EXPECT_NE(ReadText(mem + "/memory.oom_control").find("oom_kill_disable 1"), std::string::npos);
  EXPECT_EQ(ReadText(Dir(mgr, "pids") + "/pids.max"), "42");
  if (res.block_io) {
    auto [major, minor] = SomeDisk();
    std::string dev = std::to_string(major) + ":" + std::to_string(minor);
    EXPECT_EQ(ReadText(Dir(mgr, "blkio") + "/blkio.throttle.read_bps_device"), dev + " 102400");
    EXPECT_EQ(ReadText(Dir(mgr, "blkio") + "/blkio.throttle.write_iops_device"), dev + " 300");
  }
  // The config's rules, in order, after the deny-all.
  EXPECT_EQ(ReadText(Dir(mgr, "devices") + "/devices.list"), "c 1:3 rwm\nb 8:20 rw");
  // name=systemd is joined too, as runc does.
  if (mgr.paths().v1.contains("name=systemd")) {
    EXPECT_TRUE(Exists("/sys/fs/cgroup/systemd/" + name));
  }
}

TEST(CgroupHybrid, HugetlbFallsBackToTheUnifiedHierarchy) {
  auto layout = ReadLayout("/sys/fs/cgroup");
  if (!layout || layout->mode != Mode::kHybrid) GTEST_SKIP() << "not a hybrid host";
  for (const auto& h : layout->v1)
    for (const auto& c : h.controllers)
      if (c == "hugetlb") GTEST_SKIP() << "hugetlb is mounted as v1 here";
  std::string unified = layout->v2->mountpoint;
  auto available = ReadText(unified + "/cgroup.controllers");
  if (available.find("hugetlb") == std::string::npos) GTEST_SKIP() << "no v2 hugetlb";
  std::string before = ReadText(unified + "/cgroup.subtree_control");
  std::string name = UniqueName();
  oci::Resources res;
  res.hugepage_limits.push_back({"2MB", 64 << 20});
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_TRUE(m) << m.error().message;
  {
    Cleanup cleanup(m->get());
    EXPECT_EQ((*m)->paths().mode, Mode::kHybrid);
    EXPECT_EQ(ReadText((*m)->paths().unified + "/hugetlb.2MB.max"), std::to_string(64 << 20));
    ASSERT_EQ((*m)->paths().subtree_enabled.size(),
              before.find("hugetlb") == std::string::npos ? 1u : 0u);
  }
  // Switched off again, so that hugetlb can still be mounted as v1 on this host.
  EXPECT_EQ(ReadText(unified + "/cgroup.subtree_control"), before);
}

// The conformance suite's linux_cgroups_memory cases, as it reads them back.
TEST(CgroupV1, ConformanceMemoryCases) {
  REQUIRE_V1();
  for (int64_t limit : {50593792LL, 151781376LL}) {
    for (uint64_t swappiness : {10u, 100u}) {
      std::string name = UniqueName();
      oci::Resources res;
      res.memory.emplace();
      res.memory->limit = res.memory->reservation = res.memory->swap = limit;
      res.memory->kernel = res.memory->kernel_tcp = limit;
      res.memory->swappiness = swappiness;
      res.memory->disable_oom_killer = true;
      auto m = Manager::Create(Request{.container_id = name, .resources = &res});
      ASSERT_TRUE(m) << m.error().message;
      Cleanup cleanup(m->get());
      std::string d = Dir(**m, "memory");
      std::string v = std::to_string(limit);
      EXPECT_EQ(ReadText(d + "/memory.limit_in_bytes"), v);
      EXPECT_EQ(ReadText(d + "/memory.soft_limit_in_bytes"), v);
      if (Exists(d + "/memory.memsw.limit_in_bytes")) {
        EXPECT_EQ(ReadText(d + "/memory.memsw.limit_in_bytes"), v);
      }
      if (Exists(d + "/memory.kmem.tcp.limit_in_bytes")) {
        EXPECT_EQ(ReadText(d + "/memory.kmem.tcp.limit_in_bytes"), v);
      }
      EXPECT_EQ(ReadText(d + "/memory.swappiness"), std::to_string(swappiness));
      EXPECT_EQ(ReadText(d + "/memory.oom_control").rfind("oom_kill_disable 1", 0), 0u);
    }
  }
}

TEST(CgroupV1, ContainerMountsListEveryHierarchy) {
  REQUIRE_V1();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  auto mounts = ContainerMounts((*m)->paths());
  ASSERT_TRUE(mounts) << mounts.error().message;
  auto layout = ReadLayout("/sys/fs/cgroup");
  size_t want = layout->v1.size() + (layout->mode == Mode::kHybrid ? 1 : 0);
  ASSERT_EQ(mounts->size(), want);
  for (const auto& cm : *mounts) {
    EXPECT_EQ(cm.subpath, "/" + name) << cm.name;
    EXPECT_TRUE(Exists(cm.host_dir)) << cm.host_dir;
    if (cm.unified) {
      EXPECT_EQ(cm.name, "unified");
    } else {
      EXPECT_EQ(cm.host_dir, "/sys/fs/cgroup/" + cm.name + "/" + name);
    }
    if (cm.name == "systemd") {
      EXPECT_EQ(cm.controllers, std::vector<std::string>{"name=systemd"});
    }
  }
}

TEST(CgroupV1, DestroyRemovesEveryDirectory) {
  REQUIRE_V1();
  std::string name = UniqueName();
  Request req{.container_id = name};  // no cgroupsPath: "/<id>"
  auto m = Manager::Create(req);
  ASSERT_TRUE(m) << m.error().message;
  auto dirs = AllDirs((*m)->paths());
  ASSERT_FALSE(dirs.empty());
  for (const auto& d : dirs) {
    EXPECT_TRUE(Exists(d)) << d;
    EXPECT_EQ(d.substr(d.find_last_of('/') + 1), name);
  }
  {
    Child child;
    ASSERT_TRUE((*m)->AddProcess(child.pid()));
    auto destroyed = (*m)->Destroy();
    ASSERT_TRUE(destroyed) << destroyed.error().message;
    ASSERT_TRUE(child.WaitFor(5000)) << "Destroy left the child alive";
    EXPECT_TRUE(WIFSIGNALED(child.Wait()));
  }
  for (const auto& d : dirs) EXPECT_FALSE(Exists(d)) << d;
}

TEST(CgroupV1, AddProcessPidsFreezeThawKill) {
  REQUIRE_V1();
  std::string name = UniqueName();
  oci::Resources res;
  Request req{.container_id = name, .cgroups_path = "/" + name, .resources = &res};
  auto m = Manager::Create(req);
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Manager& mgr = **m;

  Shared<std::atomic<uint64_t>> counter;
  Child child([&] {
    for (;;) counter->fetch_add(1);
  });
  ASSERT_TRUE(mgr.AddProcess(child.pid()));
  // The child is in every hierarchy of the container.
  auto in = ReadProcCgroup(child.pid());
  ASSERT_TRUE(in);
  for (const auto& [controller, dir] : mgr.paths().v1)
    EXPECT_EQ((*in)[controller], "/" + name) << controller;
  if (!mgr.paths().unified.empty()) {
    EXPECT_EQ((*in)[""], "/" + name);
  }
  auto pids = mgr.Pids();
  ASSERT_TRUE(pids) << pids.error().message;
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});

  ASSERT_TRUE(mgr.Freeze());
  EXPECT_TRUE(mgr.IsFrozen().value_or(false));
  if (auto d = Dir(mgr, "freezer"); !d.empty()) {
    EXPECT_EQ(ReadText(d + "/freezer.state"), "FROZEN");
  }
  uint64_t before = counter->load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(counter->load(), before) << "a frozen process kept running";
  ASSERT_TRUE(mgr.Thaw());
  EXPECT_FALSE(mgr.IsFrozen().value_or(true));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(counter->load(), before) << "a thawed process did not run";

  ASSERT_TRUE(mgr.Kill(SIGTERM));
  ASSERT_TRUE(child.WaitFor(5000));
  int status = child.Wait();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

void ExpectInEveryHierarchy(const Manager& m, pid_t pid, const std::string& name) {
  auto in = ReadProcCgroup(pid);
  ASSERT_TRUE(in) << in.error().message;
  for (const auto& [controller, dir] : m.paths().v1)
    EXPECT_EQ((*in)[controller], "/" + name) << controller;
  if (!m.paths().unified.empty()) EXPECT_EQ((*in)[""], "/" + name) << "unified";
}

TEST(CgroupV1, SelfJoinPlacesTheFirstProcessEverywhere) {
  REQUIRE_V1();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  auto join = (*m)->PrepareSelfJoin();
  ASSERT_TRUE(join) << join.error().message;
  size_t v1_dirs = AllDirs((*m)->paths()).size() - ((*m)->paths().unified.empty() ? 0 : 1);
  EXPECT_EQ(join->v1_tasks.size(), v1_dirs);
  EXPECT_EQ(join->unified_dir.ok(), !(*m)->paths().unified.empty());

  SelfJoiningChild child(*join);
  ASSERT_GT(child.pid(), 0);
  ASSERT_EQ(child.error(), 0) << std::strerror(child.error());
  ASSERT_TRUE((*m)->CompleteJoin(child.pid(), SelfJoined{.unified = true, .v1 = true}));
  ExpectInEveryHierarchy(**m, child.pid(), name);
  auto pids = (*m)->Pids();
  ASSERT_TRUE(pids) << pids.error().message;
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
}

TEST(CgroupV1, CompleteJoinMovesByPidOnlyWhatWasNotJoined) {
  REQUIRE_V1();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  if ((*m)->paths().unified.empty()) GTEST_SKIP() << "no unified hierarchy beside v1";
  Child child;
  auto before = ReadProcCgroup(child.pid());
  ASSERT_TRUE(before);
  // "v1 joined by itself": only the unified directory is written.
  ASSERT_TRUE((*m)->CompleteJoin(child.pid(), SelfJoined{.unified = false, .v1 = true}));
  auto after = ReadProcCgroup(child.pid());
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)[""], "/" + name);
  for (const auto& [controller, dir] : (*m)->paths().v1)
    EXPECT_EQ((*after)[controller], (*before)[controller]) << controller << " was moved";
  ASSERT_TRUE((*m)->CompleteJoin(child.pid(), SelfJoined{}));
  ExpectInEveryHierarchy(**m, child.pid(), name);
}

TEST(CgroupV1, LegacyModeKillsWithFreezeAndSignals) {
  REQUIRE_V1();
  // The same directories driven as on a v1-only host: no cgroup.kill, no unified dir.
  std::string name = UniqueName();
  Request req{.container_id = name};
  auto created = Manager::Create(req);
  ASSERT_TRUE(created) << created.error().message;
  Paths legacy = (*created)->paths();
  legacy.mode = Mode::kLegacy;
  legacy.unified.clear();
  auto m = Manager::Load(legacy);
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup_all(created->get());  // the unified dir too, at the end
  Child a, b;
  ASSERT_TRUE((*m)->AddProcess(a.pid()));
  ASSERT_TRUE((*m)->AddProcess(b.pid()));
  ASSERT_TRUE((*m)->Freeze());
  EXPECT_EQ(ReadText("/proc/" + std::to_string(a.pid()) + "/status").find("State:\tS"),
            std::string::npos)
      << "frozen task still reported sleeping";
  // Kill while frozen: Destroy must thaw so that SIGKILL is delivered.
  auto r = (*m)->Destroy();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(a.WaitFor(5000));
  EXPECT_TRUE(b.WaitFor(5000));
  for (const auto& [c, d] : legacy.v1) EXPECT_FALSE(Exists(d)) << d;
}

TEST(CgroupV1, PidsAreRecursive) {
  REQUIRE_V1();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Paths p = (*m)->paths();
  p.mode = Mode::kLegacy;  // read the v1 pids hierarchy
  p.unified.clear();
  auto legacy = Manager::Load(p);
  ASSERT_TRUE(legacy);
  Child a, b;
  ASSERT_TRUE((*m)->AddProcess(a.pid()));
  std::string pids_dir = p.v1.at("pids");
  std::string sub = pids_dir + "/nested";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ASSERT_TRUE((*m)->AddProcess(b.pid()));
  ASSERT_TRUE(fs::Write(sub, "cgroup.procs", std::to_string(b.pid())));
  auto pids = (*legacy)->Pids();
  ASSERT_TRUE(pids) << pids.error().message;
  std::sort(pids->begin(), pids->end());
  std::vector<pid_t> want{a.pid(), b.pid()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*pids, want);
  // Destroy (in Cleanup) removes the nested cgroup the "container" made as well.
}

TEST(CgroupV1, RejectedValueLeavesNothingBehind) {
  REQUIRE_V1();
  std::string name = UniqueName();
  oci::Resources res;
  res.memory.emplace();
  res.memory->limit = 100000000;
  res.cpu.emplace();
  res.cpu->cpus = "999";  // no such CPU
  Request req{.container_id = name, .cgroups_path = "/" + name + "/inner", .resources = &res};
  auto m = Manager::Create(req);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message.rfind(
                "write 999 to /sys/fs/cgroup/cpuset/" + name + "/inner/cpuset.cpus: ", 0),
            0u)
      << m.error().message;
  EXPECT_TRUE(FindTestCgroups(name).empty());
}

TEST(CgroupV1, SharesOutOfRangeIsAnError) {
  REQUIRE_V1();
  std::string name = UniqueName();
  oci::Resources res;
  res.cpu.emplace();
  res.cpu->shares = 1;  // the kernel silently raises it to 2
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("cpu.shares 1 is out of range"), std::string::npos)
      << m.error().message;
  EXPECT_TRUE(FindTestCgroups(name).empty());
}

TEST(CgroupV1, MissingControllerIsAnError) {
  REQUIRE_V1();
  auto layout = ReadLayout("/sys/fs/cgroup");
  bool net_cls = false;
  for (const auto& h : layout->v1)
    for (const auto& c : h.controllers) net_cls |= c == "net_cls";
  if (net_cls) GTEST_SKIP() << "net_cls is mounted here";
  std::string name = UniqueName();
  oci::Resources res;
  res.network.emplace();
  res.network->class_id = 0x100001;
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message,
            "linux.resources.network (classID): the net_cls cgroup controller is not mounted "
            "(cgroup v2 has no equivalent)");
  EXPECT_TRUE(FindTestCgroups(name).empty());
}

TEST(CgroupV1, RelativePathIsBelowOwnCgroupPerHierarchy) {
  REQUIRE_V1();
  std::string name = UniqueName();
  auto own = ReadProcCgroup();
  ASSERT_TRUE(own);
  Request req{.container_id = "c", .cgroups_path = name + "/cgrouptest/container"};
  auto m = Manager::Create(req);
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  const Paths& p = (*m)->paths();
  for (const auto& [controller, dir] : p.v1) {
    std::string own_path = own->at(controller);
    std::string want =
        "/sys/fs/cgroup/" + (controller == "name=systemd" ? std::string("systemd") : controller);
    want += (own_path == "/" ? "" : own_path) + "/" + name + "/cgrouptest/container";
    EXPECT_EQ(dir, want) << controller;
    EXPECT_TRUE(Exists(dir));
  }
  // Parents first: name, name/cgrouptest, name/cgrouptest/container in each hierarchy.
  EXPECT_EQ(p.created.size() % 3, 0u);
  for (size_t i = 0; i + 2 < p.created.size(); i += 3) {
    EXPECT_EQ(p.created[i + 1], p.created[i] + "/cgrouptest");
    EXPECT_EQ(p.created[i + 2], p.created[i] + "/cgrouptest/container");
  }
}

TEST(CgroupV1, DestroyKeepsDirectoriesItDidNotCreate) {
  REQUIRE_V1();
  std::string name = UniqueName();
  std::string pre = "/sys/fs/cgroup/pids/" + name;
  ASSERT_EQ(::mkdir(pre.c_str(), 0755), 0);
  {
    auto m = Manager::Create(Request{.container_id = "x", .cgroups_path = "/" + name + "/c"});
    ASSERT_TRUE(m) << m.error().message;
    auto r = (*m)->Destroy();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(Exists(pre + "/c"));
    EXPECT_FALSE(Exists("/sys/fs/cgroup/memory/" + name));  // made by Create: removed
  }
  EXPECT_TRUE(Exists(pre));
  ::rmdir(pre.c_str());
}

TEST(CgroupV1, DotDotIsRejected) {
  for (std::string path : {"/a/../b", "../x", "a/.."}) {
    auto m = Manager::Create(Request{.container_id = "x", .cgroups_path = path});
    ASSERT_FALSE(m) << path;
    EXPECT_EQ(m.error().message, "cgroupsPath \"" + path + "\": \"..\" is not allowed");
  }
}

TEST(CgroupV1, UpdateChangesOnlyWhatIsSet) {
  REQUIRE_V1();
  std::string name = UniqueName();
  oci::Resources res;
  res.memory.emplace();
  res.memory->limit = 100 << 20;
  res.pids = oci::Pids{10};
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  oci::Resources update;
  update.pids = oci::Pids{-1};
  update.cpu.emplace();
  update.cpu->quota = 20000;
  ASSERT_TRUE((*m)->Update(update));
  EXPECT_EQ(ReadText(Dir(**m, "pids") + "/pids.max"), "max");
  EXPECT_EQ(ReadText(Dir(**m, "cpu") + "/cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(ReadText(Dir(**m, "memory") + "/memory.limit_in_bytes"), std::to_string(100 << 20));
  // A lower memory limit with swap set: swap must follow in the right order.
  oci::Resources lower;
  lower.memory.emplace();
  lower.memory->limit = 50 << 20;
  lower.memory->swap = 60 << 20;
  auto r = (*m)->Update(lower);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(ReadText(Dir(**m, "memory") + "/memory.limit_in_bytes"), std::to_string(50 << 20));
}

// A value refused halfway through an update: what was already written goes back.
TEST(CgroupV1, RejectedUpdatePutsBackWhatItWrote) {
  REQUIRE_V1();
  std::string name = UniqueName();
  oci::Resources res;
  res.memory.emplace();
  res.memory->limit = 100 << 20;
  res.memory->swap = 200 << 20;
  res.cpu.emplace();
  res.cpu->shares = 512;
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  std::string cpuset = Dir(**m, "cpuset"), cpu = Dir(**m, "cpu"), mem = Dir(**m, "memory");
  std::string cpus_before = ReadText(cpuset + "/cpuset.cpus");
  // cpuset first (written), then cpu.shares 1 (clamped by the kernel: an error).
  oci::Resources bad_shares;
  bad_shares.cpu.emplace();
  bad_shares.cpu->cpus = "0";
  bad_shares.cpu->shares = 1;
  auto r = (*m)->Update(bad_shares);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cpu.shares 1 is out of range"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(ReadText(cpuset + "/cpuset.cpus"), cpus_before);
  EXPECT_EQ(ReadText(cpu + "/cpu.shares"), "512");
  // memory and swap raised (swap first, then memory), then a page size that does not exist.
  oci::Resources bad_hugetlb;
  bad_hugetlb.memory.emplace();
  bad_hugetlb.memory->limit = 300 << 20;
  bad_hugetlb.memory->swap = 400 << 20;
  bad_hugetlb.hugepage_limits.push_back({"3MB", 1 << 20});
  r = (*m)->Update(bad_hugetlb);
  ASSERT_FALSE(r);  // no such page size (v1), or hugetlb not enabled for it (v2)
  EXPECT_EQ(ReadText(mem + "/memory.limit_in_bytes"), std::to_string(100 << 20));
  EXPECT_EQ(ReadText(mem + "/memory.memsw.limit_in_bytes"), std::to_string(200 << 20));
}

TEST(CgroupV1, OomNotifierFiresOnOomKill) {
  REQUIRE_V1();
  auto layout = ReadLayout("/sys/fs/cgroup");
  if (layout->mode == Mode::kUnified) GTEST_SKIP();
  std::string name = UniqueName();
  oci::Resources res;
  res.memory.emplace();
  res.memory->limit = 16 << 20;
  res.memory->swap = 16 << 20;
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  if ((*m)->paths().v1.count("memory") == 0) GTEST_SKIP() << "memory is not a v1 controller here";
  auto fd = (*m)->OpenOomNotifier();
  ASSERT_TRUE(fd) << fd.error().message;
  uint64_t last = OomKillCount((*m)->paths()).value_or(0);
  EXPECT_EQ(last, 0u);
  Shared<std::atomic<int>> go;
  Child hog([&] {
    while (go->load() == 0) ::usleep(1000);
    for (;;) {
      char* p = static_cast<char*>(::malloc(1 << 20));
      if (p) std::memset(p, 1, 1 << 20);
    }
  });
  ASSERT_TRUE((*m)->AddProcess(hog.pid()));
  go->store(1);
  struct pollfd pfd {
    fd->get(), POLLIN, 0
  };
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1) << "no OOM notification within 10s";
  auto events = ReadOomEvents((*m)->paths(), fd->get(), last);
  ASSERT_TRUE(events) << events.error().message;
  EXPECT_GE(*events, 1u);
  ASSERT_TRUE(hog.WaitFor(5000));
  EXPECT_EQ(WTERMSIG(hog.Wait()), SIGKILL);
  EXPECT_GE(OomKillCount((*m)->paths()).value_or(0), 1u);
}

TEST(CgroupV1, StatsOfARunningProcess) {
  REQUIRE_V1();
  std::string name = UniqueName();
  oci::Resources res;
  res.pids = oci::Pids{100};
  res.memory.emplace();
  res.memory->limit = 256 << 20;
  auto m = Manager::Create(Request{.container_id = name, .resources = &res});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Shared<std::atomic<int>> go;
  Child busy([&] {
    while (go->load() == 0) ::usleep(1000);
    std::vector<char> buf(8 << 20, 1);  // touch some memory
    volatile uint64_t sink = 0;
    for (uint64_t i = 0;; ++i) sink = sink + buf[i % buf.size()];
  });
  ASSERT_TRUE((*m)->AddProcess(busy.pid()));
  go->store(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto s = (*m)->GetStats();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GT(s->cpu.total, 50'000'000u);  // >= 50 ms of CPU in 300 ms of spinning
  EXPECT_GE(s->cpu.per_cpu.size(), 1u);
  EXPECT_GT(s->memory.usage.usage, 4u << 20);
  EXPECT_EQ(s->memory.usage.limit, 256u << 20);
  EXPECT_TRUE(s->memory.stat.contains("rss"));
  EXPECT_EQ(s->pids.current, 1u);
  EXPECT_EQ(s->pids.limit, 100u);
  std::string json = RuncStatsEventJson(name, *s);
  EXPECT_EQ(json.rfind("{\"type\":\"stats\",\"id\":\"" + name + "\",\"data\":{\"cpu\":", 0), 0u)
      << json;
  EXPECT_NE(json.find("\"pids\":{\"current\":1,\"limit\":100}"), std::string::npos) << json;
}

}  // namespace
}  // namespace berth::cgroup::testing
