// cgroup v2: placement, freeze, kill and the eBPF device filter against the real
// unified hierarchy (on this hybrid host: the empty one at /sys/fs/cgroup/unified), and
// every resource file against a temporary directory tree shaped like a v2 hierarchy.
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/statfs.h>

#include <thread>

#include "cgroup/hierarchy.h"
#include "cgroup/oom.h"
#include "cgroup/stats.h"
#include "cgroup/v2.h"
#include "cgroup/v2_devices.h"
#include "test_util.h"

namespace berth::cgroup::testing {
namespace {

// The host's v2 hierarchy: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a
// hybrid one.
std::string UnifiedRoot() {
  for (const char* p : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs st;
    if (::statfs(p, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) return p;
  }
  return "";
}

#define REQUIRE_UNIFIED()                                   \
  std::string root = UnifiedRoot();                         \
  if (root.empty()) GTEST_SKIP() << "no cgroup2 hierarchy"; \
  (void)0

TEST(CgroupV2Real, PlacementAndDestroy) {
  REQUIRE_UNIFIED();
  std::string before = ReadText(root + "/cgroup.subtree_control");
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name, .root = root});
  ASSERT_TRUE(m) << m.error().message;
  const Paths& p = (*m)->paths();
  EXPECT_EQ(p.mode, Mode::kUnified);
  EXPECT_TRUE(p.v1.empty());
  EXPECT_EQ(p.unified, root + "/" + name);
  EXPECT_EQ(p.created, std::vector<std::string>{root + "/" + name});
  {
    Child child;
    ASSERT_TRUE((*m)->AddProcess(child.pid()));
    auto in = ReadProcCgroup(child.pid());
    ASSERT_TRUE(in);
    EXPECT_EQ((*in)[""], "/" + name);
    auto pids = (*m)->Pids();
    ASSERT_TRUE(pids) << pids.error().message;
    EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
    auto r = (*m)->Destroy();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(child.WaitFor(5000));
  }
  EXPECT_FALSE(Exists(root + "/" + name));
  // Controllers switched on for the container are off again.
  EXPECT_EQ(ReadText(root + "/cgroup.subtree_control"), before);
}

TEST(CgroupV2Real, SelfJoinIsACloneIntoTheCgroup) {
  REQUIRE_UNIFIED();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name, .root = root});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  auto join = (*m)->PrepareSelfJoin();
  ASSERT_TRUE(join) << join.error().message;
  ASSERT_TRUE(join->unified_dir.ok());
  EXPECT_TRUE(join->v1_tasks.empty());
  SelfJoiningChild child(*join);
  ASSERT_GT(child.pid(), 0);
  ASSERT_EQ(child.error(), 0);
  ASSERT_TRUE((*m)->CompleteJoin(child.pid(), SelfJoined{.unified = true}));
  auto in = ReadProcCgroup(child.pid());
  ASSERT_TRUE(in);
  EXPECT_EQ((*in)[""], "/" + name);
  auto pids = (*m)->Pids();
  ASSERT_TRUE(pids) << pids.error().message;
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
}

TEST(CgroupV2Real, FreezeWaitsForFrozenAndThaws) {
  REQUIRE_UNIFIED();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name, .root = root});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Shared<std::atomic<uint64_t>> counter;
  Child child([&] {
    for (;;) counter->fetch_add(1);
  });
  ASSERT_TRUE((*m)->AddProcess(child.pid()));
  ASSERT_TRUE((*m)->Freeze());
  std::string dir = (*m)->paths().unified;
  EXPECT_NE(ReadText(dir + "/cgroup.events").find("frozen 1"), std::string::npos);
  EXPECT_TRUE((*m)->IsFrozen().value_or(false));
  uint64_t before = counter->load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(counter->load(), before);
  ASSERT_TRUE((*m)->Thaw());
  EXPECT_NE(ReadText(dir + "/cgroup.events").find("frozen 0"), std::string::npos);
  EXPECT_FALSE((*m)->IsFrozen().value_or(true));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(counter->load(), before);
}

