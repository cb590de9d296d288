// ps and events against real containers: the pids in the container's cgroup, the host's
// ps table cut down to them, runc's stats JSON, the stream and OOM notifications.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

extern char** environ;

namespace berth::testing {
namespace {

using nlohmann::json;

// A command left running (`berth events`) whose stdout is read line by line. Only this
// process is ever signalled; the destructor kills and reaps it if a test did not.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    out_ = out[0];
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait(5000);
    }
    if (out_ >= 0) ::close(out_);
  }

  bool started() const { return pid_ > 0; }

  // The next complete line of output, or "" when none came within `timeout_ms` (or the
  // command closed its output).
  std::string NextLine(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      pollfd p = {out_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return "";
      char buf[65536];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  void Signal(int sig) {
    if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
  }

  // Its exit status (128 + signal when killed by one), or -1 if still running after
  // `timeout_ms`.
  int Wait(int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

std::string Comm(pid_t pid) {
  std::string c = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/comm");
  if (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

class Ps : public BerthTest {
 protected:
  // A container whose init (sh) runs two sleeps: the init execs into the last one, so
  // it holds two processes, both "sleep".
  std::string RunTwoSleeps() {
    std::string id = NewId();
    auto r = Berth({"run", "-d", "-b", MakeBundle({"sh", "-c", "sleep 100 & sleep 100"}), id});
    EXPECT_EQ(r.status, 0) << r.err;
    // Until the shell has forked the background sleep, there may be one process.
    for (int i = 0; i < 250; ++i) {
      auto pids = json::parse(Berth({"ps", "--format", "json", id}).out, nullptr, false);
      if (pids.is_array() && pids.size() == 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return id;
  }
};

TEST_F(Ps, JsonIsTheArrayOfTheContainersPids) {
  std::string id = RunTwoSleeps();
  pid_t init = State(id)["pid"].get<int>();
  auto r = Berth({"ps", "-f", "json", id});
  ASSERT_EQ(r.status, 0) << r.err;
  json pids = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(pids.is_array()) << r.out;
  ASSERT_EQ(pids.size(), 2u) << r.out;
  std::set<pid_t> got;
  for (const auto& p : pids) got.insert(p.get<int>());
  EXPECT_TRUE(got.contains(init)) << r.out;
  for (pid_t p : got) EXPECT_EQ(Comm(p), "sleep") << p;
  EXPECT_EQ(r.out.back(), '\n');
}

TEST_F(Ps, TableIsTheHostsPsCutDownToTheContainer) {
  std::string id = RunTwoSleeps();
  json pids = json::parse(Berth({"ps", "-f", "json", id}).out);
  auto r = Berth({"ps", id});
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_NE(header.find("PID"), std::string::npos) << r.out;
  EXPECT_NE(header.find("CMD"), std::string::npos) << r.out;  // ps -ef by default
  std::set<pid_t> rows;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string uid, pid;
    words >> uid >> pid;
    rows.insert(std::stoi(pid));
    EXPECT_NE(line.find("sleep 100"), std::string::npos) << line;
  }
  std::set<pid_t> want;
  for (const auto& p : pids) want.insert(p.get<int>());
  EXPECT_EQ(rows, want) << r.out;

  // Arguments after the id are the host ps's.
  auto custom = Berth({"ps", id, "-o", "pid,comm"});
  ASSERT_EQ(custom.status, 0) << custom.err;
  EXPECT_EQ(custom.out.substr(0, custom.out.find('\n')).find("PID"), 2u) << custom.out;
  EXPECT_EQ(std::count(custom.out.begin(), custom.out.end(), '\n'), 3) << custom.out;
  // Without a PID column there is nothing to filter on.
  auto no_pid = Berth({"ps", id, "-o", "comm"});
  EXPECT_EQ(no_pid.status, 1);
  EXPECT_NE(no_pid.err.find("PID"), std::string::npos) << no_pid.err;
}

TEST_F(Ps, UnknownContainerIsAnError) {
  auto r = Berth({"ps", "berth-it-no-such-container"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: container \"berth-it-no-such-container\" does not exist\n");
}

class Events : public BerthTest {
 protected:
  std::vector<std::string> BerthArgv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BERTH_BINARY, "--root", root_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

TEST_F(Events, StatsOnceIsRuncsJson) {
  std::string id = NewId();
  std::string bundle = MakeBundle({"sh", "-c", "sleep 100 & sleep 100"}, [](json& s) {
    s["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
    s["linux"]["resources"]["pids"] = {{"limit", 20}};
  });
  ASSERT_EQ(Berth({"run", "-d", "-b", bundle, id}).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto r = Berth({"events", "--stats", id});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  // ordered_json: runc's field order is part of its output.
  nlohmann::ordered_json e = nlohmann::ordered_json::parse(r.out, nullptr, false);
  ASSERT_TRUE(e.is_object()) << r.out;
  EXPECT_EQ(e.begin().key(), "type");
  EXPECT_EQ(e["type"], "stats");
  EXPECT_EQ(e["id"], id);
  const auto& d = e["data"];
  std::vector<std::string> keys;
  for (auto it = d.begin(); it != d.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb",
                                            "intel_rdt", "network_interfaces"}));
  EXPECT_EQ(d["memory"]["usage"]["limit"], 64 << 20);
  EXPECT_GT(d["memory"]["usage"]["usage"].get<uint64_t>(), 0u);
  EXPECT_TRUE(d["memory"]["raw"].contains("rss")) << d["memory"].dump();
  EXPECT_EQ(d["pids"]["current"], 2);
  EXPECT_EQ(d["pids"]["limit"], 20);
  EXPECT_GT(d["cpu"]["usage"]["total"].get<uint64_t>(), 0u);
  EXPECT_TRUE(d["network_interfaces"].is_null());
}

TEST_F(Events, IntervalStreamsUntilSigint) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  Background events(BerthArgv({"events", "--interval", "200ms", id}));
  ASSERT_TRUE(events.started());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    std::string line = events.NextLine(3000);
    json e = json::parse(line, nullptr, false);
    ASSERT_TRUE(e.is_object()) << "event " << i << ": \"" << line << "\"";
    EXPECT_EQ(e["type"], "stats");
    EXPECT_EQ(e["id"], id);
    EXPECT_EQ(e["data"]["pids"]["current"], 1);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(500));  // one per interval, not a burst
  EXPECT_LT(elapsed, std::chrono::milliseconds(2500));
  events.Signal(SIGINT);
  EXPECT_EQ(events.Wait(5000), 0) << "SIGINT should end events cleanly";
}

TEST_F(Events, SigtermEndsItAndDeleteEndsIt) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}), id}).status, 0);
  {
    Background events(BerthArgv({"events", id}));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    events.Signal(SIGTERM);
    EXPECT_EQ(events.Wait(5000), 0);
  }
  // The stream also ends, successfully, when the container's cgroup goes away.
  Background events(BerthArgv({"events", "--interval", "30s", id}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(Berth({"delete", "--force", id}).status, 0);
  EXPECT_EQ(events.Wait(5000), 0);
  EXPECT_EQ(events.NextLine(100), "");
}

TEST_F(Events, OomKillIsReported) {
  std::string id = NewId();
  // Doubles a shell variable until the 16 MiB limit (no swap to escape into) is hit, once
  // the test says go: the OOM notifier must be registered first.
  std::string bundle =
      MakeBundle({"sh", "-c",
                  "while [ ! -e /host/go ]; do sleep 0.05; done; x=a; while true; do x=$x$x; done"},
                 [&](json& s) {
                   s["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
                   s["mounts"].push_back({{"destination", "/host"},
                                          {"type", "bind"},
                                          {"source", dir_},
                                          {"options", {"rbind", "rw"}}});
                 });
  ASSERT_EQ(Berth({"run", "-d", "-b", bundle, id}).status, 0);
  Background events(BerthArgv({"events", "--interval", "100ms", id}));
  // The first stats event comes after the notifier is registered.
  ASSERT_NE(events.NextLine(5000), "");
  std::ofstream(dir_ + "/go") << "";
  std::string want = R"({"type":"oom","id":")" + id + R"("})";
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    std::string line = events.NextLine(10000);
    if (line.empty()) break;
    seen = line == want;
  }
  EXPECT_TRUE(seen) << "no " << want;
  EXPECT_TRUE(WaitForStatus(id, "stopped"));  // the OOM killer took the container's init
  ASSERT_EQ(Berth({"delete", id}).status, 0);
  EXPECT_EQ(events.Wait(5000), 0);
}

TEST_F(Events, StoppedContainerAndBadIntervalAreErrors) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"true"}), id}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  auto r = Berth({"events", "--stats", id});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "berth: events: container \"" + id + "\" is not running\n");
  auto bad = Berth({"events", "--interval", "soon", id});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("--interval"), std::string::npos) << bad.err;
  auto zero = Berth({"events", "--interval", "0s", id});
  EXPECT_EQ(zero.status, 1);
}

}  // namespace
}  // namespace berth::testing
