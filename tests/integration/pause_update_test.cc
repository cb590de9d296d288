// pause, resume and update against real containers, checked in the real cgroup files
// of this v1/hybrid host (/sys/fs/cgroup/<controller>/<id>/...).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The container's file in a v1 hierarchy (default cgroupsPath "/<id>").
std::string CgroupFile(const std::string& controller, const std::string& id,
                       const std::string& file) {
  return Trimmed(ReadFileOrEmpty("/sys/fs/cgroup/" + controller + "/" + id + "/" + file));
}

bool HaveV1(const std::string& controller) {
  struct stat st;
  return ::stat(("/sys/fs/cgroup/" + controller + "/cgroup.procs").c_str(), &st) == 0;
}

// A v2 hierarchy beside v1 (hybrid) or alone (unified).
bool HaveUnified() {
  struct stat st;
  return ::stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0 ||
         ::stat("/sys/fs/cgroup/cgroup.procs", &st) == 0;
}

#define REQUIRE_V1(controller) \
  if (!HaveV1(controller)) GTEST_SKIP() << controller << " is not a v1 hierarchy here"

size_t Lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// The init joins its cgroups by itself (clone3 into the v2 one, "0" to each v1
// "tasks"): it must end up in every hierarchy, also from inside a user namespace,
// where only the runtime's credentials (the files' opener) may move it.
class Placement : public BerthTest {
 protected:
  void ExpectInitInEveryCgroup(const std::function<void(json&)>& edit) {
    std::string id = NewId();
    std::string log = dir_ + "/" + id + ".log";
    auto c = Berth({"--debug", "--log", log, "create", "-b", MakeBundle({"sleep", "100"}, edit), id});
    ASSERT_EQ(c.status, 0) << c.err;
    // By itself, not moved by pid (which would work too, only slower): the debug log
    // says which way it went.
    std::string unified = HaveUnified() ? "yes" : "no";
    std::string way = "v2 at clone: " + unified + ", v1 by itself: " + (HaveV1("pids") ? "yes" : "no");
    EXPECT_NE(ReadFileOrEmpty(log).find(way), std::string::npos) << ReadFileOrEmpty(log);
    pid_t pid = State(id)["pid"].get<int>();
    std::istringstream lines(ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cgroup"));
    int hierarchies = 0;
    for (std::string line; std::getline(lines, line); ++hierarchies)
      EXPECT_TRUE(line.ends_with(":/" + id)) << line;
    EXPECT_GT(hierarchies, 0);
    std::string tasks = ReadFileOrEmpty("/sys/fs/cgroup/pids/" + id + "/tasks");
    if (HaveV1("pids")) EXPECT_EQ(Trimmed(tasks), std::to_string(pid));
    EXPECT_EQ(Berth({"delete", "--force", id}).status, 0);
  }
};

TEST_F(Placement, InitIsInEveryCgroupOfTheContainer) {
  ExpectInitInEveryCgroup([](json&) {});
}

TEST_F(Placement, InitInAUserNamespaceIsInEveryCgroup) {
  ExpectInitInEveryCgroup([](json& s) {
    s["linux"]["namespaces"].push_back({{"type", "user"}});
    s["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  });
}

TEST_F(Placement, InitThatJoinsAPidNamespaceIsInEveryCgroup) {
  // A joined pid namespace means two stages: the first one joins, the second inherits.
  ExpectInitInEveryCgroup([](json& s) {
    for (auto& ns : s["linux"]["namespaces"])
      if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(::getpid()) + "/ns/pid";
  });
}

class PauseResume : public BerthTest {
 protected:
  // The size of a file the container appends to about every 10 ms: it grows while the
  // container runs and stands still while it is frozen.
  off_t CounterSize() {
    struct stat st;
    return ::stat((dir_ + "/count").c_str(), &st) == 0 ? st.st_size : -1;
  }
  bool CounterAdvances(int within_ms) {
    off_t before = CounterSize();
    for (int waited = 0; waited < within_ms; waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (CounterSize() > before) return true;
    }
    return false;
  }
  std::string RunCounter() {
    std::string id = NewId();
    std::string bundle = MakeBundle(
        {"sh", "-c", "while true; do echo x >> /host/count; sleep 0.01; done"}, [&](json& s) {
          s["mounts"].push_back({{"destination", "/host"},
                                 {"type", "bind"},
                                 {"source", dir_},
                                 {"options", {"rbind", "rw"}}});
        });
    auto r = Berth({"run", "-d", "-b", bundle, id});
    EXPECT_EQ(r.status, 0) << r.err;
    return id;
  }
};

TEST_F(PauseResume, PauseStopsTheProcessesAndResumeRestartsThem) {
  std::string id = RunCounter();
  ASSERT_TRUE(CounterAdvances(5000)) << "the counter never started";

  auto p = Berth({"pause", id});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(State(id)["status"], "paused");
  if (HaveV1("freezer")) {
    EXPECT_EQ(CgroupFile("freezer", id, "freezer.state"), "FROZEN");
  }
  // pause returns once the kernel reports the cgroup frozen: nothing moves from now on.
  off_t frozen_at = CounterSize();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(CounterSize(), frozen_at) << "the counter advanced while paused";

  auto r = Berth({"resume", id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(State(id)["status"], "running");
  if (HaveV1("freezer")) {
    EXPECT_EQ(CgroupFile("freezer", id, "freezer.state"), "THAWED");
  }
  EXPECT_TRUE(CounterAdvances(5000)) << "the counter did not resume";
}

TEST_F(PauseResume, OnlyARunningContainerPausesAndOnlyAPausedOneResumes) {
  std::string id = RunCounter();
  auto r = Berth({"resume", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: cannot resume container \"" + id + "\": it is running, not paused\n");
  ASSERT_EQ(Berth({"pause", id}).status, 0);
  auto again = Berth({"pause", id});
  EXPECT_EQ(again.status, 1);
  EXPECT_EQ(again.err, "berth: cannot pause container \"" + id + "\": it is paused, not running\n");
  EXPECT_EQ(State(id)["status"], "paused");

  std::string created = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), created}).status, 0);
  auto c = Berth({"pause", created});
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("it is created, not running"), std::string::npos) << c.err;
  EXPECT_EQ(State(created)["status"], "created");
}

TEST_F(PauseResume, PauseOfAStoppedContainerFails) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"true"}), id}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  auto p = Berth({"pause", id});
  EXPECT_EQ(p.status, 1);
  EXPECT_EQ(p.err, "berth: cannot pause container \"" + id + "\": it is stopped, not running\n");
  auto r = Berth({"resume", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("it is stopped, not paused"), std::string::npos) << r.err;
  EXPECT_EQ(Berth({"pause", "berth-it-no-such-container"}).status, 1);
}