TEST(CgroupV2Real, KillUsesCgroupKillAndReachesChildren) {
  REQUIRE_UNIFIED();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name, .root = root});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Child a, b;
  ASSERT_TRUE((*m)->AddProcess(a.pid()));
  ASSERT_TRUE((*m)->AddProcess(b.pid()));
  // A frozen cgroup is killed too.
  ASSERT_TRUE((*m)->Freeze());
  ASSERT_TRUE((*m)->Kill(SIGKILL));
  ASSERT_TRUE(a.WaitFor(5000));
  ASSERT_TRUE(b.WaitFor(5000));
  EXPECT_EQ(WTERMSIG(a.Wait()), SIGKILL);
  EXPECT_EQ(WTERMSIG(b.Wait()), SIGKILL);
}

TEST(CgroupV2Real, KillWithOtherSignalSignalsEachProcess) {
  REQUIRE_UNIFIED();
  std::string name = UniqueName();
  auto m = Manager::Create(Request{.container_id = name, .root = root});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  Child a;
  ASSERT_TRUE((*m)->AddProcess(a.pid()));
  ASSERT_TRUE((*m)->Kill(SIGTERM));
  ASSERT_TRUE(a.WaitFor(5000));
  EXPECT_EQ(WTERMSIG(a.Wait()), SIGTERM);
}

oci::DeviceRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                     std::optional<int64_t> minor, std::string access) {
  oci::DeviceRule r;
  r.allow = allow;
  r.type = std::move(type);
  r.major = major;
  r.minor = minor;
  r.access = std::move(access);
  return r;
}

// Opens `path` from inside the container and reports errno (0 = opened).
struct OpenProbe {
  std::atomic<int> go{0};
  std::atomic<int> done{0};
  int result[2] = {-1, -1};
};

TEST(CgroupV2Real, DeviceProgramFiltersOpens) {
  REQUIRE_UNIFIED();
  std::string name = UniqueName();
  oci::Resources res;
  res.devices = {Rule(false, "a", {}, {}, "rwm"), Rule(true, "c", 1, 3, "rwm"),
                 Rule(true, "c", 1, 5, "r"), Rule(false, "c", 1, 3, "w")};
  auto m = Manager::Create(Request{.container_id = name, .resources = &res, .root = root});
  ASSERT_TRUE(m) << m.error().message;
  Cleanup cleanup(m->get());
  auto ids = v2::AttachedDevicePrograms((*m)->paths().unified);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(ids->size(), 1u);

  Shared<OpenProbe> probe;
  Child child([&] {
    while (probe->go.load() == 0) ::usleep(1000);
    int round = 0;
    for (const char* path : {"/dev/null", "/dev/zero"}) {
      // /dev/null: allowed rwm, then write denied by the last rule; /dev/zero: read only.
      int fd = ::open(path, round == 0 ? O_RDONLY : O_RDWR);
      probe->result[round++] = fd >= 0 ? 0 : errno;
      if (fd >= 0) ::close(fd);
    }
    int fd = ::open("/dev/null", O_WRONLY);
    probe->result[0] = probe->result[0] * 1000 + (fd >= 0 ? 0 : errno);
    probe->done.store(1);
    for (;;) ::pause();
  });
  ASSERT_TRUE((*m)->AddProcess(child.pid()));
  probe->go.store(1);
  for (int i = 0; i < 5000 && probe->done.load() == 0; ++i) ::usleep(1000);
  ASSERT_EQ(probe->done.load(), 1);
  EXPECT_EQ(probe->result[0], 0 * 1000 + EPERM) << "/dev/null: read allowed, write denied";
  EXPECT_EQ(probe->result[1], EPERM) << "/dev/zero opened read-write";

  // Update replaces the program rather than stacking a second one.
  oci::Resources update;
  update.devices = {Rule(true, "a", {}, {}, "rwm")};
  auto r = (*m)->Update(update);
  ASSERT_TRUE(r) << r.error().message;
  auto after = v2::AttachedDevicePrograms((*m)->paths().unified);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_NE((*after)[0], (*ids)[0]);
}

