// process.scheduler, process.execCPUAffinity and linux.memoryPolicy (runtime-spec
// 1.2/1.3), as the kernel reports them: /proc/<pid>/stat's policy, rt_priority and
// nice, Cpus_allowed_list, get_mempolicy(2). runc 1.1.5 knows none of these fields:
// the side-by-side checks compare with runc 1.4 only.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Scheduling : public BerthTest {
 protected:
  void ExpectNothingLeft(const std::string& id) {
    struct stat st;
    EXPECT_NE(::stat((root_ + "/" + id).c_str(), &st), 0) << "state dir left for " << id;
    EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "cgroup left for " << id;
  }
  // A detached container running `sleep`, with `rt`; returns its id.
  std::string StartSleeper(const Runtime& rt, const std::function<void(json&)>& edit = nullptr) {
    std::string id = NewId();
    auto r = RunWith(rt, {"run", "-d", "-b", MakeBundle({"sleep", "1000"}, edit), id});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    return id;
  }
  std::string WriteProcess(const json& process) {
    std::string path = dir_ + "/process-" + std::to_string(++files_) + ".json";
    std::ofstream(path) << process.dump();
    return path;
  }
  // The container's `sleep` process' default process.json, with `edit` applied.
  static json SleeperProcess(const std::vector<std::string>& args,
                             const std::function<void(json&)>& edit) {
    json p = {{"args", args}, {"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}}},
              {"env", {"PATH=/bin:/usr/bin"}}};
    if (edit) edit(p);
    return p;
  }
  int files_ = 0;
};

const Runtime* Runc14() {
  static const std::vector<Runtime> all = SideBySideRuntimes();
  for (const auto& rt : all)
    if (rt.name == "runc-1.4") return &rt;
  return nullptr;
}
const Runtime& BerthRuntime() {
  static const std::vector<Runtime> all = SideBySideRuntimes();
  return all.front();
}

// "policy=<field 41> rt_priority=<field 40> nice=<field 19>" of a /proc/<pid>/stat line.
std::string SchedFields(const std::string& stat) {
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> f;  // f[0] is field 3
  for (std::string w; in >> w;) f.push_back(w);
  if (f.size() < 39) return "short stat: " + stat;
  return "policy=" + f[41 - 3] + " rt_priority=" + f[40 - 3] + " nice=" + f[19 - 3];
}

// The init's scheduling as its own /proc/self/stat shows it (cat inherits it).
const char* kSelfStat = "cat /proc/self/stat";

