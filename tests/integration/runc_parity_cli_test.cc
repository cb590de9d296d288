// Issue 18, items 10-11: runc's command line, run through berth, runc 1.4 and runc 1.1.5
// with the same outcome asserted: delete --force of a missing container, signal 0,
// exec's exit status (255 when the process never ran), exec --cgroup, device access
// strings, --debug in text and JSON, and --version.
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class RuncParityCli : public BerthTest {
 protected:
  std::string StartSleeper(const Runtime& rt) {
    std::string id = NewId();
    auto r = RunWith(rt, {"run", "-d", "-b", MakeBundle({"sleep", "1000"}), id});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    return id;
  }
};

TEST_F(RuncParityCli, DeleteForceOfAMissingContainerSucceeds) {
  for (const auto& rt : SideBySideRuntimes()) {
    std::string id = NewId();
    auto forced = RunWith(rt, {"delete", "--force", id});
    EXPECT_EQ(forced.status, 0) << rt.name << ": " << forced.err;
    EXPECT_EQ(RunWith(rt, {"delete", id}).status, 1) << rt.name;  // without --force: an error
  }
}

// A state dir without its state.json (a create killed before it saved the record):
// delete removes it, as runc does; an error without --force, none with it.
TEST_F(RuncParityCli, DeleteRemovesAStateDirLeftWithoutItsRecord) {
  for (const auto& rt : SideBySideRuntimes()) {
    std::string root = rt.binary == BERTH_BINARY ? root_ : dir_ + "/state-" + rt.name;
    for (bool force : {false, true}) {
      std::string id = NewId(), state_dir = root + "/" + id;
      ASSERT_EQ(RunCommand({"/bin/mkdir", "-p", state_dir}).status, 0);
      ASSERT_EQ(::mkfifo((state_dir + "/exec.fifo").c_str(), 0600), 0);
      std::vector<std::string> args = {"delete"};
      if (force) args.push_back("--force");
      args.push_back(id);
      auto r = RunWith(rt, args);
      EXPECT_EQ(r.status, force ? 0 : 1) << rt.name << (force ? " --force: " : ": ") << r.err;
      struct stat st;
      EXPECT_NE(::stat(state_dir.c_str(), &st), 0) << rt.name << ": the state dir is left";
    }
  }
}

// runc 1.4 and berth; runc 1.1 (which needed --all for this) is left out.
std::vector<Runtime> Runc14Semantics() {
  std::vector<Runtime> out;
  for (auto& rt : SideBySideRuntimes())
    if (rt.name != "runc-1.1") out.push_back(rt);
  return out;
}

bool Eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 250; ++i) {
    if (cond()) return true;
    ::usleep(20000);
  }
  return cond();
}

// Without a pid namespace of its own, killing the init leaves the container's other
// processes: SIGKILL goes to every process of its cgroup, without --all.
TEST_F(RuncParityCli, KillOfAContainerWithoutItsOwnPidNamespaceKillsEveryProcess) {
  for (const auto& rt : Runc14Semantics()) {
    std::string id = NewId();
    auto bundle = MakeBundle({"sleep", "1000"}, [](json& s) {
      auto& ns = s["linux"]["namespaces"];
      for (auto it = ns.begin(); it != ns.end();) it = (*it)["type"] == "pid" ? ns.erase(it) : it + 1;
    });
    ASSERT_EQ(RunWith(rt, {"run", "-d", "-b", bundle, id}).status, 0) << rt.name;
    std::string pid_file = dir_ + "/exec-" + rt.name + ".pid";
    auto exec = RunWith(rt, {"exec", "-d", "--pid-file", pid_file, id, "sleep", "1001"});
    ASSERT_EQ(exec.status, 0) << rt.name << ": " << exec.err;
    pid_t exec_pid = std::stoi(ReadFileOrEmpty(pid_file));
    ASSERT_TRUE(ProcessExists(exec_pid));
    auto killed = RunWith(rt, {"kill", id, "KILL"});
    EXPECT_EQ(killed.status, 0) << rt.name << ": " << killed.err;
    EXPECT_TRUE(Eventually([&] { return !ProcessExists(exec_pid); }))
        << rt.name << ": the exec'd process outlived the kill of the init";
    EXPECT_EQ(RunWith(rt, {"delete", "--force", id}).status, 0) << rt.name;
  }
}