TEST(CgroupV2Real, UnknownUnifiedControllerIsAnError) {
  REQUIRE_UNIFIED();
  std::string name = UniqueName();
  oci::Resources res;
  res.unified["frobnicate.max"] = "1";
  auto m = Manager::Create(Request{.container_id = name, .resources = &res, .root = root});
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("linux.resources.unified \"frobnicate.max\": controller "
                                   "\"frobnicate\" is not available in " +
                                   root + "/" + name),
            std::string::npos)
      << m.error().message;
  EXPECT_FALSE(Exists(root + "/" + name));
}

// A directory tree shaped like a v2 hierarchy, with the files the kernel would have.
class FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cgroup-fake-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    Put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma");
    Put("cgroup.subtree_control", "");
    name_ = "c1";
    std::string d = name_ + "/";
    ASSERT_EQ(::mkdir((root_ + "/" + name_).c_str(), 0755), 0);
    for (const char* f : {"cgroup.controllers",
                          "cgroup.subtree_control",
                          "cgroup.procs",
                          "cgroup.events",
                          "cgroup.freeze",
                          "cpu.weight",
                          "cpu.max",
                          "cpu.max.burst",
                          "cpu.idle",
                          "cpuset.cpus",
                          "cpuset.mems",
                          "memory.max",
                          "memory.low",
                          "memory.high",
                          "memory.swap.max",
                          "memory.events",
                          "pids.max",
                          "io.weight",
                          "io.max",
                          "hugetlb.2MB.max",
                          "hugetlb.1GB.max",
                          "rdma.max"})
      Put(d + f, "");
    Put(d + "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Put(const std::string& rel, const std::string& text) {
    std::ofstream(root_ + "/" + rel) << text;
  }
  std::string Get(const std::string& file) { return ReadText(root_ + "/" + name_ + "/" + file); }

  Result<std::unique_ptr<Manager>> Create(const oci::Resources& r) {
    return Manager::Create(Request{
        .container_id = name_, .cgroups_path = "/" + name_, .resources = &r, .root = root_});
  }

  std::string root_, name_;
};

// A plain directory tree moves no process: the first process must not believe it
// joined by writing "0" to a regular file.
TEST_F(FakeTree, NoSelfJoinOffCgroupfs) {
  oci::Resources r;
  auto m = Create(r);
  ASSERT_TRUE(m) << m.error().message;
  auto join = (*m)->PrepareSelfJoin();
  ASSERT_TRUE(join) << join.error().message;
  EXPECT_FALSE(join->unified_dir.ok());
  EXPECT_TRUE(join->v1_tasks.empty());
}

TEST_F(FakeTree, CpuConversions) {
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->burst = 1000;
  r.cpu->idle = 1;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  auto m = Create(r);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ((*m)->paths().mode, Mode::kUnified);
  EXPECT_EQ((*m)->paths().unified, root_ + "/c1");
  EXPECT_TRUE((*m)->paths().created.empty());  // the directory was there already
  EXPECT_EQ(Get("cpu.weight"), "39");          // 1 + (1024-2)*9999/262142
  EXPECT_EQ(Get("cpu.max"), "50000 100000");
  EXPECT_EQ(Get("cpu.max.burst"), "1000");
  EXPECT_EQ(Get("cpu.idle"), "1");
  EXPECT_EQ(Get("cpuset.cpus"), "0-1");
  EXPECT_EQ(Get("cpuset.mems"), "0");

  oci::Resources quota_only;
  quota_only.cpu.emplace();
  quota_only.cpu->quota = -1;
  ASSERT_TRUE((*m)->Update(quota_only));
  EXPECT_EQ(Get("cpu.max"), "max 100000");
  oci::Resources period_only;
  period_only.cpu.emplace();
  period_only.cpu->period = 250000;
  ASSERT_TRUE((*m)->Update(period_only));
  EXPECT_EQ(Get("cpu.max"), "max 250000");
  // `update --cpu-quota` alone keeps the period, and --cpu-period alone the quota.
  quota_only.cpu->quota = 30000;
  ASSERT_TRUE((*m)->Update(quota_only));
  EXPECT_EQ(Get("cpu.max"), "30000 250000");
  period_only.cpu->period = 80000;
  ASSERT_TRUE((*m)->Update(period_only));
  EXPECT_EQ(Get("cpu.max"), "30000 80000");
}

