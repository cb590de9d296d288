// Bad input and failures: one line naming the cause, exit status 1, and
// nothing left behind (state dir, cgroups, processes, mounts).
#include <sys/stat.h>

#include <chrono>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Errors : public BerthTest {
 protected:
  // Asserts a failed create left nothing: no state, no cgroup, no state dir.
  void ExpectNothingLeft(const std::string& id) {
    EXPECT_NE(Berth({"state", id}).status, 0);
    struct stat st;
    EXPECT_NE(::stat((root_ + "/" + id).c_str(), &st), 0) << "state dir left for " << id;
    EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "cgroup left for " << id;
  }
  static size_t Lines(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
  }
};

TEST_F(Errors, InvalidJsonIsOneLineAndLeavesNothing) {
  std::string id = NewId();
  std::string bundle = MakeBundle({"true"});
  std::ofstream(bundle + "/config.json") << "{ not json";
  auto r = Berth({"create", "-b", bundle, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: config.json: invalid JSON\n");
  ExpectNothingLeft(id);
}

TEST_F(Errors, MissingRequiredFieldAndBadVersionAreNamed) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) { s.erase("root"); }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("root: required field is missing"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
  r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) { s["ociVersion"] = "2.0.0"; }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("ociVersion"), std::string::npos) << r.err;
  EXPECT_EQ(Lines(r.err), 1u);
  ExpectNothingLeft(id);
}

TEST_F(Errors, UnknownCapabilityAndRlimitAreErrors) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) {
                    s["process"]["capabilities"]["bounding"].push_back("CAP_TEST");
                  }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown capability \"CAP_TEST\""), std::string::npos) << r.err;
  ExpectNothingLeft(id);
  r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) {
               s["process"]["rlimits"].push_back({{"type", "RLIMIT_FOO"}, {"hard", 1}, {"soft", 1}});
             }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown rlimit \"RLIMIT_FOO\""), std::string::npos) << r.err;
  ExpectNothingLeft(id);
}

TEST_F(Errors, BadIdsAreRejected) {
  std::string bundle = MakeBundle({"true"});
  for (std::string id : {"a/b", "..", ".", "has space"}) {
    auto r = Berth({"create", "-b", bundle, id});
    EXPECT_EQ(r.status, 1) << id;
    EXPECT_NE(r.err.find("invalid container id"), std::string::npos) << r.err;
  }
  struct stat st;
  EXPECT_NE(::stat((root_ + "/a").c_str(), &st), 0);
}

