// Pure parsing: mountinfo, /proc/<pid>/cgroup, cgroupsPath, mode detection, Paths JSON,
// device rules and the BPF program (verified by the real kernel's verifier).
#include <gtest/gtest.h>

#include "cgroup/cgroup.h"
#include "cgroup/devices.h"
#include "cgroup/hierarchy.h"
#include "cgroup/path.h"
#include "cgroup/stats.h"
#include "cgroup/v2_devices.h"

namespace berth::cgroup {
namespace {

constexpr const char* kMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,clone_children,cpuset\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate\n"
    "50 23 0:29 /docker/abc /mnt/my\\040cg rw - cgroup cgroup rw,cpu,cpuacct\n"
    "60 23 0:40 / /proc rw - proc proc rw\n";

TEST(Hierarchy, ParseMountinfo) {
  auto h = ParseMountinfo(kMountinfo);
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h[0].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(h[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_FALSE(h[0].unified);
  EXPECT_EQ(h[1].controllers, std::vector<std::string>{"cpuset"});
  EXPECT_EQ(h[2].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_TRUE(h[3].unified);
  EXPECT_EQ(h[3].mountpoint, "/sys/fs/cgroup/unified");
  EXPECT_EQ(h[4].mountpoint, "/mnt/my cg");  // \040 unescaped
  EXPECT_EQ(h[4].root, "/docker/abc");
  EXPECT_EQ(HierarchyName(h[0]), "cpu,cpuacct");
}

TEST(Hierarchy, ParseProcCgroup) {
  auto m = ParseProcCgroup("12:cpu,cpuacct:/a/b\n3:name=systemd:/user.slice\n0::/x/y\n");
  EXPECT_EQ(m["cpu"], "/a/b");
  EXPECT_EQ(m["cpuacct"], "/a/b");
  EXPECT_EQ(m["name=systemd"], "/user.slice");
  EXPECT_EQ(m[""], "/x/y");
}

TEST(Hierarchy, DetectModeOfThisHost) {
  auto mode = DetectMode("/sys/fs/cgroup");
  ASSERT_TRUE(mode) << mode.error().message;
  auto layout = ReadLayout("/sys/fs/cgroup");
  ASSERT_TRUE(layout) << layout.error().message;
  if (*mode == Mode::kHybrid) {
    ASSERT_TRUE(layout->v2);
    EXPECT_EQ(layout->v2->mountpoint, "/sys/fs/cgroup/unified");
    EXPECT_FALSE(layout->v1.empty());
  }
  if (*mode == Mode::kUnified) {
    EXPECT_TRUE(layout->v1.empty());
  }
  auto none = DetectMode("/tmp");
  EXPECT_FALSE(none);
}

TEST(CgroupsPath, Parse) {
  auto p = ParseCgroupsPath("", "c1");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->absolute);
  EXPECT_EQ(p->path, "c1");
  p = ParseCgroupsPath("//a/./b/", "c1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->path, "a/b");
  p = ParseCgroupsPath("testdir/cgrouptest/container", "c1");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->absolute);
  EXPECT_FALSE(ParseCgroupsPath("a/../b", "c1"));
  EXPECT_EQ(ParseCgroupsPath("/", "c1").error().message,
            "cgroupsPath \"/\": names the root cgroup");
  EXPECT_EQ(ParseCgroupsPath(".", "c1").error().message,
            "cgroupsPath \".\": names the runtime's own cgroup");
}

// exec --cgroup: runc 1.4 joins the path on and refuses what leaves the container's cgroup.
TEST(CgroupsPath, SubCgroupPaths) {
  Paths base;
  base.mode = Mode::kHybrid;
  base.v1 = {{"cpu", "/cg/cpu,cpuacct/c1"},
             {"cpuacct", "/cg/cpu,cpuacct/c1"},
             {"pids", "/cg/pids/c1"}};
  base.unified = "/cg/unified/c1";
  auto all = SubCgroupPaths(base, {{"", "a/./b/"}});
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->v1.at("pids"), "/cg/pids/c1/a/b");
  EXPECT_EQ(all->unified, "/cg/unified/c1/a/b");
  auto one = SubCgroupPaths(base, {{"cpu", "/x/../y"}});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->v1.at("cpu"), "/cg/cpu,cpuacct/c1/y");
  EXPECT_EQ(one->v1.at("cpuacct"), "/cg/cpu,cpuacct/c1/y");  // co-mounted: moved together
  EXPECT_EQ(one->v1.at("pids"), "/cg/pids/c1");
  EXPECT_EQ(one->unified, "/cg/unified/c1");
  for (const char* bad : {"..", "/../x", "a/../../x"}) {
    auto r = SubCgroupPaths(base, {{"", bad}});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL) << bad;
  }
  auto unknown = SubCgroupPaths(base, {{"memory", "x"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, EINVAL);
}

TEST(CgroupsPath, HierarchyDir) {
  Hierarchy cpu{"/sys/fs/cgroup/cpu,cpuacct", "/", {"cpu", "cpuacct"}, false};
  CgroupsPath abs{true, "a/b"};
  CgroupsPath rel{false, "x"};
  EXPECT_EQ(HierarchyDir(cpu, abs, "/ignored"), "/sys/fs/cgroup/cpu,cpuacct/a/b");
  EXPECT_EQ(HierarchyDir(cpu, rel, "/"), "/sys/fs/cgroup/cpu,cpuacct/x");
  EXPECT_EQ(HierarchyDir(cpu, rel, "/user.slice/s1"), "/sys/fs/cgroup/cpu,cpuacct/user.slice/s1/x");
  // Inside a container the mount shows only a subtree.
  Hierarchy nested{"/sys/fs/cgroup/cpu", "/docker/abc", {"cpu"}, false};
  EXPECT_EQ(HierarchyDir(nested, rel, "/docker/abc/sub"), "/sys/fs/cgroup/cpu/sub/x");
  auto own = ParseProcCgroup("4:cpu,cpuacct:/p\n0::/q\n");
  EXPECT_EQ(OwnPath(cpu, own), "/p");
  EXPECT_EQ(OwnPath(Hierarchy{"/u", "/", {}, true}, own), "/q");
}

TEST(PathsJson, RoundTrip) {
  Paths p;
  p.mode = Mode::kHybrid;
  p.v1 = {{"cpu", "/sys/fs/cgroup/cpu/c1"}, {"name=systemd", "/sys/fs/cgroup/systemd/c1"}};
  p.unified = "/sys/fs/cgroup/unified/c1";
  p.created = {"/sys/fs/cgroup/cpu/c1", "/sys/fs/cgroup/unified/c1"};
  p.subtree_enabled = {{"/sys/fs/cgroup/unified", "hugetlb"}};
  auto back = PathsFromJson(PathsToJson(p));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->mode, p.mode);
  EXPECT_EQ(back->root, p.root);
  EXPECT_EQ(back->v1, p.v1);
  EXPECT_EQ(back->unified, p.unified);
  EXPECT_EQ(back->created, p.created);
  EXPECT_EQ(back->subtree_enabled, p.subtree_enabled);
  EXPECT_FALSE(PathsFromJson("[]"));
  EXPECT_FALSE(PathsFromJson("{\"mode\":\"weird\"}"));
  EXPECT_FALSE(PathsFromJson("{\"v1\":{\"cpu\":3}}"));
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

TEST(Devices, V1Syntax) {
  EXPECT_EQ(V1DeviceRule(Rule(true, "c", 1, 3, "rwm")), "c 1:3 rwm");
  EXPECT_EQ(V1DeviceRule(Rule(true, "b", 8, {}, "r")), "b 8:* r");
  EXPECT_EQ(V1DeviceRule(Rule(false, "a", {}, {}, "rwm")), "a *:* rwm");
  EXPECT_EQ(V1DeviceRule(Rule(false, "c", -1, -1, "m")), "c *:* m");
  EXPECT_FALSE(ValidateDeviceRule(Rule(true, "x", 1, 1, "r")));
  EXPECT_FALSE(ValidateDeviceRule(Rule(true, "c", 1, 1, "rq")));
  EXPECT_FALSE(ValidateDeviceRule(Rule(true, "c", 1, 1, "")));
  EXPECT_EQ(DefaultDeviceRules().size(), 12u);
}

TEST(Devices, BpfProgramShapeAndVerifier) {
  // Deny everything, then allow /dev/null: prologue (6) + allow block (type, major, minor,
  // verdict, exit = 5) + deny-all block (verdict, exit = 2). No fall-through verdict: the
  // deny-all block matches everything.
  auto p = v2::DeviceProgram({Rule(false, "a", {}, {}, "rwm"), Rule(true, "c", 1, 3, "rwm")});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->size(), 13u);
  auto fd = v2::LoadDeviceProgram(*p);
  ASSERT_TRUE(fd) << fd.error().message;

  // Rules before a catch-all are dead and not emitted.
  auto q = v2::DeviceProgram({Rule(true, "c", 1, 3, "r"), Rule(true, "a", {}, {}, "rwm")});
  ASSERT_TRUE(q);
  EXPECT_EQ(q->size(), 8u);

  // Partial access, wildcards and an empty list's default: all accepted by the kernel.
  for (auto rules : std::vector<std::vector<oci::DeviceRule>>{
           {Rule(true, "b", 8, {}, "rw"), Rule(false, "c", {}, 7, "m")},
           {},
           DefaultDeviceRules()}) {
    auto prog = v2::DeviceProgram(rules);
    ASSERT_TRUE(prog);
    auto loaded = v2::LoadDeviceProgram(*prog);
    EXPECT_TRUE(loaded) << loaded.error().message;
  }
  EXPECT_FALSE(v2::DeviceProgram({Rule(true, "c", 1LL << 40, 0, "r")}));
}

TEST(Stats, HugePageNamesAndCpuLists) {
  EXPECT_EQ(HugePageSizeName(2048), "2MB");
  EXPECT_EQ(HugePageSizeName(1048576), "1GB");
  EXPECT_EQ(HugePageSizeName(64), "64KB");
  EXPECT_EQ(ParseCpuList("0-3,7"), (std::vector<uint16_t>{0, 1, 2, 3, 7}));
  EXPECT_EQ(ParseCpuList(""), std::vector<uint16_t>{});
}

TEST(Stats, RuncJsonShape) {
  Stats s;
  s.cpu.total = 5;
  s.cpu.per_cpu = {2, 3};
  s.memory.usage = {100, 200, 0, 1000};
  s.memory.stat = {{"rss", 7}, {"cache", 1}};
  s.pids.current = 2;
  s.blkio.io_service_bytes_recursive = {{8, 0, "Read", 10}};
  s.hugetlb["2MB"] = {0, 0, 0, 0};
  EXPECT_EQ(RuncStatsEventJson("c1", s),
            "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{"
            "\"cpu\":{\"usage\":{\"total\":5,\"percpu\":[2,3],\"kernel\":0,\"user\":0},"
            "\"throttling\":{}},"
            "\"cpuset\":{\"cpu_exclusive\":0,\"mem_hardwall\":0,\"mem_exclusive\":0,"
            "\"memory_migrate\":0,\"memory_spread_page\":0,\"memory_spread_slab\":0,"
            "\"memory_pressure\":0,\"sched_load_balance\":0,\"sched_relax_domain_level\":0},"
            "\"memory\":{\"usage\":{\"limit\":1000,\"usage\":100,\"max\":200,\"failcnt\":0},"
            "\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},"
            "\"kernelTCP\":{\"limit\":0,\"failcnt\":0},\"raw\":{\"cache\":1,\"rss\":7}},"
            "\"pids\":{\"current\":2},"
            "\"blkio\":{\"ioServiceBytesRecursive\":[{\"major\":8,\"op\":\"Read\",\"value\":10}]},"
            "\"hugetlb\":{\"2MB\":{\"failcnt\":0}},"
            "\"intel_rdt\":{},\"network_interfaces\":null}}");
}

}  // namespace
}  // namespace berth::cgroup