TEST_F(FakeTree, SharesToWeightBounds) {
  EXPECT_EQ(v2::SharesToWeight(0), 0u);
  EXPECT_EQ(v2::SharesToWeight(2), 1u);
  EXPECT_EQ(v2::SharesToWeight(1024), 39u);
  EXPECT_EQ(v2::SharesToWeight(262144), 10000u);
  EXPECT_EQ(v2::BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(v2::BlkioWeightToIoWeight(1000), 10000u);
  EXPECT_EQ(v2::BlkioWeightToIoWeight(500), 4950u);
}

TEST_F(FakeTree, MemoryAndSwap) {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 << 20;
  r.memory->swap = 300 << 20;
  r.memory->reservation = 50 << 20;
  r.memory->swappiness = 10;  // no v2 file: ignored, as runc does
  auto m = Create(r);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(Get("memory.max"), std::to_string(100 << 20));
  EXPECT_EQ(Get("memory.swap.max"), std::to_string(200 << 20));  // swap alone
  EXPECT_EQ(Get("memory.low"), std::to_string(50 << 20));

  oci::Resources no_swap;
  no_swap.memory.emplace();
  no_swap.memory->limit = 64 << 20;
  no_swap.memory->swap = 64 << 20;
  ASSERT_TRUE((*m)->Update(no_swap));
  EXPECT_EQ(Get("memory.swap.max"), "0");

  oci::Resources unlimited;
  unlimited.memory.emplace();
  unlimited.memory->limit = -1;
  ASSERT_TRUE((*m)->Update(unlimited));
  EXPECT_EQ(Get("memory.max"), "max");
  EXPECT_EQ(Get("memory.swap.max"), "max");

  Put("c1/memory.current", "80000000\n");
  oci::Resources checked;
  checked.memory.emplace();
  checked.memory->limit = 70000000;
  checked.memory->check_before_update = true;
  auto below = (*m)->Update(checked);
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().message, "memory.limit 70000000 is below the current usage 80000000 of " +
                                       root_ + "/c1 (checkBeforeUpdate)");

  oci::Resources bad;
  bad.memory.emplace();
  bad.memory->limit = 100 << 20;
  bad.memory->swap = 50 << 20;
  auto e = (*m)->Update(bad);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "memory.swap 52428800 is below memory.limit 104857600 (swap is "
            "memory+swap)");
}

TEST_F(FakeTree, PidsIoHugetlbRdmaUnified) {
  oci::Resources r;
  r.pids = oci::Pids{-1};
  r.block_io.emplace();
  r.block_io->weight = 500;
  r.block_io->throttle_write_iops.push_back({8, 16, 300});
  r.hugepage_limits.push_back({"2MB", 1 << 30});
  r.rdma["mlx5_0"] = oci::Rdma{10, 1000};
  r.unified["memory.high"] = "123456789";
  auto m = Create(r);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(Get("pids.max"), "max");
  EXPECT_EQ(Get("io.weight"), "4950");
  EXPECT_EQ(Get("io.max"), "8:16 wiops=300");
  EXPECT_EQ(Get("hugetlb.2MB.max"), std::to_string(1 << 30));
  EXPECT_EQ(Get("rdma.max"), "mlx5_0 hca_handle=10 hca_object=1000");
  EXPECT_EQ(Get("memory.high"), "123456789");
  // Every controller the root offers was switched on for the container and, on a
  // v2-only host, left on (as runc does): the fake file holds the last "+controller".
  EXPECT_EQ(ReadText(root_ + "/cgroup.subtree_control"), "+rdma");
  EXPECT_TRUE((*m)->paths().subtree_enabled.empty());
}