TEST_F(Errors, DuplicateIdFailsAndLeavesTheFirstAlone) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  json before = State(id);
  auto r = Berth({"create", "-b", MakeBundle({"sleep", "100"}), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(State(id), before);
}

TEST_F(Errors, UnknownIdFailsForEveryCommand) {
  for (auto cmd : std::vector<std::vector<std::string>>{
           {"start", "nope"}, {"state", "nope"}, {"kill", "nope"}, {"delete", "nope"},
           {"stop", "nope"}}) {
    auto r = Berth(cmd);
    EXPECT_EQ(r.status, 1) << cmd[0];
    EXPECT_EQ(r.err, "berth: container \"nope\" does not exist\n") << cmd[0];
  }
}

// proc and sysfs go only on an ordinary directory: runc refuses a rootfs whose /proc
// or /sys is a symlink ("filesystem \"sysfs\" must be mounted on ordinary
// directory"); berth names the mount and the symlink, once, for both.
TEST_F(Errors, ProcOrSysThatIsASymlinkIsRefused) {
  for (const char* dir : {"proc", "sys"}) {
    std::string rootfs = dir_ + "/rootfs-" + dir;
    ASSERT_EQ(RunCommand({"/bin/cp", "-a", SharedRootfs(), rootfs}).status, 0);
    ASSERT_EQ(::mkdir((rootfs + "/x").c_str(), 0755), 0);
    std::string link = rootfs + "/" + dir;
    ASSERT_EQ(::rmdir(link.c_str()), 0);
    ASSERT_EQ(::symlink("/x", link.c_str()), 0);
    std::string bundle = MakeBundle({"echo", "RAN"}, [&](json& s) { s["root"]["path"] = rootfs; });
    for (const auto& rt : SideBySideRuntimes()) {
      SCOPED_TRACE(rt.name + " /" + dir);
      std::string id = NewId();
      auto r = RunWith(rt, {"run", "-b", bundle, id});
      EXPECT_NE(r.status, 0);
      EXPECT_EQ(r.out, "");
      EXPECT_NE(r.err.find(std::string("/") + dir), std::string::npos) << r.err;
      if (rt.name != "berth") continue;
      std::string fstype = dir == std::string("sys") ? "sysfs" : "proc";
      EXPECT_EQ(r.err, "berth: mount " + fstype + " on /" + dir +
                           ": the target is a symlink (or under one), not an ordinary directory: "
                           "Not a directory\n");
      ExpectNothingLeft(id);
    }
  }
}

TEST_F(Errors, MissingIdIsAUsageError) {
  for (auto cmd : {"create", "start", "state", "kill", "delete", "stop"}) {
    auto r = Berth({cmd});
    EXPECT_NE(r.status, 0) << cmd;
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
  }
}

TEST_F(Errors, BundleThatIsNotADirectory) {
  std::string id = NewId();
  std::string file = dir_ + "/file";
  std::ofstream(file) << "x";
  auto r = Berth({"create", "-b", file, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("is not a directory"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
}

TEST_F(Errors, MissingExecutableFailsCreateAndLeavesNothing) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"/no/such/binary"}), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/no/such/binary"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
  r = Berth({"create", "-b", MakeBundle({"nosuchcommand"}), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("executable file not found in $PATH"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
}

TEST_F(Errors, FailingMountLeavesNothing) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) {
                    s["mounts"].push_back({{"destination", "/x"}, {"type", "nosuchfs"},
                                           {"source", "none"}});
                  }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("mount nosuchfs on /x"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
}

TEST_F(Errors, FailingPrestartHookKillsTheInitAndLeavesNothing) {
  std::string id = NewId();
  std::string pidfile = dir_ + "/hook-state";
  auto r = Berth({"create", "-b", MakeBundle({"sleep", "100"}, [&](json& s) {
                    s["hooks"]["prestart"] = {{{"path", "/bin/sh"},
                                               {"args", {"sh", "-c", "cat > " + pidfile + "; echo hook says no >&2; exit 7"}}}};
                  }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("prestart hook 0 (/bin/sh) exited with status 7: hook says no"),
            std::string::npos)
      << r.err;
  json state = json::parse(ReadFileOrEmpty(pidfile), nullptr, false);
  ASSERT_TRUE(state.is_object()) << "the hook did not get the state";
  EXPECT_EQ(state["id"], id);
  EXPECT_FALSE(ProcessExists(state["pid"].get<int>())) << "init left running";
  ExpectNothingLeft(id);
}

// Issue 17: a failure after the init is cloned (here the pid file) once hung for good:
// the rollback killed the init through a pidfd that was already closed.
TEST_F(Errors, FailureAfterTheLaunchKillsTheInitAndLeavesNothing) {
  std::string id = NewId();
  auto start = std::chrono::steady_clock::now();
  auto r = Berth({"create", "-b", MakeBundle({"sleep", "100"}), "--pid-file",
                  dir_ + "/no/such/dir/pid", id});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ExpectNothingLeft(id);
}

// Issue 17 point 8: an init cloned into a frozen cgroup never runs; create must not wait
// for it. The frozen cgroup is the user's: it stays as it was.
TEST_F(Errors, FrozenTargetCgroupIsRefused) {
  std::vector<std::pair<std::string, std::string>> freezers;  // dir, the file that freezes
  if (::access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
    freezers.push_back({"/sys/fs/cgroup/unified", "cgroup.freeze"});
  else if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
    freezers.push_back({"/sys/fs/cgroup", "cgroup.freeze"});
  if (::access("/sys/fs/cgroup/freezer/freezer.state", F_OK) == 0)
    freezers.push_back({"/sys/fs/cgroup/freezer", "freezer.state"});
  ASSERT_FALSE(freezers.empty()) << "no freezer on this host";
  for (const auto& [hierarchy, file] : freezers) {
    std::string name = "berth-frozen-" + std::to_string(::getpid());
    std::string dir = hierarchy + "/" + name;
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    bool v2 = file == "cgroup.freeze";
    std::ofstream(dir + "/" + file) << (v2 ? "1" : "FROZEN");
    std::string id = NewId();
    auto r = Berth({"run", "-d", "-b", MakeBundle({"true"}, [&](json& s) {
                      s["linux"]["cgroupsPath"] = "/" + name;
                    }), id});
    EXPECT_EQ(r.status, 1) << dir << ": " << r.err;
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_NE(Berth({"state", id}).status, 0);
    std::ofstream(dir + "/" + file) << (v2 ? "0" : "THAWED");
    EXPECT_EQ(::rmdir(dir.c_str()), 0) << dir << " is not as it was";
    // Nothing made in the other hierarchies for that cgroupsPath (removed if it was).
    auto left = CgroupDirsNamed(name);
    EXPECT_TRUE(left.empty()) << left.size() << " cgroups made for " << name;
    for (const auto& other : left) ::rmdir(other.c_str());
  }
}

TEST_F(Errors, TerminalWithoutConsoleSocketIsRefusedByCreate) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) { s["process"]["terminal"] = true; }), id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--console-socket"), std::string::npos) << r.err;
  ExpectNothingLeft(id);
}

}  // namespace
}  // namespace berth::testing