TEST_F(PauseResume, DeleteForceRemovesAPausedContainer) {
  std::string id = RunCounter();
  ASSERT_EQ(Berth({"pause", id}).status, 0);
  pid_t pid = State(id)["pid"].get<int>();
  auto d = Berth({"delete", "--force", id});
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_FALSE(ProcessExists(pid));
  EXPECT_TRUE(CgroupDirsNamed(id).empty());
}

class Update : public BerthTest {
 protected:
  // A running container with a 100 MiB memory limit and 100 pids.
  std::string RunLimited() {
    std::string id = NewId();
    std::string bundle = MakeBundle({"sleep", "100"}, [](json& s) {
      s["linux"]["resources"]["memory"] = {{"limit", 100 << 20}};
      s["linux"]["resources"]["pids"] = {{"limit", 100}};
    });
    auto r = Berth({"run", "-d", "-b", bundle, id});
    EXPECT_EQ(r.status, 0) << r.err;
    return id;
  }
};

TEST_F(Update, FlagsChangeTheCgroupFilesAndNothingElse) {
  REQUIRE_V1("memory");
  std::string id = RunLimited();
  ASSERT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), std::to_string(100 << 20));
  std::string shares_before = CgroupFile("cpu", id, "cpu.shares");

  auto r = Berth(
      {"update", "--memory", "512m", "--memory-reservation", "256M", "--memory-swap", "1g", id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), std::to_string(512 << 20));
  EXPECT_EQ(CgroupFile("memory", id, "memory.soft_limit_in_bytes"), std::to_string(256 << 20));
  if (!CgroupFile("memory", id, "memory.memsw.limit_in_bytes").empty()) {
    EXPECT_EQ(CgroupFile("memory", id, "memory.memsw.limit_in_bytes"), std::to_string(1 << 30));
  }
  EXPECT_EQ(CgroupFile("pids", id, "pids.max"), "100");  // not given: unchanged

  r = Berth({"update", "--pids-limit", "42", "--cpu-share", "512", "--cpu-period", "200000",
             "--cpu-quota", "50000", "--cpuset-cpus", "0", "--cpuset-mems", "0", id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(CgroupFile("pids", id, "pids.max"), "42");
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.shares"), "512");
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.cfs_period_us"), "200000");
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(CgroupFile("cpuset", id, "cpuset.cpus"), "0");
  EXPECT_EQ(CgroupFile("cpuset", id, "cpuset.mems"), "0");
  EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), std::to_string(512 << 20));
  EXPECT_NE(shares_before, "512");

  // runc 1.4's --cpu-burst and --cpu-idle.
  if (!CgroupFile("cpu", id, "cpu.cfs_burst_us").empty()) {
    ASSERT_EQ(Berth({"update", "--cpu-burst", "10000", id}).status, 0);
    EXPECT_EQ(CgroupFile("cpu", id, "cpu.cfs_burst_us"), "10000");
  }
  if (!CgroupFile("cpu", id, "cpu.idle").empty()) {
    ASSERT_EQ(Berth({"update", "--cpu-idle", "1", id}).status, 0);
    EXPECT_EQ(CgroupFile("cpu", id, "cpu.idle"), "1");
  }

  // Only the quota: the period stays.
  ASSERT_EQ(Berth({"update", "--cpu-quota", "-1", "--pids-limit", "-1", id}).status, 0);
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.cfs_period_us"), "200000");
  EXPECT_EQ(CgroupFile("pids", id, "pids.max"), "max");
}

