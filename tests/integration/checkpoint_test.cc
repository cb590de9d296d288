// checkpoint and restore on real containers. With the real criu: the clear
// error where `criu check` fails (this project's VMs), and the end-to-end run
// (a counter goes on after restore) where it works; each test that cannot run
// on this machine says why (GTEST_SKIP with criu's reason). With
// berth-fake-criu (fake_criu.cc), anywhere: what berth asks criu, and what a
// dump or restore that fails half-way leaves behind (nothing).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "criu/rpc.pb.h"
#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct CriuOnThisMachine {
  std::string path;  // "" if not installed
  bool works = false;
  std::vector<std::string> errors;  // what `criu check` reported
  std::string reason;               // one line, for skips
};

std::string TrimCriuError(const std::string& line) {
  size_t close = line.find("): ");
  return close == std::string::npos ? line : line.substr(close + 3);
}

const CriuOnThisMachine& Criu() {
  static const CriuOnThisMachine c = [] {
    CriuOnThisMachine c;
    for (const char* p : {"/usr/sbin/criu", "/usr/bin/criu", "/usr/local/sbin/criu", "/sbin/criu"})
      if (::access(p, X_OK) == 0) {
        c.path = p;
        break;
      }
    if (c.path.empty()) {
      c.reason = "criu is not installed";
      return c;
    }
    auto r = RunCommand({c.path, "check"});
    c.works = r.status == 0;
    std::istringstream lines(r.err);
    std::string line;
    while (std::getline(lines, line))
      if (line.find("Error (") != std::string::npos &&
          line.find("exited, status=") == std::string::npos)
        c.errors.push_back(TrimCriuError(line));
    std::string said;
    for (size_t i = c.errors.size() > 3 ? c.errors.size() - 3 : 0; i < c.errors.size(); ++i)
      said += (said.empty() ? "" : "; ") + c.errors[i];
    c.reason = c.works ? "criu check succeeds here"
                       : "criu check fails here: " + (said.empty() ? r.err : said);
    return c;
  }();
  return c;
}

int ReadCount(const std::string& file) {
  std::string text = ReadFileOrEmpty(file);
  return text.empty() ? -1 : std::atoi(text.c_str());
}

// True when any of the container's freezers says frozen (v1 freezer.state, v2 cgroup.freeze).
bool CgroupFrozen(const std::string& id) {
  for (const auto& d : CgroupDirsNamed(id)) {
    if (ReadFileOrEmpty(d + "/freezer.state").rfind("FROZEN", 0) == 0) return true;
    if (ReadFileOrEmpty(d + "/cgroup.freeze").rfind("1", 0) == 0) return true;
  }
  return false;
}

bool CriuRootMounted() {
  return ReadFileOrEmpty("/proc/self/mountinfo").find("/criu-root") != std::string::npos;
}

bool OneLine(const std::string& err) {
  return !err.empty() && err.back() == '\n' && err.find('\n') == err.size() - 1;
}

class Checkpoint : public BerthTest {
 protected:
  void SetUp() override {
    BerthTest::SetUp();
    count_dir_ = dir_ + "/count";
    ::mkdir(count_dir_.c_str(), 0777);
    images_ = dir_ + "/images";
    fake_dir_ = dir_ + "/fake";
    ::mkdir(fake_dir_.c_str(), 0755);
  }

  // A container that counts into /host/count (a bind mount of count_dir_).
  std::string CounterBundle() {
    return MakeBundle(
        {"sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /host/count; sleep 0.05; done"},
        [&](json& s) {
          s["mounts"].push_back({{"destination", "/host"},
                                 {"type", "bind"},
                                 {"source", count_dir_},
                                 {"options", {"rbind", "rw"}}});
        });
  }

  int Count() { return ReadCount(count_dir_ + "/count"); }