TEST_F(Scheduling, SchedulerPoliciesAsTheKernelReportsThemSameAsRunc14) {
  struct Case {
    json scheduler;
    std::string want;
  } cases[] = {
      {{{"policy", "SCHED_BATCH"}, {"nice", 7}}, "policy=3 rt_priority=0 nice=7"},
      {{{"policy", "SCHED_IDLE"}}, "policy=5 rt_priority=0 nice=0"},
      {{{"policy", "SCHED_OTHER"}, {"nice", -5}}, "policy=0 rt_priority=0 nice=-5"},
      // RT group scheduling (this kernel has cpu.rt_runtime_us): the container's cpu cgroup
      // needs an RT budget of its own for a SCHED_FIFO task.
      {{{"policy", "SCHED_FIFO"}, {"priority", 10}}, "policy=1 rt_priority=10 nice=0"},
      {{{"policy", "SCHED_RR"}, {"priority", 3}, {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}},
       "policy=2 rt_priority=3 nice=0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.scheduler.dump());
    std::string bundle = MakeBundle({"sh", "-c", kSelfStat}, [&](json& s) {
      s["process"]["scheduler"] = c.scheduler;
      s["linux"]["resources"]["cpu"]["realtimeRuntime"] = 10000;
      s["linux"]["resources"]["cpu"]["realtimePeriod"] = 1000000;
    });
    auto ours = Berth({"run", "-b", bundle, NewId()});
    ASSERT_EQ(ours.status, 0) << ours.err;
    // sh execs cat, no fork: RESET_ON_FORK leaves it as set.
    EXPECT_EQ(SchedFields(ours.out), c.want);
    if (const Runtime* runc = Runc14()) {
      auto theirs = RunWith(*runc, {"run", "-b", bundle, NewId()});
      ASSERT_EQ(theirs.status, 0) << theirs.err;
      EXPECT_EQ(SchedFields(theirs.out), SchedFields(ours.out));
    }
  }
}

TEST_F(Scheduling, DeadlineSchedulerIsApplied) {
  auto r = Berth({"run", "-b", MakeBundle({"cat", "/proc/self/sched"}, [](json& s) {
                    s["process"]["scheduler"] = {{"policy", "SCHED_DEADLINE"},
                                                 {"runtime", 1000000},
                                                 {"deadline", 10000000},
                                                 {"period", 10000000},
                                                 {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}};
                  }),
                  NewId()});
  if (r.status != 0 && r.err.find("Device or resource busy") != std::string::npos)
    GTEST_SKIP() << "the kernel's deadline admission control refused the task: " << r.err;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("policy                                       :                    6"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("dl.runtime"), std::string::npos) << r.out;
}

TEST_F(Scheduling, ExecProcessGetsTheSchedulerOfItsProcessJson) {
  std::string id = StartSleeper(BerthRuntime());
  json p = SleeperProcess({"cat", "/proc/self/stat"}, [](json& p) {
    p["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 3}};
  });
  auto r = Berth({"exec", "-p", WriteProcess(p), id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(SchedFields(r.out), "policy=3 rt_priority=0 nice=3");
}

TEST_F(Scheduling, BadSchedulerIsOneLineBeforeAnythingIsMade) {
  struct Case {
    json scheduler;
    std::string message;
  } cases[] = {
      {{{"policy", "SCHED_FOO"}}, "process.scheduler.policy: invalid scheduler policy \"SCHED_FOO\""},
      {{{"policy", ""}}, "process.scheduler.policy: required"},
      {{{"policy", "SCHED_BATCH"}, {"nice", 20}},
       "process.scheduler.nice: 20 is invalid with SCHED_BATCH (must be between -20 and 19)"},
      {{{"policy", "SCHED_OTHER"}, {"priority", 1}},
       "process.scheduler.priority: can only be set with SCHED_FIFO or SCHED_RR"},
      {{{"policy", "SCHED_FIFO"}, {"runtime", 5}},
       "process.scheduler: runtime, deadline and period can only be set with SCHED_DEADLINE"},
      {{{"policy", "SCHED_FIFO"}, {"flags", {"SCHED_FLAG_BOGUS"}}},
       "process.scheduler.flags[0]: invalid scheduler flag \"SCHED_FLAG_BOGUS\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.scheduler.dump());
    std::string bundle =
        MakeBundle({"true"}, [&](json& s) { s["process"]["scheduler"] = c.scheduler; });
    std::string id = NewId();
    auto r = Berth({"create", "-b", bundle, id});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "berth: " + c.message + "\n");
    ExpectNothingLeft(id);
    if (const Runtime* runc = Runc14()) {  // runc 1.4 refuses each of them too
      auto theirs = RunWith(*runc, {"create", "-b", bundle, NewId()});
      EXPECT_NE(theirs.status, 0) << theirs.err;
    }
  }
}

std::string CpusAllowed(const std::string& status) {
  size_t at = status.find("Cpus_allowed_list:");
  if (at == std::string::npos) return "no Cpus_allowed_list in: " + status;
  size_t start = status.find_first_not_of(" \t", at + 18);
  return status.substr(start, status.find('\n', start) - start);
}

std::string AllCpus() {
  std::string online = ReadFileOrEmpty("/sys/devices/system/cpu/online");
  while (!online.empty() && online.back() == '\n') online.pop_back();
  return online;
}

TEST_F(Scheduling, ExecCpuAffinityFinalAsTheKernelReportsItSameAsRunc14) {
  if (AllCpus() == "0") GTEST_SKIP() << "one CPU only: no affinity to choose";
  std::vector<const Runtime*> runtimes = {&BerthRuntime()};
  if (const Runtime* runc = Runc14()) runtimes.push_back(runc);
  struct Case {
    json affinity;
    std::string want;  // "" : whatever runc 1.4 gives
  } cases[] = {
      {{{"final", "1"}}, "1"},
      {{{"initial", "0"}, {"final", "1"}}, "1"},
      {{{"initial", "1"}}, ""},  // the kernel decides once the process is in the cgroup
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.affinity.dump());
    std::vector<std::string> seen;
    for (const Runtime* rt : runtimes) {
      std::string id = StartSleeper(*rt);
      json p = SleeperProcess({"cat", "/proc/self/status"},
                              [&](json& p) { p["execCPUAffinity"] = c.affinity; });
      auto r = RunWith(*rt, {"exec", "-p", WriteProcess(p), id});
      ASSERT_EQ(r.status, 0) << rt->name << ": " << r.err;
      seen.push_back(CpusAllowed(r.out));
      if (!c.want.empty()) EXPECT_EQ(seen.back(), c.want) << rt->name;
    }
    if (seen.size() == 2) EXPECT_EQ(seen[0], seen[1]) << "berth vs runc 1.4";
  }
}

TEST_F(Scheduling, ProcessesDoNotInheritTheRuntimesAffinity) {
  if (AllCpus() == "0") GTEST_SKIP() << "one CPU only: no affinity to inherit";
  SpawnOptions pinned;
  pinned.wrapper = {"/usr/bin/taskset", "-c", "0"};
  auto r = Berth({"run", "-b", MakeBundle({"cat", "/proc/self/status"}), NewId()}, pinned);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(CpusAllowed(r.out), AllCpus());
  std::string id = StartSleeper(BerthRuntime());
  r = Berth({"exec", id, "cat", "/proc/self/status"}, pinned);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(CpusAllowed(r.out), AllCpus());
}

TEST_F(Scheduling, BadExecCpuAffinityIsOneLine) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) {
                    s["process"]["execCPUAffinity"] = {{"initial", "3-1"}};
                  }),
                  id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: process.execCPUAffinity.initial: \"3-1\": invalid range 3-1\n");
  ExpectNothingLeft(id);
  std::string running = StartSleeper(BerthRuntime());
  json p = SleeperProcess({"true"}, [](json& p) { p["execCPUAffinity"] = {{"final", "5000"}}; });
  r = Berth({"exec", "-p", WriteProcess(p), running});
  EXPECT_EQ(r.status, 255);  // an exec that did not start, as runc
  EXPECT_EQ(r.err, "berth: exec: process.execCPUAffinity.final: \"5000\": values larger than 1023 "
                   "are not supported\n");
}

