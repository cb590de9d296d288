// crun 1.8.1 (Debian's, installed by scripts/install-deps.sh) beside berth, field by
// field: the same bundle through both, and what the container shows of the field. crun
// 1.8.1 refuses an ociVersion past 1.0.x ("unknown version specified"), so its copy of
// the bundle says 1.0.2; berth's says 1.3.0. Each case states what crun does with the
// field: the same as berth, refuses the config, or runs it without applying the field.
// These expectations are docs/spec-coverage.md's crun 1.8 column.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

const char* kCrun = "/usr/bin/crun";

enum class Crun { kSame, kRefuses, kIgnores };

struct Field {
  const char* name;
  std::string script;  // what the container prints of the field
  std::function<void(json&)> edit;
  Crun crun;
};

std::ostream& operator<<(std::ostream& os, const Field& f) { return os << f.name; }

// The host directory of the bind-mount cases (made by CrunParity::SetUp).
std::string Volume() { return "/tmp/berth-crun-vol-" + std::to_string(::getpid()); }

class CrunParity : public BerthTest {
 protected:
  void SetUp() override {
    BerthTest::SetUp();
    ASSERT_EQ(::access(kCrun, X_OK), 0) << kCrun << " is missing: scripts/install-deps.sh installs it";
    // Owned by 100000, with files of 100005:100007 and 5:7.
    ASSERT_EQ(::mkdir(Volume().c_str(), 0755), 0);
    std::ofstream(Volume() + "/f") << "x";
    ASSERT_EQ(::chown((Volume() + "/f").c_str(), 100005, 100007), 0);
    std::ofstream(Volume() + "/g") << "x";
    ASSERT_EQ(::chown((Volume() + "/g").c_str(), 5, 7), 0);
    ASSERT_EQ(::chown(Volume().c_str(), 100000, 100000), 0);
  }
  void TearDown() override {
    BerthTest::TearDown();
    RunCommand({"/bin/rm", "-rf", Volume()});
  }
  // Runs `script` with `edit` through `rt`; crun's bundle says ociVersion 1.0.2.
  CommandResult Run(const Runtime& rt, const std::string& script,
                    const std::function<void(json&)>& edit) {
    std::string bundle = MakeBundle({"sh", "-c", script}, [&](json& s) {
      if (edit) edit(s);
      if (rt.name == "crun-1.8") s["ociVersion"] = "1.0.2";
    });
    last_id_ = NewId();
    return RunWith(rt, {"run", "-b", bundle, last_id_});
  }
  const Runtime berth_{"berth", BERTH_BINARY};
  const Runtime crun_{"crun-1.8", kCrun};
  std::string last_id_;
};

json Map(uint32_t container_id, uint32_t host_id, uint32_t size) {
  return {{"containerID", container_id}, {"hostID", host_id}, {"size", size}};
}

void InUserNamespace(json& s) {
  json maps = json::array({Map(0, 100000, 65536)});
  s["linux"]["namespaces"].push_back({{"type", "user"}});
  s["linux"]["uidMappings"] = maps;
  s["linux"]["gidMappings"] = maps;
}

std::function<void(json&)> BindVolume(std::vector<std::string> options, bool mapped) {
  return [options, mapped](json& s) {
    json m = {{"destination", "/tmp/vol"}, {"type", "bind"}, {"source", Volume()},
              {"options", options}};
    if (mapped) {
      m["uidMappings"] = json::array({Map(100000, 0, 65536)});
      m["gidMappings"] = json::array({Map(100000, 0, 65536)});
    }
    s["mounts"].push_back(m);
  };
}

// The per-mount and superblock options of the mount on `dir`, as mountinfo lists them.
std::string MountOptions(const std::string& dir) {
  return "awk '$5==\"" + dir + "\" {print $6, $(NF)}' /proc/self/mountinfo";
}