TEST_F(Update, MemoryValuesTakeRuncsSuffixes) {
  REQUIRE_V1("memory");
  std::string id = RunLimited();
  struct {
    const char* given;
    int64_t bytes;
  } cases[] = {{"1.5g", 1536LL << 20},
               {"300MiB", 300LL << 20},
               {"204800k", 200LL << 20},
               {"150mb", 150LL << 20},
               {"134217728", 128LL << 20}};
  for (const auto& c : cases) {
    auto r = Berth({"update", "--memory", c.given, id});
    ASSERT_EQ(r.status, 0) << c.given << ": " << r.err;
    EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), std::to_string(c.bytes))
        << c.given;
  }
  // -1: no limit (the kernel shows its page-rounded maximum).
  ASSERT_EQ(Berth({"update", "--memory", "-1", id}).status, 0);
  EXPECT_GT(std::stoull(CgroupFile("memory", id, "memory.limit_in_bytes")), 1ULL << 62);
  auto bad = Berth({"update", "--memory", "12x", id});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("invalid value \"12x\" for --memory"), std::string::npos) << bad.err;
  auto bad_int = Berth({"update", "--pids-limit", "ten", id});
  EXPECT_EQ(bad_int.status, 1);
  EXPECT_NE(bad_int.err.find("--pids-limit"), std::string::npos) << bad_int.err;
}