TEST_F(FakeTree, Rejections) {
  oci::Resources rt;
  rt.cpu.emplace();
  rt.cpu->realtime_runtime = 1000;
  auto m = Create(rt);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message,
            "cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime bandwidth control");

  oci::Resources unknown;
  unknown.unified["foo.bar"] = "1";
  m = Create(unknown);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message,
            "linux.resources.unified \"foo.bar\": controller \"foo\" is not "
            "available in " +
                root_ +
                "/c1 (available: cpu cpuset hugetlb io "
                "memory pids rdma)");

  oci::Resources slash;
  slash.unified["../memory.max"] = "1";
  m = Create(slash);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "linux.resources.unified \"../memory.max\": must be a file name");

  oci::Resources page;
  page.hugepage_limits.push_back({"3MB", 1});
  m = Create(page);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "write 1 to " + root_ +
                                   "/c1/hugetlb.3MB.max: the kernel has no huge page size \"3MB\"");

  oci::Resources net;
  net.network.emplace();
  net.network->class_id = 1;
  m = Create(net);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("net_cls"), std::string::npos);
}

TEST_F(FakeTree, NewDirectoriesAreRemovedOnFailure) {
  oci::Resources r;
  r.pids = oci::Pids{5};
  auto m = Manager::Create(
      Request{.container_id = "x", .cgroups_path = "/a/b", .resources = &r, .root = root_});
  // mkdir in a plain tree makes no interface files, so Create fails part way...
  ASSERT_FALSE(m);
  // ...and what it made is gone.
  EXPECT_FALSE(Exists(root_ + "/a"));
}

TEST_F(FakeTree, OomNotifierAndCount) {
  Put("c1/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  oci::Resources r;
  auto m = Create(r);
  ASSERT_TRUE(m) << m.error().message;
  auto fd = (*m)->OpenOomNotifier();
  ASSERT_TRUE(fd) << fd.error().message;
  uint64_t last = 0;
  Put("c1/memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n");
  struct pollfd pfd {
    fd->get(), POLLIN, 0
  };
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
  auto n = ReadOomEvents((*m)->paths(), fd->get(), last);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(last, 2u);
  // Another change that is not an OOM kill: nothing to report.
  Put("c1/memory.events", "low 0\nhigh 1\nmax 3\noom 2\noom_kill 2\n");
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
  n = ReadOomEvents((*m)->paths(), fd->get(), last);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST_F(FakeTree, Stats) {
  Put("c1/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\n"
      "throttled_usec 30\n");
  Put("c1/memory.stat", "anon 4096\nfile 8192\n");
  Put("c1/memory.current", "12288\n");
  Put("c1/memory.max", "max\n");
  Put("c1/memory.swap.current", "100\n");
  Put("c1/memory.swap.max", "1000\n");
  Put("c1/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
  Put("c1/pids.current", "3\n");
  Put("c1/pids.max", "max\n");
  Put("c1/io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
  oci::Resources r;
  auto m = Create(r);
  ASSERT_TRUE(m) << m.error().message;
  auto s = (*m)->GetStats();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->from_v2);
  EXPECT_EQ(s->cpu.total, 1500000u);
  EXPECT_EQ(s->cpu.user, 1000000u);
  EXPECT_EQ(s->cpu.kernel, 500000u);
  EXPECT_EQ(s->cpu.throttled_periods, 2u);
  EXPECT_EQ(s->cpu.throttled_time, 30000u);
  EXPECT_EQ(s->memory.cache, 8192u);
  EXPECT_EQ(s->memory.usage.usage, 12288u);
  EXPECT_EQ(s->memory.usage.limit, UINT64_MAX);
  EXPECT_EQ(s->memory.usage.failcnt, 4u);
  EXPECT_EQ(s->memory.swap_only.usage, 100u);
  EXPECT_EQ(s->memory.swap.usage, 12388u);  // memory+swap, as runc reports it
  EXPECT_EQ(s->memory.swap.limit, 1000u);   // unlimited memory: left as swap alone
  EXPECT_EQ(s->memory.oom_kill, 1u);
  EXPECT_EQ(s->pids.current, 3u);
  EXPECT_EQ(s->pids.limit, 0u);
  ASSERT_EQ(s->io.size(), 1u);
  EXPECT_EQ(s->io[0].wbytes, 20u);
  ASSERT_EQ(s->blkio.io_service_bytes_recursive.size(), 2u);
  EXPECT_EQ(s->blkio.io_service_bytes_recursive[1].op, "Write");
}

}  // namespace
}  // namespace berth::cgroup::testing
