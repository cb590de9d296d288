// The process and its environment: user, capabilities, rlimits, env, cwd,
// terminal, preserved fds, namespaces, masked and readonly paths, sysctls.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "linux/fd_passing.h"
#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Process : public BerthTest {
 protected:
  // Runs `script` in a fresh container and returns what it printed.
  CommandResult RunScript(const std::string& script,
                          const std::function<void(json&)>& edit = nullptr) {
    std::string id = NewId();
    return Berth({"run", "-b", MakeBundle({"sh", "-c", script}, edit), id});
  }
};

TEST_F(Process, UserGroupsUmaskEnvAndCwd) {
  auto r = RunScript("id -u; id -g; id -G; umask; echo $FOO; pwd", [](json& s) {
    s["process"]["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {5, 7}},
                            {"umask", 18}};
    s["process"]["env"].push_back("FOO=bar baz");
    s["process"]["cwd"] = "/tmp/work";
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1000\n1001\n1001 5 7\n0022\nbar baz\n/tmp/work\n");
}

TEST_F(Process, CapabilitiesAreExactlyTheConfiguredSets) {
  auto r = RunScript("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status", [](json& s) {
    json caps = {"CAP_CHOWN", "CAP_KILL"};  // bits 0 and 5
    s["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps},
                                    {"ambient", json::array()}};
  });
  EXPECT_EQ(r.status, 0) << r.err;
  // CVE-2022-29162: no inheritable capabilities unless the config asks.
  EXPECT_NE(r.out.find("CapInh:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapAmb:\t0000000000000000"), std::string::npos) << r.out;
}

TEST_F(Process, RlimitsAndNoNewPrivileges) {
  auto r = RunScript("ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status", [](json& s) {
    s["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}}};
    s["process"]["noNewPrivileges"] = true;
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "256\n512\nNoNewPrivs:\t1\n");
}

TEST_F(Process, OnlyStdioAndPreservedFdsReachTheProcess) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string id = NewId();
  SpawnOptions options;
  options.extra_fds = {p[1]};  // becomes fd 3 of berth
  auto r = Berth({"run", "--preserve-fds", "1", "-b",
                  MakeBundle({"sh", "-c", "echo through-fd3 >&3; ls /proc/self/fd | sort -n | tr '\\n' ' '"}),
                  id},
                 options);
  ::close(p[1]);
  char buf[64] = {};
  ssize_t n = ::read(p[0], buf, sizeof buf - 1);
  ::close(p[0]);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "through-fd3\n");
  // 0 1 2 3, and the fd ls itself opens for /proc/self/fd: nothing of berth's.
  EXPECT_EQ(r.out, "0 1 2 3 4 ") << r.out;
}

// systemd socket activation: with $LISTEN_PID naming the runtime, its fds from 3 on
// reach the process with LISTEN_FDS=N and LISTEN_PID=1; with another pid, nothing
// does. The same through berth and each runc.
TEST_F(Process, SocketActivationFdsAsRuncPassesThem) {
  std::string script = "echo \"fds=$LISTEN_FDS pid=$LISTEN_PID\"; echo via-fd3 >&3";
  for (const auto& rt : SideBySideRuntimes()) {
    for (bool ours : {true, false}) {
      int p[2];
      ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
      SpawnOptions options;
      options.extra_fds = {p[1]};
      options.env = {"LISTEN_FDS=1"};
      options.wrapper = {"/bin/sh", "-c",
                         std::string("LISTEN_PID=") + (ours ? "$$" : "1") + " exec \"$@\"", "sh"};
      auto r = RunWith(rt, {"run", "-b", MakeBundle({"sh", "-c", script}), NewId()}, options);
      ::close(p[1]);
      char buf[64] = {};
      ssize_t n = ::read(p[0], buf, sizeof buf - 1);
      ::close(p[0]);
      SCOPED_TRACE(rt.name + (ours ? ", LISTEN_PID ours" : ", LISTEN_PID another's"));
      if (ours) {
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, "fds=1 pid=1\n");
        EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "via-fd3\n");
      } else {
        EXPECT_NE(r.status, 0) << "fd 3 should not have reached the process";
        EXPECT_EQ(r.out, "fds= pid=\n");
      }
    }
  }
}