  // Waits until the counter passes `above` (false after 5 s).
  bool CountPasses(int above) {
    for (int i = 0; i < 250; ++i) {
      if (Count() > above) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string RunCounter() {
    std::string id = NewId();
    bundle_ = CounterBundle();
    auto r = Berth({"run", "-d", "-b", bundle_, id});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(CountPasses(2)) << "the counter does not count";
    return id;
  }

  // berth with the fake criu in `mode`; with `fault_env`, berth-fault (the test build
  // with the fault injector, tests/fault/) with those BERTH_FAULT_* settings.
  CommandResult FakeBerth(const std::string& mode, std::vector<std::string> args,
                          const std::vector<std::string>& fault_env = {}) {
    args.insert(args.begin(), {"--criu", BERTH_FAKE_CRIU});
    SpawnOptions o;
    o.env = {"BERTH_FAKE_CRIU=" + mode, "BERTH_FAKE_CRIU_DIR=" + fake_dir_};
    if (fault_env.empty()) return Berth(args, o);
    o.env.insert(o.env.end(), fault_env.begin(), fault_env.end());
    args.insert(args.begin(), {BERTH_FAULT, "--root", root_});
    return RunCommand(args, o);
  }

  criu::criu_req RecordedRequest() {
    criu::criu_req req;
    EXPECT_TRUE(req.ParseFromString(ReadFileOrEmpty(fake_dir_ + "/request.bin")))
        << "the fake criu recorded no request";
    return req;
  }

  // A checkpoint image directory as berth and runc write it, for restores.
  void FakeImages() {
    ::mkdir(images_.c_str(), 0700);
    std::ofstream(images_ + "/descriptors.json") << R"(["/dev/null","pipe:[1]","pipe:[2]"])";
  }

  // Nothing of container `id` is left: state, cgroups, the criu-root mount.
  void ExpectNothingLeft(const std::string& id) {
    EXPECT_TRUE(State(id).is_null()) << "the container exists";
    EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "its cgroup exists";
    EXPECT_FALSE(CriuRootMounted());
    struct stat st;
    EXPECT_NE(::stat((root_ + "/" + id).c_str(), &st), 0) << "its state directory exists";
  }

  std::string count_dir_, images_, fake_dir_, bundle_;
};

// --- the real criu, where `criu check` fails -------------------------------

TEST_F(Checkpoint, FailsAtOnceWithCriusReasonAndTheContainerRunsOn) {
  if (Criu().works || Criu().path.empty())
    GTEST_SKIP() << Criu().reason << ": this tests the failure";
  std::string id = RunCounter();
  json before = State(id);
  auto start = Clock::now();
  auto r = Berth({"checkpoint", "--image-path", images_, id});
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("checkpoint container \"" + id +
                       "\": criu cannot work on this system: criu check failed: "),
            std::string::npos)
      << r.err;
  bool quotes_criu = false;
  for (const auto& e : Criu().errors) quotes_criu |= r.err.find(e) != std::string::npos;
  EXPECT_TRUE(quotes_criu) << "berth: " << r.err << "criu check: " << Criu().reason;
  EXPECT_LT(took, std::chrono::seconds(10));
  // Unchanged: the same state, not frozen, still counting, no images written.
  EXPECT_EQ(State(id), before);
  EXPECT_FALSE(CgroupFrozen(id));
  EXPECT_TRUE(CountPasses(Count()));
  EXPECT_FALSE(
      ReadFileOrEmpty("/proc/" + std::to_string(before["pid"].get<int>()) + "/stat").empty());
  struct stat st;
  EXPECT_NE(::stat(images_.c_str(), &st), 0) << "the image directory was made";
}

TEST_F(Checkpoint, RestoreFailsAtOnceWithCriusReasonAndMakesNothing) {
  if (Criu().works || Criu().path.empty())
    GTEST_SKIP() << Criu().reason << ": this tests the failure";
  FakeImages();
  std::string id = NewId();
  auto r = Berth({"restore", "-d", "--image-path", images_, "-b", CounterBundle(), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("restore container \"" + id + "\": criu cannot work on this system"),
            std::string::npos)
      << r.err;
  bool quotes_criu = false;
  for (const auto& e : Criu().errors) quotes_criu |= r.err.find(e) != std::string::npos;
  EXPECT_TRUE(quotes_criu) << r.err;
  ExpectNothingLeft(id);
  EXPECT_EQ(Count(), -1) << "a process of the container ran";
}

// --- wherever criu works: the end-to-end run --------------------------------

TEST_F(Checkpoint, CheckpointedCounterGoesOnAfterRestore) {
  if (!Criu().works) GTEST_SKIP() << Criu().reason;
  std::string id = RunCounter();
  ASSERT_TRUE(CountPasses(20));
  auto c = Berth({"checkpoint", "--image-path", images_, id});
  ASSERT_EQ(c.status, 0) << c.err << ReadFileOrEmpty(images_ + "/dump.log");
  EXPECT_TRUE(State(id).is_null()) << "checkpoint without --leave-running keeps the container";
  int saved = Count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Count(), saved) << "the counter ran on after the checkpoint";

  auto r = Berth({"restore", "-d", "--image-path", images_, "-b", bundle_, id});
  ASSERT_EQ(r.status, 0) << r.err << ReadFileOrEmpty(images_ + "/restore.log");
  EXPECT_EQ(State(id)["status"], "running");
  // It goes on from where it was, not from 1.
  ASSERT_TRUE(CountPasses(saved)) << "the restored counter does not count";
  int now = Count();
  EXPECT_GT(now, saved);
  EXPECT_LT(now, saved + 200);
  ASSERT_EQ(Berth({"delete", "--force", id}).status, 0);
  ExpectNothingLeft(id);
}

// --- criu missing, or asked about the wrong container ------------------------

TEST_F(Checkpoint, MissingCriuFailsAtOnceAndChangesNothing) {
  std::string id = RunCounter();
  json before = State(id);
  auto r = Berth({"--criu", "/nonexistent/criu", "checkpoint", "--image-path", images_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: checkpoint container \"" + id +
                       "\": criu is not installed (/nonexistent/criu not found)\n");
  EXPECT_EQ(State(id), before);
  EXPECT_TRUE(CountPasses(Count()));

  std::string other = NewId();
  FakeImages();
  r = Berth({"--criu", "/nonexistent/criu", "restore", "-d", "--image-path", images_, "-b", bundle_,
             other});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: restore container \"" + other +
                       "\": criu is not installed (/nonexistent/criu not found)\n");
  ExpectNothingLeft(other);
}

TEST_F(Checkpoint, OnlyARunningOrPausedContainer) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  auto r = FakeBerth("dump-ok", {"checkpoint", "--image-path", images_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("it is created, not running or paused"), std::string::npos) << r.err;
  EXPECT_EQ(State(id)["status"], "created");
  r = FakeBerth("restore-ok", {"restore", "-d", "--image-path", images_, "-b", bundle_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: container \"" + id + "\" already exists\n");
}

// --- the fake criu: what berth asks, and what failures leave -----------------

TEST_F(Checkpoint, FailedCheckIsQuotedFromCriusLog) {
  std::string id = RunCounter();
  json before = State(id);
  auto r = FakeBerth("check-fails", {"checkpoint", "--image-path", images_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: checkpoint container \"" + id +
                       "\": criu cannot work on this system: criu check failed: fake: this kernel "
                       "cannot be checkpointed\n");
  EXPECT_EQ(State(id), before);
  EXPECT_FALSE(CgroupFrozen(id));
  // The check's log lived in a temporary directory under --root, now gone.
  for (const auto& e : std::filesystem::directory_iterator(root_))
    EXPECT_EQ(e.path().filename().string().rfind(".criu-check", 0), std::string::npos) << e.path();
}

TEST_F(Checkpoint, CriuDyingMidDumpLeavesTheContainerRunningAndThawed) {
  std::string id = RunCounter();
  json before = State(id);
  auto r = FakeBerth("dump-dies-frozen", {"checkpoint", "--image-path", images_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("criu exited without answering"), std::string::npos) << r.err;
  EXPECT_FALSE(CgroupFrozen(id)) << "the cgroup criu froze is still frozen";
  EXPECT_EQ(State(id), before);
  EXPECT_TRUE(CountPasses(Count())) << "the container does not run";
}

TEST_F(Checkpoint, PausedStaysPausedWhenTheDumpFails) {
  std::string id = RunCounter();
  // No `pause` command yet: freeze the way it does, through the cgroup.
  bool froze = false;
  for (const auto& d : CgroupDirsNamed(id))
    if (ReadFileOrEmpty(d + "/freezer.state").size()) {
      std::ofstream(d + "/freezer.state") << "FROZEN";
      froze = true;
    }
  if (!froze)
    for (const auto& d : CgroupDirsNamed(id))
      if (ReadFileOrEmpty(d + "/cgroup.freeze").size()) std::ofstream(d + "/cgroup.freeze") << "1";
  ASSERT_TRUE(WaitForStatus(id, "paused"));
  auto r = FakeBerth("dump-dies-frozen", {"checkpoint", "--image-path", images_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(State(id)["status"], "paused");
}

TEST_F(Checkpoint, DumpAsksCriuForTheContainer) {
  std::string id = RunCounter();
  json before = State(id);
  auto r = FakeBerth("dump-ok",
                     {"checkpoint", "--leave-running", "--tcp-established", "--manage-cgroups-mode",
                      "full", "--image-path", images_, "--work-path", dir_ + "/work", id});
  ASSERT_EQ(r.status, 0) << r.err;
  criu::criu_req req = RecordedRequest();
  EXPECT_EQ(req.type(), criu::DUMP);
  const auto& o = req.opts();
  EXPECT_EQ(o.pid(), before["pid"].get<int>());
  EXPECT_EQ(o.root(), SharedRootfs());
  EXPECT_TRUE(o.leave_running());
  EXPECT_TRUE(o.tcp_established());
  EXPECT_EQ(o.manage_cgroups_mode(), criu::FULL);
  EXPECT_TRUE(o.has_work_dir_fd());
  EXPECT_NE(o.freeze_cgroup().find(id), std::string::npos) << o.freeze_cgroup();
  bool host_bind = false;
  for (const auto& m : o.ext_mnt()) host_bind |= m.key() == "/host" && m.val() == "/host";
  EXPECT_TRUE(host_bind) << "the bind mount is not external";
  json fds = json::parse(ReadFileOrEmpty(images_ + "/descriptors.json"), nullptr, false);
  ASSERT_TRUE(fds.is_array());
  EXPECT_EQ(fds.size(), 3u);
  // --leave-running: the container is as it was.
  EXPECT_EQ(State(id), before);
  EXPECT_TRUE(CountPasses(Count()));
}

TEST_F(Checkpoint, WithoutLeaveRunningTheContainerIsGone) {
  std::string id = RunCounter();
  pid_t pid = State(id)["pid"].get<int>();
  auto r = FakeBerth("dump-ok", {"checkpoint", "--image-path", images_, id});
  ASSERT_EQ(r.status, 0) << r.err;
  ExpectNothingLeft(id);
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(Checkpoint, RestoreRecordsTheRestoredInit) {
  FakeImages();
  std::string id = NewId();
  auto r = FakeBerth("restore-ok",
                     {"restore", "-d", "--image-path", images_, "-b", CounterBundle(), id});
  ASSERT_EQ(r.status, 0) << r.err;
  pid_t sibling = std::atoi(ReadFileOrEmpty(fake_dir_ + "/sibling.pid").c_str());
  json st = State(id);
  EXPECT_EQ(st["status"], "running");
  EXPECT_EQ(st["pid"].get<int>(), sibling);
  EXPECT_FALSE(CriuRootMounted()) << "criu-root is still mounted";

  criu::criu_req req = RecordedRequest();
  EXPECT_EQ(req.type(), criu::RESTORE);
  const auto& o = req.opts();
  EXPECT_TRUE(o.rst_sibling());
  EXPECT_EQ(o.root(), root_ + "/" + id + "/criu-root");
  bool host_bind = false;
  for (const auto& m : o.ext_mnt()) host_bind |= m.key() == "/host" && m.val() == count_dir_;
  EXPECT_TRUE(host_bind) << "the bind mount's source is not given back";
  ASSERT_EQ(o.inherit_fd_size(), 2);
  EXPECT_EQ(o.inherit_fd(0).key(), "pipe:[1]");
  EXPECT_EQ(o.inherit_fd(0).fd(), 1);
  bool in_container_cgroup = false;
  for (const auto& root : o.cg_root())
    in_container_cgroup |= root.path().find(id) != std::string::npos;
  EXPECT_TRUE(in_container_cgroup) << "criu was not in the container's cgroup";

  ASSERT_EQ(Berth({"kill", id, "KILL"}).status, 0);
  EXPECT_TRUE(WaitForStatus(id, "stopped"));
  ASSERT_EQ(Berth({"delete", id}).status, 0);
  ExpectNothingLeft(id);
}

TEST_F(Checkpoint, FailedRestoreLeavesNothing) {
  FakeImages();
  std::string id = NewId();
  auto r = FakeBerth("restore-fails",
                     {"restore", "-d", "--image-path", images_, "-b", CounterBundle(), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("criu restore failed: fake: restore failed after post-restore"),
            std::string::npos)
      << r.err;
  pid_t sibling = std::atoi(ReadFileOrEmpty(fake_dir_ + "/sibling.pid").c_str());
  ASSERT_GT(sibling, 0);
  EXPECT_FALSE(ProcessExists(sibling)) << "the half-restored process is alive";
  ExpectNothingLeft(id);
}

TEST_F(Checkpoint, RestoreWithoutImagesSaysSo) {
  std::string id = NewId();
  ::mkdir(images_.c_str(), 0700);
  auto r = FakeBerth("restore-ok",
                     {"restore", "-d", "--image-path", images_, "-b", CounterBundle(), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(images_ + " holds no checkpoint"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
}

// The fault walk of restore (see fault_walk_test.cc): failed at each of its steps in
// turn, it says which in one line and leaves nothing, not even the restored process.
TEST_F(Checkpoint, RestoreLeavesNothingAtEveryFaultStep) {
  FakeImages();
  std::string bundle = CounterBundle();
  std::string trace = dir_ + "/restore-trace";
  std::string probe = NewId();
  auto r = FakeBerth("restore-ok", {"restore", "-d", "--image-path", images_, "-b", bundle, probe},
                     {"BERTH_FAULT_TRACE=" + trace});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(Berth({"delete", "--force", probe}).status, 0);
  std::vector<std::string> steps;
  std::ifstream in(trace);
  for (std::string line; std::getline(in, line);) steps.push_back(line);
  ASSERT_GE(steps.size(), 6u);
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    std::string id = NewId();
    ::unlink((fake_dir_ + "/sibling.pid").c_str());
    r = FakeBerth("restore-ok", {"restore", "-d", "--image-path", images_, "-b", bundle, id},
                  {"BERTH_FAULT_AT=" + std::to_string(i + 1)});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(OneLine(r.err)) << r.err;
    EXPECT_NE(r.err.find("injected fault at " + steps[i]), std::string::npos) << r.err;
    pid_t sibling = std::atoi(ReadFileOrEmpty(fake_dir_ + "/sibling.pid").c_str());
    if (sibling > 0) EXPECT_FALSE(ProcessExists(sibling)) << "the restored process is alive";
    ExpectNothingLeft(id);
  }
}

}  // namespace
}  // namespace berth::testing