const Field kFields[] = {
    {"RootReadonlyMaskedAndReadonlyPaths",
     "cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; "
     "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo readonly; "
     "touch /etc/x 2>/dev/null && echo rootfs-writable || echo rootfs-readonly",
     nullptr, Crun::kSame},
    {"HostnameDomainnameSysctl",
     "hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward",
     [](json& s) {
       s["hostname"] = "box";
       s["domainname"] = "example.org";
       s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
     },
     Crun::kSame},
    {"MountsTmpfsAndReadonlyBind",
     MountOptions("/tmp") + "; " + MountOptions("/tmp/vol") + "; " + MountOptions("/tmp/sized"),
     [](json& s) {
       BindVolume({"rbind", "ro", "nosuid"}, false)(s);
       s["mounts"].push_back({{"destination", "/tmp/sized"}, {"type", "tmpfs"},
                              {"source", "tmpfs"}, {"options", {"nodev", "size=64k", "mode=700"}}});
     },
     Crun::kSame},
    {"IdmappedBindMount", "stat -c %u:%g /tmp/vol /tmp/vol/f", BindVolume({"bind"}, true),
     Crun::kSame},
    {"IdmapOptionTakesTheContainersMappings", "stat -c %u:%g /tmp/vol/g",
     [](json& s) {
       BindVolume({"bind", "idmap"}, false)(s);
       InUserNamespace(s);
     },
     Crun::kSame},
    {"RecursiveReadonlyMount", MountOptions("/tmp/vol"), BindVolume({"rbind", "rro"}, false),
     Crun::kSame},
    {"UserGroupsUmaskEnvCwd", "id -u; id -g; id -G; umask; echo $FOO; pwd",
     [](json& s) {
       s["process"]["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {5, 7}},
                               {"umask", 18}};
       s["process"]["env"].push_back("FOO=bar baz");
       s["process"]["cwd"] = "/tmp/work";
     },
     Crun::kSame},
    {"Capabilities", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status",
     [](json& s) {
       json caps = {"CAP_CHOWN", "CAP_KILL"};
       s["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps},
                                       {"permitted", caps}, {"ambient", json::array()}};
     },
     Crun::kSame},
    {"RlimitsNoNewPrivileges", "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status",
     [](json& s) {
       s["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}}};
       s["process"]["noNewPrivileges"] = true;
     },
     Crun::kSame},
    {"OomScoreAdj", "cat /proc/self/oom_score_adj",
     [](json& s) { s["process"]["oomScoreAdj"] = 123; }, Crun::kSame},
    {"IoPriority", "ionice -p $$",
     [](json& s) {
       s["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 6}};
     },
     Crun::kIgnores},
    {"Scheduler", "cut -d' ' -f19,40,41 /proc/self/stat",
     [](json& s) {
       s["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 5}};
     },
     Crun::kIgnores},
    {"Namespaces",
     "echo $$; for n in pid uts ipc mnt net cgroup user; do eval h=\\$HOST_$n; "
     "[ \"$(readlink /proc/self/ns/$n)\" = \"$h\" ] && echo $n host || echo $n own; done",
     [](json& s) {
       for (const char* n : {"pid", "uts", "ipc", "mnt", "net", "cgroup", "user"}) {
         char link[64] = {};
         (void)::readlink(("/proc/self/ns/" + std::string(n)).c_str(), link, sizeof link - 1);
         s["process"]["env"].push_back("HOST_" + std::string(n) + "=" + link);
       }
     },
     Crun::kSame},
    {"UserNamespaceMappings", "id -u; cat /proc/self/uid_map /proc/self/gid_map",
     [](json& s) {
       InUserNamespace(s);
       s["linux"].erase("resources");
     },
     Crun::kSame},
    {"TimeOffsets", "cat /proc/self/timens_offsets",
     [](json& s) {
       s["linux"]["namespaces"].push_back({{"type", "time"}});
       s["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1000}, {"nanosecs", 0}}},
                                    {"boottime", {{"secs", 7}, {"nanosecs", 5}}}};
     },
     Crun::kRefuses},
    {"DefaultAndConfiguredDevices",
     "for d in null zero full random urandom tty fuse; do stat -c '%n %t:%T %a %u:%g' /dev/$d; "
     "done; for l in fd stdin ptmx; do readlink /dev/$l; done",
     [](json& s) {
       s["linux"]["devices"] = {{{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10},
                                 {"minor", 229}, {"fileMode", 0640}, {"uid", 5}, {"gid", 6}}};
     },
     Crun::kSame},
    {"Personality", "cat /proc/self/personality",
     [](json& s) { s["linux"]["personality"] = {{"domain", "LINUX32"}}; }, Crun::kSame},
    {"Seccomp", "mkdir /tmp/d 2>&1; echo $?; ls /tmp",
     [](json& s) {
       s["linux"]["seccomp"] = {
           {"defaultAction", "SCMP_ACT_ALLOW"},
           {"architectures", {"SCMP_ARCH_X86_64"}},
           {"syscalls",
            {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
     },
     Crun::kSame},
    {"CgroupV1Resources",
     "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes "
     "pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us",
     [](json& s) {
       s["linux"]["resources"]["memory"] = {{"limit", 64 << 20}, {"reservation", 32 << 20}};
       s["linux"]["resources"]["pids"] = {{"limit", 99}};
       s["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 50000}, {"period", 100000}};
     },
     Crun::kSame},
    // This host's block devices use BFQ: v1 has blkio.bfq.weight and no blkio.weight.
    {"BlockIoWeight", "cat /sys/fs/cgroup/blkio/blkio.bfq.weight",
     [](json& s) { s["linux"]["resources"]["blockIO"] = {{"weight", 300}}; }, Crun::kRefuses},
    {"RootfsPropagation", "awk '$5==\"/\" {print $7}' /proc/self/mountinfo",
     [](json& s) { s["linux"]["rootfsPropagation"] = "slave"; }, Crun::kSame},
    {"CgroupsPath", "grep -E ':(memory|pids):' /proc/self/cgroup",
     [](json& s) { s["linux"]["cgroupsPath"] = "/berth-crun-" + std::to_string(::getpid()); },
     Crun::kSame},
    // crun sets the limit, not the reservation limit (runtime-spec 1.2's rsvd files).
    {"HugetlbLimitAndReservation",
     "cd /sys/fs/cgroup/hugetlb; cat hugetlb.2MB.limit_in_bytes hugetlb.2MB.rsvd.limit_in_bytes",
     [](json& s) {
       s["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4194304}}};
     },
     Crun::kIgnores},
    {"MemoryPolicy", "/tmp/probe",
     [](json& s) {
       s["mounts"].push_back({{"destination", "/tmp/probe"}, {"type", "bind"},
                              {"source", BERTH_MEMPOLICY_PROBE}, {"options", {"bind", "ro"}}});
       s["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0"}};
     },
     Crun::kIgnores},
};

class CrunField : public CrunParity, public ::testing::WithParamInterface<Field> {};

TEST_P(CrunField, AsCrun18Does) {
  const Field& f = GetParam();
  auto ours = Run(berth_, f.script, f.edit);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_FALSE(ours.out.empty());
  auto theirs = Run(crun_, f.script, f.edit);
  switch (f.crun) {
    case Crun::kSame:
      ASSERT_EQ(theirs.status, 0) << theirs.err;
      EXPECT_EQ(ours.out, theirs.out);
      break;
    case Crun::kRefuses:
      EXPECT_NE(theirs.status, 0) << theirs.out;
      // crun 1.8.1 leaves the cgroups of a run it failed (seen with BlockIoWeight).
      for (const auto& d : CgroupDirsNamed(last_id_)) ::rmdir(d.c_str());
      break;
    case Crun::kIgnores:  // runs, the field not applied
      ASSERT_EQ(theirs.status, 0) << theirs.err;
      EXPECT_NE(ours.out, theirs.out) << "crun applies the field now: " << theirs.out;
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(Fields, CrunField, ::testing::ValuesIn(kFields),
                         [](const auto& info) { return std::string(info.param.name); });

// The hooks that run in the runtime's namespaces, in the order they ran.
TEST_F(CrunParity, HooksRunInTheSameOrder) {
  std::vector<std::string> logs;
  for (const Runtime* rt : {&berth_, &crun_}) {
    std::string log = dir_ + "/hooks-" + rt->name;
    auto hook = [&](const char* name) {
      return json::array({{{"path", "/bin/sh"},
                           {"args", {"sh", "-c", std::string("echo ") + name + " >> $LOG"}},
                           {"env", {"LOG=" + log}}}});
    };
    std::string bundle = MakeBundle({"true"}, [&](json& s) {
      for (const char* h : {"prestart", "createRuntime", "createContainer", "poststart", "poststop"})
        s["hooks"][h] = hook(h);
      if (rt == &crun_) s["ociVersion"] = "1.0.2";
    });
    auto r = RunWith(*rt, {"run", "-b", bundle, NewId()});
    ASSERT_EQ(r.status, 0) << rt->name << ": " << r.err;
    logs.push_back(ReadFileOrEmpty(log));
  }
  EXPECT_EQ(logs[0], "prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n");
  EXPECT_EQ(logs[0], logs[1]);
}

// execCPUAffinity (runtime-spec 1.2) of an exec'd process: crun 1.8 does not read it.
TEST_F(CrunParity, ExecCpuAffinityIsIgnoredByCrun) {
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "one CPU only: no affinity to choose";
  std::vector<std::string> seen;
  for (const Runtime* rt : {&berth_, &crun_}) {
    std::string id = NewId();
    std::string bundle = MakeBundle({"sleep", "1000"}, [&](json& s) {
      if (rt == &crun_) s["ociVersion"] = "1.0.2";
    });
    ASSERT_EQ(RunWith(*rt, {"run", "-d", "-b", bundle, id}).status, 0) << rt->name;
    json p = {{"args", {"grep", "Cpus_allowed_list", "/proc/self/status"}}, {"cwd", "/"},
              {"user", {{"uid", 0}, {"gid", 0}}}, {"env", {"PATH=/bin"}},
              {"execCPUAffinity", {{"final", "1"}}}};
    std::string path = dir_ + "/process-" + rt->name + ".json";
    std::ofstream(path) << p.dump();
    auto r = RunWith(*rt, {"exec", "-p", path, id});
    ASSERT_EQ(r.status, 0) << rt->name << ": " << r.err;
    seen.push_back(r.out);
    RunWith(*rt, {"kill", id, "KILL"});
  }
  EXPECT_EQ(seen[0], "Cpus_allowed_list:\t1\n");
  EXPECT_NE(seen[1], seen[0]) << "crun applies execCPUAffinity now";
}

// linux.netDevices (runtime-spec 1.3) naming an interface the host does not have: berth
// refuses it, crun 1.8 does not read the field and runs the container.
TEST_F(CrunParity, NetDevicesAreIgnoredByCrun) {
  auto edit = [](bool crun) {
    return [crun](json& s) {
      s["linux"]["netDevices"] = {{"berth-none0", json::object()}};
      if (crun) s["ociVersion"] = "1.0.2";
    };
  };
  auto ours = Berth({"run", "-b", MakeBundle({"true"}, edit(false)), NewId()});
  EXPECT_NE(ours.status, 0);
  EXPECT_NE(ours.err.find("berth-none0"), std::string::npos) << ours.err;
  auto theirs = RunWith(crun_, {"run", "-b", MakeBundle({"true"}, edit(true)), NewId()});
  EXPECT_EQ(theirs.status, 0) << theirs.err;
}

// linux.intelRdt without resctrl: berth refuses the config (as runc 1.4 does), crun 1.8
// runs the container without it.
TEST_F(CrunParity, IntelRdtWithoutResctrlIsRefusedByBerthAndIgnoredByCrun) {
  if (ReadFileOrEmpty("/proc/self/mountinfo").find(" - resctrl ") != std::string::npos)
    GTEST_SKIP() << "resctrl is mounted here";
  std::vector<int> status;
  for (const Runtime* rt : {&berth_, &crun_}) {
    std::string bundle = MakeBundle({"true"}, [&](json& s) {
      s["linux"]["intelRdt"] = {{"closID", "g"}, {"l3CacheSchema", "L3:0=7f0"}};
      if (rt == &crun_) s["ociVersion"] = "1.0.2";
    });
    status.push_back(RunWith(*rt, {"run", "-b", bundle, NewId()}).status);
  }
  EXPECT_NE(status[0], 0);
  EXPECT_EQ(status[1], 0);
}

}  // namespace
}  // namespace berth::testing