// runc 1.4's --pidfd-socket: the socket gets a pidfd of the container's init, with the
// message "standard"; a signal sent through it reaches the init. runc 1.1 predates the
// flag: berth and runc 1.4 only.
TEST_F(Process, PidfdSocketGetsAPidfdOfTheInit) {
  for (const auto& rt : SideBySideRuntimes()) {
    if (rt.name == "runc-1.1") continue;
    SCOPED_TRACE(rt.name);
    std::string path = dir_ + "/pidfd-" + rt.name + ".sock";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    std::string message;
    linux::UniqueFd pidfd;
    std::thread receiver([&] {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return;
      linux::UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
      if (auto fd = linux::ReceiveFd(conn.get(), &message)) pidfd = std::move(*fd);
    });
    std::string id = NewId();
    auto r = RunWith(rt, {"create", "--pidfd-socket", path, "-b", MakeBundle({"sleep", "1000"}), id});
    receiver.join();
    ::close(listener);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(pidfd) << "no pidfd arrived";
    EXPECT_EQ(message, "standard");
    auto state = nlohmann::json::parse(RunWith(rt, {"state", id}).out, nullptr, false);
    ASSERT_TRUE(state.is_object());
    std::string fdinfo = ReadFileOrEmpty("/proc/self/fdinfo/" + std::to_string(pidfd.get()));
    EXPECT_NE(fdinfo.find("Pid:\t" + std::to_string(state["pid"].get<int>()) + "\n"), std::string::npos)
        << fdinfo;
    ASSERT_EQ(::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0), 0);
    pollfd exited{pidfd.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&exited, 1, 5000), 1) << "the init did not die";
  }
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST_F(Process, HostnameNamespacesAndSysctl) {
  auto r = RunScript(
      "hostname; cat /proc/sys/kernel/domainname; cat /proc/sys/net/ipv4/ip_forward; "
      "readlink /proc/self/ns/pid; echo $$",
      [](json& s) {
        s["hostname"] = "box";
        s["domainname"] = "example.org";
        s["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
      });
  EXPECT_EQ(r.status, 0) << r.err;
  char host_pidns[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/pid", host_pidns, sizeof host_pidns - 1), 0);
  auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "box");
  EXPECT_EQ(lines[1], "example.org");
  EXPECT_EQ(lines[2], "1");
  EXPECT_NE(lines[3], host_pidns) << "the container shares the host's pid namespace";
  EXPECT_EQ(lines[4], "1") << "the process is not pid 1 of its namespace";
}

TEST_F(Process, MaskedAndReadonlyPathsAndReadonlyRoot) {
  auto r = RunScript(
      "cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; "
      "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo readonly; "
      "touch /etc/x 2>/dev/null && echo rootfs-writable || echo rootfs-readonly");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n0\nreadonly\nrootfs-readonly\n");
}

TEST_F(Process, DefaultDevicesAndLinks) {
  auto r = RunScript(
      "for d in null zero full random urandom tty; do stat -c '%n %t:%T %a' /dev/$d; done; "
      "readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "/dev/null 1:3 666\n/dev/zero 1:5 666\n/dev/full 1:7 666\n/dev/random 1:8 666\n"
            "/dev/urandom 1:9 666\n/dev/tty 5:0 666\n/proc/self/fd\n/proc/self/fd/0\npts/ptmx\n");
}

TEST_F(Process, UserNamespaceMapsRoot) {
  auto r = RunScript("id -u; cat /proc/self/uid_map /proc/self/gid_map", [](json& s) {
    s["linux"]["namespaces"].push_back({{"type", "user"}});
    s["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"].erase("resources");
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 2), "0\n") << r.out;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
}

TEST_F(Process, JoinsANamespaceByPath) {
  // A container joins the network and uts namespaces of another.
  std::string first = NewId();
  ASSERT_EQ(Berth({"run", "-d", "-b", MakeBundle({"sleep", "100"}, [](json& s) { s["hostname"] = "shared"; }), first}).status, 0);
  int pid = State(first)["pid"].get<int>();
  auto r = RunScript("hostname; readlink /proc/self/ns/net", [&](json& s) {
    s.erase("hostname");
    for (auto& ns : s["linux"]["namespaces"])
      if (ns["type"] == "uts" || ns["type"] == "network")
        ns["path"] = "/proc/" + std::to_string(pid) + "/ns/" + (ns["type"] == "uts" ? "uts" : "net");
  });
  EXPECT_EQ(r.status, 0) << r.err;
  char want[128] = {};
  ::readlink(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), want, sizeof want - 1);
  EXPECT_EQ(r.out, "shared\n" + std::string(want) + "\n");
}

TEST_F(Process, TerminalGoesToTheConsoleSocket) {
  std::string sock_path = dir_ + "/console.sock";
  ConsoleSocket console(sock_path);
  std::string id = NewId();
  auto c = Berth({"create", "--console-socket", sock_path, "-b",
                  MakeBundle({"sh", "-c", "tty; stty size"}, [](json& s) {
                    s["process"]["terminal"] = true;
                    s["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
                  }),
                  id});
  ASSERT_EQ(c.status, 0) << c.err;
  ASSERT_EQ(Berth({"start", id}).status, 0);
  EXPECT_EQ(console.Finish(), "/dev/pts/0\r\n33 111\r\n");
}

TEST_F(Process, ForegroundRunProxiesATerminal) {
  std::string id = NewId();
  SpawnOptions options;
  options.stdin_data = "abc\n";
  auto r = Berth({"run", "-b",
                  MakeBundle({"sh", "-c", "read x; tty; echo got $x; exit 5"},
                             [](json& s) { s["process"]["terminal"] = true; }),
                  id},
                 options);
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("got abc"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace berth::testing