TEST_F(Update, ResourcesJsonFromAFileAndFromStdin) {
  REQUIRE_V1("memory");
  std::string id = RunLimited();
  std::string file = dir_ + "/resources.json";
  std::ofstream(file) << R"({"memory": {"limit": 209715200}, "pids": {"limit": 77},
                            "cpu": {"shares": 300}})";
  auto r = Berth({"update", "-r", file, id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), "209715200");
  EXPECT_EQ(CgroupFile("pids", id, "pids.max"), "77");
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.shares"), "300");

  // containerd's way: the whole linux.resources on stdin, devices included (left alone).
  r = Berth({"update", "--resources", "-", id},
            {.stdin_data = R"({"devices": [{"allow": false, "access": "rwm"}],
                               "memory": {"limit": 314572800}, "pids": {"limit": 88}})"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), "314572800");
  EXPECT_EQ(CgroupFile("pids", id, "pids.max"), "88");
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.shares"), "300");
  if (HaveV1("devices")) {
    EXPECT_NE(CgroupFile("devices", id, "devices.list").find("c 1:3 rwm"), std::string::npos)
        << "update changed the device rules";
  }

  auto bad = Berth({"update", "-r", "-", id}, {.stdin_data = R"({"memory": {"limit": "x"}})"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err, "berth: resources.memory.limit: expected an integer\n");
  auto both = Berth({"update", "-r", file, "--memory", "1g", id});
  EXPECT_EQ(both.status, 1);
  EXPECT_NE(both.err.find("cannot be combined"), std::string::npos) << both.err;
}

TEST_F(Update, ARefusedValueIsOneLineNamingTheFileAndChangesNothing) {
  REQUIRE_V1("cpuset");
  std::string id = RunLimited();
  std::string cpus = CgroupFile("cpuset", id, "cpuset.cpus");
  std::string shares = CgroupFile("cpu", id, "cpu.shares");
  auto r = Berth({"update", "--cpuset-cpus", "999", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("write 999 to /sys/fs/cgroup/cpuset/" + id + "/cpuset.cpus: "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(CgroupFile("cpuset", id, "cpuset.cpus"), cpus);

  // cpuset.cpus is written first and accepted, then the kernel clamps cpu.shares 1:
  // cpuset.cpus gets its old value back.
  r = Berth({"update", "--cpuset-cpus", "0", "--cpu-share", "1", "--memory", "200m", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("cpu.shares 1 is out of range"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/sys/fs/cgroup/cpu/" + id + "/cpu.shares"), std::string::npos) << r.err;
  EXPECT_EQ(CgroupFile("cpuset", id, "cpuset.cpus"), cpus);
  EXPECT_EQ(CgroupFile("cpu", id, "cpu.shares"), shares);
  EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), std::to_string(100 << 20));

  // A memory limit below what the container uses cannot be met.
  r = Berth({"update", "--memory", "4k", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("memory.limit_in_bytes"), std::string::npos) << r.err;
  EXPECT_EQ(CgroupFile("memory", id, "memory.limit_in_bytes"), std::to_string(100 << 20));
}

TEST_F(Update, BlkioWeightAndIntelRdt) {
  REQUIRE_V1("blkio");
  std::string id = RunLimited();
  auto r = Berth({"update", "--blkio-weight", "500", id});
  // Whichever weight file this kernel's I/O scheduler offers (CFQ's or BFQ's).
  std::string cfq = CgroupFile("blkio", id, "blkio.weight");
  std::string bfq = CgroupFile("blkio", id, "blkio.bfq.weight");
  if (cfq.empty() && bfq.empty()) {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("blkio.weight"), std::string::npos) << r.err;
  } else {
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(cfq.empty() ? bfq : cfq, "500");
  }
  auto rdt = Berth({"update", "--l3-cache-schema", "L3:0=f", id});
  EXPECT_EQ(rdt.status, 1);
  EXPECT_NE(rdt.err.find("Intel RDT"), std::string::npos) << rdt.err;
  auto mba = Berth({"update", "--mem-bw-schema", "MB:0=70", id});
  EXPECT_EQ(mba.status, 1);
}

TEST_F(Update, APausedContainerCanBeUpdatedAStoppedOneCannot) {
  REQUIRE_V1("pids");
  std::string id = RunLimited();
  ASSERT_EQ(Berth({"pause", id}).status, 0);
  ASSERT_EQ(Berth({"update", "--pids-limit", "9", id}).status, 0);
  EXPECT_EQ(CgroupFile("pids", id, "pids.max"), "9");
  EXPECT_EQ(State(id)["status"], "paused");
  ASSERT_EQ(Berth({"kill", id, "KILL"}).status, 0);  // thaws it (RuncParityCli.KillOfAPaused...)
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  auto r = Berth({"update", "--pids-limit", "10", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: cannot update container \"" + id + "\": it is stopped\n");
}

}  // namespace
}  // namespace berth::testing