class MemoryPolicy : public Scheduling {
 protected:
  // A bundle that runs the static get_mempolicy probe.
  std::string Bundle(const json& policy) {
    return MakeBundle({"/tmp/probe"}, [&](json& s) {
      s["mounts"].push_back({{"destination", "/tmp/probe"},
                             {"type", "bind"},
                             {"source", BERTH_MEMPOLICY_PROBE},
                             {"options", {"bind", "ro"}}});
      if (!policy.is_null()) s["linux"]["memoryPolicy"] = policy;
    });
  }
};

TEST_F(MemoryPolicy, ModesAndFlagsAsGetMempolicyReportsThemSameAsRunc14) {
  struct Case {
    json policy;
    std::string want;
  } cases[] = {
      {nullptr, "mode=0 nodes=0\n"},
      {{{"mode", "MPOL_BIND"}, {"nodes", "0"}}, "mode=2 nodes=1\n"},
      {{{"mode", "MPOL_INTERLEAVE"}, {"nodes", "0"}, {"flags", {"MPOL_F_STATIC_NODES"}}},
       "mode=32771 nodes=1\n"},  // 3 | 1 << 15
      {{{"mode", "MPOL_PREFERRED"}, {"nodes", "0"}}, "mode=1 nodes=1\n"},
      {{{"mode", "MPOL_PREFERRED_MANY"}, {"nodes", "0"}}, "mode=5 nodes=1\n"},
      {{{"mode", "MPOL_WEIGHTED_INTERLEAVE"}, {"nodes", "0"}}, "mode=6 nodes=1\n"},
      {{{"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_NUMA_BALANCING"}}},
       "mode=8194 nodes=1\n"},  // 2 | 1 << 13
      {{{"mode", "MPOL_LOCAL"}}, "mode=4 nodes=0\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.policy.dump());
    std::string bundle = Bundle(c.policy);
    auto ours = Berth({"run", "-b", bundle, NewId()});
    ASSERT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(ours.out, c.want);
    if (const Runtime* runc = Runc14()) {
      auto theirs = RunWith(*runc, {"run", "-b", bundle, NewId()});
      ASSERT_EQ(theirs.status, 0) << theirs.err;
      EXPECT_EQ(theirs.out, ours.out);
    }
  }
}

TEST_F(MemoryPolicy, ExecProcessGetsTheContainersPolicy) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "1000"}, [](json& s) {
                     s["mounts"].push_back({{"destination", "/tmp/probe"},
                                            {"type", "bind"},
                                            {"source", BERTH_MEMPOLICY_PROBE},
                                            {"options", {"bind", "ro"}}});
                     s["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0"}};
                   }),
                   id})
                .status,
            0);
  auto r = Berth({"exec", id, "/tmp/probe"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "mode=2 nodes=1\n");
}

TEST_F(MemoryPolicy, BadPolicyIsOneLineBeforeAnythingIsMadeAsRunc14Refuses) {
  struct Case {
    json policy;
    std::string message;
  } cases[] = {
      {{{"mode", "MPOL_FOO"}}, "linux.memoryPolicy.mode: invalid memory policy mode \"MPOL_FOO\""},
      {{{"mode", "MPOL_BIND"}}, "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"},
      {{{"mode", "MPOL_DEFAULT"}, {"nodes", "0"}},
       "linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes"},
      {{{"mode", "MPOL_BIND"}, {"nodes", "0-x"}},
       "linux.memoryPolicy.nodes: invalid memory policy nodes: \"0-x\": \"x\" is not a number"},
      {{{"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_NOPE"}}},
       "linux.memoryPolicy.flags[0]: invalid memory policy flag \"MPOL_F_NOPE\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.policy.dump());
    std::string bundle = Bundle(c.policy);
    std::string id = NewId();
    auto r = Berth({"create", "-b", bundle, id});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "berth: " + c.message + "\n");
    ExpectNothingLeft(id);
    if (const Runtime* runc = Runc14()) {
      auto theirs = RunWith(*runc, {"create", "-b", bundle, NewId()});
      EXPECT_NE(theirs.status, 0) << theirs.err;
    }
  }
}

}  // namespace
}  // namespace berth::testing
