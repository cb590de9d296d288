// `berth exec` against real containers: exit status, runc's flag overrides,
// --process, terminals, --detach, joined namespaces and cgroup, seccomp,
// refused states and the fds that reach the process.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cgroup/cgroup.h"
#include "linux/fd_passing.h"
#include "tests/integration/harness.h"

extern char** environ;

namespace berth::testing {
namespace {

// runc exits 255 from an exec whose process never ran (its fatalWithCode).
constexpr int kExecFailed = 255;

using nlohmann::json;

class Exec : public BerthTest {
 protected:
  // A detached container running `sleep`; returns its id.
  std::string StartContainer(const std::function<void(json&)>& edit = nullptr) {
    std::string id = NewId();
    auto r = Berth({"run", "-d", "-b", MakeBundle({"sleep", "1000"}, edit), id});
    EXPECT_EQ(r.status, 0) << r.err;
    return id;
  }
  pid_t InitPid(const std::string& id) { return State(id)["pid"].get<int>(); }
  CommandResult ExecIn(const std::string& id, std::vector<std::string> args,
                       const SpawnOptions& options = {}) {
    args.insert(args.begin(), "exec");
    return Berth(args, options);
  }
  std::unique_ptr<cgroup::Manager> Cgroup(const std::string& id) {
    auto record = json::parse(ReadFileOrEmpty(root_ + "/" + id + "/state.json"));
    auto paths = cgroup::PathsFromJson(record["cgroup"].get<std::string>());
    EXPECT_TRUE(paths.has_value());
    auto m = cgroup::Manager::Load(*paths);
    EXPECT_TRUE(m.has_value());
    return std::move(*m);
  }
};

int ListenUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  return fd;
}

std::string Link(const std::string& path) {
  char buf[256] = {};
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

TEST_F(Exec, OutputAndExitStatus) {
  std::string id = StartContainer();
  auto r = ExecIn(id, {id, "sh", "-c", "echo out; echo err >&2; exit 5"});
  EXPECT_EQ(r.status, 5);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  // Killed by a signal: 128 + the signal, as a shell reports it.
  EXPECT_EQ(ExecIn(id, {id, "sh", "-c", "kill -KILL $$"}).status, 128 + SIGKILL);
  // The container goes on running.
  EXPECT_EQ(State(id)["status"], "running");
}

TEST_F(Exec, FlagsOverrideTheContainersProcess) {
  std::string id = StartContainer([](json& s) { s["process"]["env"].push_back("KEEP=kept"); });
  auto r = ExecIn(id, {"-e", "FOO=bar baz", "-e", "KEEP=replaced", "-u", "1000:1001", "-g", "5",
                       "-g", "7", "--cwd", "/tmp", "--no-new-privs", id, "sh", "-c",
                       "echo $FOO; echo $KEEP; env | grep -c '^KEEP='; id -u; id -g; id -G; pwd; "
                       "grep NoNewPrivs /proc/self/status"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bar baz\nreplaced\n1\n1000\n1001\n1001 5 7\n/tmp\nNoNewPrivs:\t1\n");
  // Without flags: the container's own environment and user.
  auto plain = ExecIn(id, {id, "sh", "-c", "echo $KEEP; id -u"});
  EXPECT_EQ(plain.out, "kept\n0\n") << plain.err;
}

TEST_F(Exec, CapabilityFlagAddsToBoundingEffectivePermittedOnly) {
  std::string id = StartContainer([](json& s) {
    json caps = {"CAP_CHOWN"};  // bit 0
    s["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  });
  auto r = ExecIn(id, {"--cap", "CAP_KILL", id, "grep", "^Cap", "/proc/self/status"});
  EXPECT_EQ(r.status, 0) << r.err;
  // CAP_KILL is bit 5: 0x21. Never inheritable or ambient (CVE-2022-29162).
  EXPECT_NE(r.out.find("CapInh:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapAmb:\t0000000000000000"), std::string::npos) << r.out;
}

TEST_F(Exec, ProcessJsonReplacesTheProcess) {
  std::string id = StartContainer();
  std::string file = dir_ + "/process.json";
  std::ofstream(file) << json{{"args", {"sh", "-c", "echo $X; id -u; pwd"}},
                              {"env", {"X=from-json", "PATH=/bin"}},
                              {"cwd", "/proc"},
                              {"user", {{"uid", 33}, {"gid", 33}}}}
                             .dump();
  auto r = ExecIn(id, {"--process", file, id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from-json\n33\n/proc\n");
  std::ofstream(file) << R"({"args": [], "cwd": "/"})";
  auto bad = ExecIn(id, {"--process", file, id});
  EXPECT_EQ(bad.status, kExecFailed);
  EXPECT_NE(bad.err.find("args"), std::string::npos) << bad.err;
}

TEST_F(Exec, TerminalGoesToTheConsoleSocket) {
  std::string id = StartContainer();
  std::string sock_path = dir_ + "/console.sock";
  ConsoleSocket console(sock_path);
  auto r = ExecIn(id, {"-t", "-d", "--console-socket", sock_path, id, "sh", "-c",
                       "tty; test -t 0 && echo stdin-is-a-tty"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::string output = console.Finish();
  EXPECT_EQ(output.rfind("/dev/pts/", 0), 0u) << output;
  EXPECT_NE(output.find("stdin-is-a-tty"), std::string::npos) << output;
  // --tty --detach without a socket has nowhere to send the terminal.
  auto no_socket = ExecIn(id, {"-t", "-d", id, "true"});
  EXPECT_EQ(no_socket.status, kExecFailed);
  EXPECT_NE(no_socket.err.find("--console-socket"), std::string::npos) << no_socket.err;
}

TEST_F(Exec, DetachWritesThePidFileAndLeavesTheProcessInTheContainersCgroup) {
  std::string id = StartContainer();
  std::string pid_file = dir_ + "/exec.pid";
  auto r = ExecIn(id, {"-d", "--pid-file", pid_file, id, "sleep", "60"});
  ASSERT_EQ(r.status, 0) << r.err;
  pid_t pid = std::stoi(ReadFileOrEmpty(pid_file));
  EXPECT_TRUE(ProcessExists(pid));
  EXPECT_EQ(ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cgroup"),
            ReadFileOrEmpty("/proc/" + std::to_string(InitPid(id)) + "/cgroup"));
  auto pids = Cgroup(id)->Pids();
  ASSERT_TRUE(pids.has_value());
  EXPECT_NE(std::find(pids->begin(), pids->end(), pid), pids->end());
  // It goes with the container.
  ASSERT_EQ(Berth({"delete", "--force", id}).status, 0);
  for (int i = 0; i < 100 && ProcessExists(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(Exec, JoinsEveryNamespaceOfTheInit) {
  std::string id = StartContainer([](json& s) {
    s["hostname"] = "joined";
    s["process"]["args"] = {"sh", "-c", "echo made-by-init > /tmp/marker; exec sleep 1000"};
  });
  pid_t init = InitPid(id);
  for (int i = 0;
       i < 100 && ReadFileOrEmpty("/proc/" + std::to_string(init) + "/root/tmp/marker").empty();
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto r = ExecIn(id, {id, "sh", "-c",
                       "hostname; cat /tmp/marker; cat /proc/1/comm; echo $$; "
                       "for n in ipc mnt net pid uts cgroup; do readlink /proc/self/ns/$n; done"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 10u) << r.out;
  EXPECT_EQ(lines[0], "joined");        // uts
  EXPECT_EQ(lines[1], "made-by-init");  // the init's mounts (its /tmp)
  EXPECT_EQ(lines[2], "sleep");         // pid 1 is the init
  EXPECT_GT(std::stoi(lines[3]), 1);    // and we are not
  const char* kinds[] = {"ipc", "mnt", "net", "pid", "uts", "cgroup"};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(lines[4 + i], Link("/proc/" + std::to_string(init) + "/ns/" + kinds[i])) << kinds[i];
}

TEST_F(Exec, ContainersSeccompFilterApplies) {
  std::string id = StartContainer([](json& s) {
    s["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls",
         {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  });
  auto r =
      ExecIn(id, {id, "sh", "-c",
                  "grep '^Seccomp:' /proc/self/status; mkdir /tmp/d && echo made || echo refused"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "Seccomp:\t2\nrefused\n");
}

TEST_F(Exec, IntoACreatedContainerWorks) {
  std::string id = NewId();
  ASSERT_EQ(Berth({"create", "-b", MakeBundle({"sleep", "1000"}), id}).status, 0);
  auto r = ExecIn(id, {id, "echo", "before start"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "before start\n");
  EXPECT_EQ(State(id)["status"], "created");
}

TEST_F(Exec, IntoAPausedOrStoppedContainerFailsWithOneLine) {
  std::string id = StartContainer();
  auto cg = Cgroup(id);
  ASSERT_TRUE(cg->Freeze().has_value());
  auto paused = ExecIn(id, {id, "true"});
  ASSERT_TRUE(cg->Thaw().has_value());
  EXPECT_EQ(paused.status, kExecFailed);
  EXPECT_EQ(paused.err,
            "berth: cannot exec in container \"" + id + "\": it is paused (resume it first, or exec --ignore-paused)\n");

  ASSERT_EQ(Berth({"kill", id, "KILL"}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  auto stopped = ExecIn(id, {id, "true"});
  EXPECT_EQ(stopped.status, kExecFailed);
  EXPECT_EQ(stopped.err, "berth: cannot exec in container \"" + id + "\": it is stopped\n");
  auto missing = ExecIn(id, {"no-such-container", "true"});
  EXPECT_EQ(missing.err, "berth: container \"no-such-container\" does not exist\n");
}

TEST_F(Exec, OnlyStdioAndPreservedFdsReachTheProcess) {
  std::string id = StartContainer();
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int dir = ::open("/", O_RDONLY | O_DIRECTORY);  // a host directory, never to be seen inside
  SpawnOptions options;
  options.extra_fds = {p[1], dir};  // fds 3 and 4 of berth
  auto leaked = ExecIn(id, {id, "sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"}, options);
  EXPECT_EQ(leaked.status, 0) << leaked.err;
  EXPECT_EQ(leaked.out, "0 1 2 3 ") << "3 is ls's own directory fd";
  auto kept = ExecIn(id,
                     {"--preserve-fds", "1", id, "sh", "-c",
                      "echo through-fd3 >&3; ls /proc/self/fd | sort -n | tr '\\n' ' '"},
                     options);
  ::close(p[1]);
  ::close(dir);
  char buf[64] = {};
  ssize_t n = ::read(p[0], buf, sizeof buf - 1);
  ::close(p[0]);
  EXPECT_EQ(kept.status, 0) << kept.err;
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "through-fd3\n");
  EXPECT_EQ(kept.out, "0 1 2 3 4 ");
}

TEST_F(Exec, MissingCommandAndBadUserAreOneLineErrors) {
  std::string id = StartContainer();
  auto none = ExecIn(id, {id});
  EXPECT_EQ(none.status, kExecFailed);
  EXPECT_NE(none.err.find("no command"), std::string::npos) << none.err;
  auto missing = ExecIn(id, {id, "/no/such/binary"});
  EXPECT_EQ(missing.status, kExecFailed);
  EXPECT_NE(missing.err.find("/no/such/binary"), std::string::npos) << missing.err;
  auto cwd = ExecIn(id, {"--cwd", "/no/such/dir", id, "true"});
  EXPECT_EQ(cwd.status, kExecFailed);
  EXPECT_NE(cwd.err.find("/no/such/dir"), std::string::npos) << cwd.err;
  auto user = ExecIn(id, {"-u", "root", id, "true"});
  EXPECT_EQ(user.status, kExecFailed);
  EXPECT_NE(user.err.find("not a number"), std::string::npos) << user.err;
}

TEST_F(Exec, ForegroundTerminalIsProxied) {
  std::string id = StartContainer();
  auto r = ExecIn(id, {"-t", id, "sh", "-c", "tty; test -t 1 && echo stdout-is-a-tty"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("/dev/pts/", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("stdout-is-a-tty\r\n"), std::string::npos) << r.out;
}

TEST_F(Exec, ForegroundExecForwardsSignals) {
  std::string id = StartContainer();
  std::vector<std::string> argv = {BERTH_BINARY,
                                   "--root",
                                   root_,
                                   "exec",
                                   id,
                                   "sh",
                                   "-c",
                                   "trap 'exit 42' TERM; echo ready > /tmp/ready; "
                                   "while true; do sleep 0.05; done"};
  std::vector<char*> c;
  for (auto& a : argv) c.push_back(a.data());
  c.push_back(nullptr);
  pid_t berth = 0;
  ASSERT_EQ(posix_spawn(&berth, c[0], nullptr, nullptr, c.data(), environ), 0);
  std::string ready = "/proc/" + std::to_string(InitPid(id)) + "/root/tmp/ready";
  for (int i = 0; i < 250 && ReadFileOrEmpty(ready).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(ReadFileOrEmpty(ready).empty()) << "the exec'd process never started";
  ::kill(berth, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(berth, &status, 0), berth);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42) << "SIGTERM did not reach the process";
}

TEST_F(Exec, IntoAUserNamespace) {
  std::string id = StartContainer([](json& s) {
    s["linux"]["namespaces"].push_back({{"type", "user"}});
    s["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"].erase("resources");
  });
  auto r = ExecIn(id, {"-u", "1000:1000", "-g", "5", id, "sh", "-c",
                       "id -u; id -G; cat /proc/self/uid_map; readlink /proc/self/ns/user"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], "1000");
  EXPECT_EQ(lines[1], "1000 5");
  EXPECT_NE(lines[2].find("100000"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3], Link("/proc/" + std::to_string(InitPid(id)) + "/ns/user"));
}

TEST_F(Exec, IntoAContainerSharingOurPidNamespace) {
  std::string id = StartContainer([](json& s) {
    auto& ns = s["linux"]["namespaces"];
    for (auto it = ns.begin(); it != ns.end(); ++it)
      if ((*it)["type"] == "pid") {
        ns.erase(it);
        break;
      }
  });
  auto r = ExecIn(id, {id, "readlink", "/proc/self/ns/pid"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, Link("/proc/self/ns/pid") + "\n");
}

// SCMP_ACT_NOTIFY: exec's process gets a listener of its own, sent to the agent
// with the process's pid, and the agent answers its syscalls.
TEST_F(Exec, SeccompNotifyListenerGoesToTheAgent) {
  std::string agent_path = dir_ + "/agent.sock";
  int agent = ListenUnix(agent_path);
  json exec_state;
  std::thread agent_thread([&] {
    std::vector<linux::UniqueFd> listeners;
    for (int conn_no = 0; conn_no < 2; ++conn_no) {  // create's, then exec's
      pollfd p{agent, POLLIN, 0};
      if (::poll(&p, 1, 10000) != 1) return;
      linux::UniqueFd conn(::accept4(agent, nullptr, nullptr, SOCK_CLOEXEC));
      std::string text;
      auto fd = linux::ReceiveFd(conn.get(), &text, 1 << 16);
      if (!fd) return;
      if (conn_no == 1) exec_state = json::parse(text, nullptr, false);
      listeners.push_back(std::move(*fd));
    }
    // Refuse exec's mkdir with EACCES.
    pollfd p{listeners[1].get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;
    seccomp_notif req{};
    if (::ioctl(listeners[1].get(), SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return;
    seccomp_notif_resp resp{};
    resp.id = req.id;
    resp.error = -EACCES;
    ::ioctl(listeners[1].get(), SECCOMP_IOCTL_NOTIF_SEND, &resp);
  });
  std::string id = StartContainer([&](json& s) {
    s["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"listenerPath", agent_path},
        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  });
  auto r = ExecIn(id, {id, "sh", "-c", "mkdir /tmp/d 2>&1; echo status=$?"});
  agent_thread.join();
  ::close(agent);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
  ASSERT_TRUE(exec_state.is_object()) << "the agent got no listener for exec";
  EXPECT_EQ(exec_state["fds"], json({"seccompFd"}));
  EXPECT_EQ(exec_state["state"]["pid"], InitPid(id));
  EXPECT_GT(exec_state["pid"].get<int>(), 0);
  EXPECT_NE(exec_state["pid"], exec_state["state"]["pid"]) << "the pid must be exec's process";
}

}  // namespace
}  // namespace berth::testing