// SIGKILL to a paused container: it is thawed, so that the signal is taken (v1's frozen
// processes hold it until then), and the container stops.
TEST_F(RuncParityCli, KillOfAPausedContainerThawsItAndItStops) {
  for (const auto& rt : Runc14Semantics()) {
    std::string id = StartSleeper(rt);
    ASSERT_EQ(RunWith(rt, {"pause", id}).status, 0) << rt.name;
    EXPECT_EQ(RunWith(rt, {"kill", id, "KILL"}).status, 0) << rt.name;
    EXPECT_TRUE(Eventually([&] {
      auto state = json::parse(RunWith(rt, {"state", id}).out, nullptr, false);
      return state.is_object() && state.value("status", "") == "stopped";
    })) << rt.name << ": still " << RunWith(rt, {"state", id}).out;
    // A stopped container: a signal is an error ("not running"), with --all it is not.
    EXPECT_EQ(RunWith(rt, {"kill", id, "TERM"}).status, 1) << rt.name;
    EXPECT_EQ(RunWith(rt, {"kill", "--all", id, "TERM"}).status, 0) << rt.name;
  }
}

TEST_F(RuncParityCli, SignalZeroChecksALiveContainer) {
  for (const auto& rt : SideBySideRuntimes()) {
    std::string id = StartSleeper(rt);
    for (auto args : {std::vector<std::string>{"kill", id, "0"},
                      std::vector<std::string>{"kill", "--all", id, "0"}}) {
      auto r = RunWith(rt, args);
      EXPECT_EQ(r.status, 0) << rt.name << " " << args[1] << ": " << r.err;
    }
    auto state = RunWith(rt, {"state", id});
    EXPECT_EQ(json::parse(state.out, nullptr, false).value("status", ""), "running") << rt.name;
  }
}

// 255 says the process never ran; any status of its own, 255 included, is passed on.
TEST_F(RuncParityCli, ExecThatFailsToStartExits255) {
  for (const auto& rt : SideBySideRuntimes()) {
    std::string id = StartSleeper(rt);
    EXPECT_EQ(RunWith(rt, {"exec", id, "/nonexistent"}).status, 255) << rt.name;
    EXPECT_EQ(RunWith(rt, {"exec", "--cwd", "/nonexistent", id, "true"}).status, 255) << rt.name;
    EXPECT_EQ(RunWith(rt, {"exec", NewId(), "true"}).status, 255) << rt.name;
    EXPECT_EQ(RunWith(rt, {"exec", id, "sh", "-c", "exit 3"}).status, 3) << rt.name;
    EXPECT_EQ(RunWith(rt, {"exec", id, "sh", "-c", "exit 255"}).status, 255) << rt.name;
  }
}

// runc 1.4 (and 1.1) refuse a sub-cgroup that leads out of the container's cgroup; one
// below it is joined, per v1 controller.
TEST_F(RuncParityCli, ExecCgroupStaysBelowTheContainersCgroup) {
  for (const auto& rt : SideBySideRuntimes()) {
    std::string id = StartSleeper(rt);
    for (const char* bad : {"../x", "/../x", "a/../../x", "pids:../x"}) {
      auto r = RunWith(rt, {"exec", "--cgroup", bad, id, "echo", "ran"});
      EXPECT_EQ(r.status, 255) << rt.name << " " << bad;
      EXPECT_EQ(r.out, "") << rt.name << " " << bad;
    }
    std::string sub = "/sys/fs/cgroup/pids/" + id + "/sub";
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0) << sub;
    auto r = RunWith(rt, {"exec", "--cgroup", "pids:sub", id, "cat", "/proc/self/cgroup"});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    EXPECT_NE(r.out.find(":pids:/" + id + "/sub\n"), std::string::npos) << rt.name << ": " << r.out;
    EXPECT_EQ(::rmdir(sub.c_str()), 0) << sub;
  }
}

