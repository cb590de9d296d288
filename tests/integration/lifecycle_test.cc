// The lifecycle commands against real containers: create, start, state, kill,
// delete, run, stop, list, with the states and errors a runc user expects.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Lifecycle : public BerthTest {};

TEST_F(Lifecycle, RunPrintsFromInsideAndExitsWithTheStatus) {
  std::string id = NewId();
  std::string bundle = MakeBundle({"sh", "-c", "echo hello from $(hostname); exit 3"});
  auto r = Berth({"run", "-b", bundle, id});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "hello from berth\n");
  // Without --keep the container is gone afterwards.
  EXPECT_NE(Berth({"state", id}).status, 0);
}

TEST_F(Lifecycle, CreateDoesNotRunTheProcessUntilStart) {
  std::string id = NewId();
  std::string marker = dir_ + "/ran";
  std::string bundle = MakeBundle({"sh", "-c", "touch /host/ran; sleep 100"}, [&](json& s) {
    s["mounts"].push_back({{"destination", "/host"}, {"type", "bind"}, {"source", dir_},
                           {"options", {"rbind", "rw"}}});
  });
  auto c = Berth({"create", "-b", bundle, id});
  ASSERT_EQ(c.status, 0) << c.err;
  json st = State(id);
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["status"], "created");
  EXPECT_EQ(st["id"], id);
  EXPECT_EQ(st["bundle"], bundle);
  EXPECT_GT(st["pid"].get<int>(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(::access(marker.c_str(), F_OK) == 0) << "process.args ran before start";

  auto s = Berth({"start", id});
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(State(id)["status"], "running");
  for (int i = 0; i < 100 && ::access(marker.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(::access(marker.c_str(), F_OK), 0) << "process.args did not run after start";

  pid_t pid = st["pid"].get<int>();
  ASSERT_EQ(Berth({"kill", id, "KILL"}).status, 0);
  EXPECT_TRUE(WaitForStatus(id, "stopped"));
  EXPECT_EQ(Berth({"delete", id}).status, 0);
  EXPECT_NE(Berth({"state", id}).status, 0);
  EXPECT_FALSE(ProcessExists(pid));
  EXPECT_TRUE(CgroupDirsNamed(id).empty());
}

TEST_F(Lifecycle, StartTwiceFailsAndChangesNothing) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  ASSERT_EQ(Berth({"start", id}).status, 0);
  json before = State(id);
  auto again = Berth({"start", id});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("running"), std::string::npos) << again.err;
  EXPECT_EQ(State(id), before);
}

TEST_F(Lifecycle, KillOfAStoppedContainerFails) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"true"}), id}).status, 0);
  ASSERT_EQ(Berth({"start", id}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  json before = State(id);
  auto k = Berth({"kill", id, "TERM"});
  EXPECT_EQ(k.status, 1);
  EXPECT_NE(k.err.find("not running"), std::string::npos) << k.err;
  EXPECT_EQ(State(id), before);
}

TEST_F(Lifecycle, KillAcceptsNamesAndNumbersAndRejectsUnknownSignals) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  EXPECT_EQ(Berth({"kill", id, "SIGCONT"}).status, 0);
  EXPECT_EQ(Berth({"kill", id, "18"}).status, 0);
  auto bad = Berth({"kill", id, "SIGNOPE"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("SIGNOPE"), std::string::npos);
  EXPECT_EQ(Berth({"kill", id, "9"}).status, 0);
  EXPECT_TRUE(WaitForStatus(id, "stopped"));
}

TEST_F(Lifecycle, DeleteOfARunningContainerNeedsForce) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  json before = State(id);
  auto d = Berth({"delete", id});
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.err.find("--force"), std::string::npos) << d.err;
  EXPECT_EQ(State(id), before);
  pid_t pid = before["pid"].get<int>();
  EXPECT_EQ(Berth({"delete", "--force", id}).status, 0);
  EXPECT_FALSE(ProcessExists(pid));
  EXPECT_NE(Berth({"state", id}).status, 0);
  EXPECT_TRUE(CgroupDirsNamed(id).empty());
}

