// The fault walk: `create` and `exec` of berth-fault (berth with the test-only fault
// injector, tests/fault/) made to fail at each of their steps in turn. Every failure
// must be one line naming the step, and leave nothing: no state dir, no cgroup in any
// hierarchy, no mount under the test's directory, no process.
#include <dirent.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

class FaultWalk : public BerthTest {
 protected:
  // berth-fault with the injector told to fail at point `at` (0: none) and to list the
  // points it reaches in `trace` (if not empty).
  CommandResult Faulty(const std::vector<std::string>& args, int at, const std::string& trace = "") {
    std::vector<std::string> argv = {BERTH_FAULT, "--root", root_};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    if (at > 0) o.env.push_back("BERTH_FAULT_AT=" + std::to_string(at));
    if (!trace.empty()) o.env.push_back("BERTH_FAULT_TRACE=" + trace);
    return RunCommand(argv, o);
  }

  // The fault points `args` reaches when nothing fails (it must succeed).
  std::vector<std::string> Steps(const std::vector<std::string>& args) {
    std::string trace = dir_ + "/trace-" + std::to_string(++traces_);
    auto r = Faulty(args, 0, trace);
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<std::string> steps;
    std::ifstream in(trace);
    for (std::string line; std::getline(in, line);) steps.push_back(line);
    return steps;
  }

  // Pids of processes whose command line mentions `word`.
  static std::vector<pid_t> ProcessesMentioning(const std::string& word) {
    std::vector<pid_t> found;
    DIR* proc = ::opendir("/proc");
    while (dirent* e = ::readdir(proc)) {
      pid_t pid = std::atoi(e->d_name);
      if (pid <= 0 || pid == ::getpid()) continue;
      std::string cmdline = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cmdline");
      for (char& c : cmdline)
        if (c == '\0') c = ' ';
      if (cmdline.find(word) != std::string::npos && ProcessExists(pid)) found.push_back(pid);
    }
    ::closedir(proc);
    return found;
  }

  int MountsUnder(const std::string& dir) {
    std::ifstream in("/proc/self/mountinfo");
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(" " + dir + "/") != std::string::npos;
    return n;
  }

  // `status`: 1 for create; 255 for an exec that did not start, as runc.
  void ExpectFailedAt(const CommandResult& r, const std::string& step, int status) {
    EXPECT_EQ(r.status, status) << step;
    EXPECT_NE(r.err.find("injected fault at " + step), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  }

  int traces_ = 0;
};

TEST_F(FaultWalk, CreateLeavesNothingAtEveryStep) {
  // A bundle with a prestart hook, so that the hook step is reached too.
  std::string marker = "fault-walk-" + std::to_string(::getpid());
  std::string bundle = MakeBundle({"sleep", "1000"}, [&](nlohmann::json& s) {
    s["process"]["env"].push_back("MARKER=" + marker);
    s["hooks"]["prestart"] = {{{"path", "/bin/true"}}};
  });
  std::string pid_file = dir_ + "/init.pid";
  std::string probe = NewId();
  auto steps = Steps({"create", "-b", bundle, "--pid-file", pid_file, probe});
  ASSERT_GE(steps.size(), 8u) << "fewer fault points than create has steps";
  ASSERT_EQ(Berth({"delete", "--force", probe}).status, 0);
  int mounts_before = MountsUnder(dir_);
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    std::string id = NewId();
    auto r = Faulty({"create", "-b", bundle, "--pid-file", pid_file, id}, static_cast<int>(i + 1));
    ExpectFailedAt(r, steps[i], 1);
    EXPECT_EQ(Berth({"state", id}).status, 1) << "the container is still there";
    EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "a cgroup is left";
    EXPECT_TRUE(ProcessesMentioning(id).empty()) << "a process of the create is left";
    EXPECT_EQ(MountsUnder(dir_), mounts_before) << "a mount is left";
    EXPECT_NE(::access((root_ + "/" + id).c_str(), F_OK), 0) << "its state dir is left";
    ::unlink(pid_file.c_str());
  }
}

TEST_F(FaultWalk, ExecLeavesNothingAtEveryStepAndTheContainerRunsOn) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "1000"}), id}).status, 0);
  int init = State(id)["pid"].get<int>();
  std::string pid_file = dir_ + "/exec.pid";
  // The exec'd process is told apart by its arguments.
  auto exec_args = [&](const std::string& tag) {
    return std::vector<std::string>{"exec", "-d", "--pid-file", pid_file, id, "sleep", tag};
  };
  auto steps = Steps(exec_args("1001"));
  ASSERT_GE(steps.size(), 4u);
  for (pid_t pid : ProcessesMentioning("sleep 1001")) ::kill(pid, SIGKILL);
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    std::string tag = std::to_string(2000 + i);
    auto r = Faulty(exec_args(tag), static_cast<int>(i + 1));
    ExpectFailedAt(r, steps[i], 255);
    EXPECT_TRUE(ProcessesMentioning("sleep " + tag).empty()) << "the exec'd process is left";
    EXPECT_EQ(State(id)["status"], "running");
    EXPECT_EQ(State(id)["pid"].get<int>(), init);
    ::unlink(pid_file.c_str());
  }
  auto ok = Berth({"exec", id, "true"});
  EXPECT_EQ(ok.status, 0) << ok.err;
}

}  // namespace
}  // namespace berth::testing