TEST_F(RuncParityCli, DeviceRulesTakeEveryOrderOfRWM) {
  std::string bundle = MakeBundle({"true"}, [](json& s) {
    int minor = 0;
    for (const char* access : {"r", "w", "m", "rw", "wr", "mr", "wm", "rwm", "mwr", "wmr", "rr"})
      s["linux"]["resources"]["devices"].push_back(
          {{"allow", true}, {"type", "c"}, {"major", 240}, {"minor", minor++}, {"access", access}});
  });
  for (const auto& rt : SideBySideRuntimes()) {
    auto r = RunWith(rt, {"run", "-b", bundle, NewId()});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
  }
}

// What a runc user looks for at debug level: many debug lines around create and exec
// (which stage did what), every line a logfmt or JSON record, and the exec'd
// process's exit.
TEST_F(RuncParityCli, DebugLogsTheStagesInTextAndJson) {
  auto debug_lines = [](const std::string& err, bool as_json) {
    int n = 0;
    for (const auto& line : Lines(err)) {
      if (as_json) {
        json j = json::parse(line, nullptr, false);
        EXPECT_TRUE(j.is_object() && j.contains("level") && j.contains("msg") && j.contains("time"))
            << line;
        if (j.is_object() && j.value("level", "") == "debug") ++n;
      } else {
        EXPECT_EQ(line.rfind("time=\"", 0), 0u) << line;
        if (line.find(" level=debug msg=") != std::string::npos) ++n;
      }
    }
    return n;
  };
  for (const auto& rt : SideBySideRuntimes()) {
    std::string id = NewId();
    auto create = RunWith(rt, {"--debug", "run", "-d", "-b", MakeBundle({"sleep", "1000"}), id});
    ASSERT_EQ(create.status, 0) << rt.name << ": " << create.err;
    EXPECT_GE(debug_lines(create.err, false), 5) << rt.name << ": " << create.err;
    for (bool as_json : {false, true}) {
      std::vector<std::string> args = {"--debug", "exec", id, "true"};
      if (as_json) args.insert(args.begin(), {"--log-format", "json"});
      auto exec = RunWith(rt, args);
      EXPECT_EQ(exec.status, 0) << rt.name << ": " << exec.err;
      EXPECT_GE(debug_lines(exec.err, as_json), 5) << rt.name << ": " << exec.err;
      EXPECT_NE(exec.err.find("process exited"), std::string::npos) << rt.name << ": " << exec.err;
    }
  }
}

// runc 1.4 from scripts/install-deps.sh is built without a commit line (runc prints
// "commit:" only when it has one); runc 1.1.5 from Debian and berth print it.
TEST_F(RuncParityCli, VersionNamesTheCommitSpecAndLibseccomp) {
  for (const auto& rt : SideBySideRuntimes()) {
    auto r = RunCommand({rt.binary, "--version"});
    ASSERT_EQ(r.status, 0) << rt.name;
    auto lines = Lines(r.out);
    ASSERT_FALSE(lines.empty()) << rt.name;
    std::string name = rt.name == "berth" ? "berth" : "runc";
    EXPECT_EQ(lines[0].rfind(name + " version ", 0), 0u) << rt.name << ": " << r.out;
    auto has = [&](const std::string& prefix) {
      return std::any_of(lines.begin(), lines.end(),
                         [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(has("spec: 1.")) << rt.name << ": " << r.out;
    EXPECT_TRUE(has("libseccomp: 2.")) << rt.name << ": " << r.out;
    if (rt.name != "runc-1.4") EXPECT_TRUE(has("commit: ")) << rt.name << ": " << r.out;
  }
}

}  // namespace
}  // namespace berth::testing