TEST_F(Lifecycle, DeleteOfACreatedContainerWorksAsInRunc) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  pid_t pid = State(id)["pid"].get<int>();
  EXPECT_EQ(Berth({"delete", id}).status, 0);
  EXPECT_FALSE(ProcessExists(pid));
  EXPECT_NE(Berth({"state", id}).status, 0);
}

TEST_F(Lifecycle, StopTermsThenKillsAndKeepsTheContainer) {
  std::string id = NewId();
  // Ignores SIGTERM, so only the SIGKILL after the timeout ends it.
  std::string bundle = MakeBundle({"sh", "-c", "trap '' TERM; while true; do sleep 1; done"});
  ASSERT_EQ(Berth({"run", "-d", "-b", bundle, id}).status, 0);
  auto start = std::chrono::steady_clock::now();
  auto s = Berth({"stop", "--timeout", "1", id});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(8));
  EXPECT_EQ(State(id)["status"], "stopped");
  // Stopping a stopped container is an error; delete still works.
  EXPECT_EQ(Berth({"stop", id}).status, 1);
  EXPECT_EQ(Berth({"delete", id}).status, 0);
}

TEST_F(Lifecycle, StopOfAProcessThatHonoursTermIsQuick) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"}), id}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "running"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let sh install its trap
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Berth({"stop", id}).status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(State(id)["status"], "stopped");
}

TEST_F(Lifecycle, ListShowsContainersAsTableJsonAndIds) {
  std::string a = NewId(), b = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), a}).status, 0);
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), b}).status, 0);
  auto q = Berth({"list", "-q"});
  EXPECT_EQ(q.out, (a < b ? a + "\n" + b + "\n" : b + "\n" + a + "\n"));
  auto j = json::parse(Berth({"list", "--format", "json"}).out);
  ASSERT_EQ(j.size(), 2u);
  for (const auto& c : j) EXPECT_EQ(c["status"], c["id"] == a ? "created" : "running");
  auto t = Berth({"list"});
  EXPECT_EQ(t.out.rfind("ID ", 0), 0u) << t.out;
  EXPECT_NE(t.out.find(a), std::string::npos);
  EXPECT_NE(t.out.find("running"), std::string::npos);
}

TEST_F(Lifecycle, PidFileHoldsThePidWithoutNewline) {
  std::string id = NewId();
  std::string pidfile = dir_ + "/pid";
  ASSERT_EQ(Berth({"create", "--pid-file", pidfile, "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  EXPECT_EQ(ReadFileOrEmpty(pidfile), std::to_string(State(id)["pid"].get<int>()));
}

TEST_F(Lifecycle, ConcurrentStartsAreSerialisedAndOnlyOneWins) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  CommandResult r1, r2;
  std::thread t1([&] { r1 = Berth({"start", id}); });
  std::thread t2([&] { r2 = Berth({"start", id}); });
  t1.join();
  t2.join();
  EXPECT_EQ((r1.status == 0) + (r2.status == 0), 1) << r1.err << " / " << r2.err;
  EXPECT_EQ(State(id)["status"], "running");
}

TEST_F(Lifecycle, StateOfAnExitedContainerIsStoppedWithPidZero) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"true"}), id}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  EXPECT_EQ(State(id)["pid"], 0);
}

// Issue 17 point 2: a v2 cgroup that once had cgroup.kill written kills every child
// cloned into it with CLONE_INTO_CGROUP on this kernel; berth clones again and moves
// the init by pid.
TEST_F(Lifecycle, RunsInAV2CgroupThatOnceHadCgroupKillWritten) {
  std::string unified = ::access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0
                            ? "/sys/fs/cgroup/unified"
                            : "/sys/fs/cgroup";
  ASSERT_EQ(::access((unified + "/cgroup.controllers").c_str(), F_OK), 0) << "no cgroup v2 here";
  std::string name = "berth-killed-" + std::to_string(::getpid());
  std::string dir = unified + "/" + name;
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  std::ofstream(dir + "/cgroup.kill") << "1";
  std::string id = NewId();
  auto r = Berth({"run", "-b", MakeBundle({"echo", "ran"}, [&](json& s) {
                    s["linux"]["cgroupsPath"] = "/" + name;
                  }), id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  for (const auto& left : CgroupDirsNamed(name)) ::rmdir(left.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace berth::testing
