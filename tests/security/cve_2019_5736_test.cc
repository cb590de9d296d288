// CVE-2019-5736: a process in the container overwrites the runtime's binary
// through /proc/<pid>/exe of a runtime process that entered the container.
//
// Two ways in, two defences:
// - A process `berth exec` clones into the container is a copy of berth until
//   its execve: it is non-dumpable all that time, so the container cannot open
//   its /proc/<pid>/exe (caught here by stopping it at the right moment).
// - A container binary "#!/proc/self/exe" makes the kernel run the runtime's
//   own binary inside the container, dumpable. berth runs from a sealed copy
//   (read-only overlayfs, linux/exe_seal.h), so the binary the container can
//   reach cannot be opened for writing. The control test shows the same attack
//   succeeding against an unsealed binary, so this test can fail.
//
// The attacker only opens for writing; it never writes, and it works on a copy.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "linux/capabilities.h"
#include "tests/security/cve_test_support.h"

extern char** environ;

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Cve_2019_5736 : public CveTest {
 protected:
  // Spawns berth with its output discarded; returns its pid.
  pid_t SpawnBerth(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BERTH_BINARY, "--root", root_};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, c[0], &fa, nullptr, c.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
  }

  // The pid of `pid` in the innermost pid namespace it is in, or 0 if it is in ours only.
  static pid_t InnermostPid(pid_t pid) {
    std::istringstream status(ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("NSpid:", 0) != 0) continue;
      std::istringstream fields(line.substr(6));
      std::vector<pid_t> pids;
      for (pid_t p; fields >> p;) pids.push_back(p);
      return pids.size() > 1 ? pids.back() : 0;
    }
    return 0;
  }

  static char StateOf(pid_t pid) {
    std::string stat = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos ? '?' : stat[close + 2];
  }

  // Stops the process `berth exec` (pid `berth`) cloned into the container
  // while it is still berth (before its execve); 0 if it was too late.
  static pid_t CatchJoiner(pid_t berth) {
    std::string children =
        "/proc/" + std::to_string(berth) + "/task/" + std::to_string(berth) + "/children";
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::istringstream in(ReadFileOrEmpty(children));
      for (pid_t child; in >> child;) {
        if (InnermostPid(child) == 0) continue;  // stage 1: still in our pid namespace
        ::kill(child, SIGSTOP);
        for (int i = 0; i < 1000 && StateOf(child) != 'T'; ++i) std::this_thread::sleep_for(100us);
        char exe[4096] = {};
        ssize_t n =
            ::readlink(("/proc/" + std::to_string(child) + "/exe").c_str(), exe, sizeof exe - 1);
        // Too late if it exec'd (or exited) already: let it go and try again.
        if (StateOf(child) != 'T' || n <= 0 || std::string(exe, n).ends_with("/busybox") ||
            InnermostPid(child) == 0) {
          ::kill(child, SIGCONT);
          return 0;
        }
        return child;
      }
      if (::waitpid(berth, nullptr, WNOHANG) == berth) return -1;
    }
    return 0;
  }

  // Asks the attacker watching in the container (exe-watch /comm, a bind of
  // `comm`) to open /proc/<pid>/exe; returns its answer.
  static std::string AskAttacker(const std::string& comm, pid_t pid) {
    std::string tmp = comm + "/req.tmp";
    std::ofstream(tmp) << pid << "\n";
    ::rename(tmp.c_str(), (comm + "/req").c_str());
    std::string res = comm + "/res";
    for (int i = 0; i < 500; ++i) {
      std::string answer = ReadFileOrEmpty(res);
      if (!answer.empty()) {
        ::unlink(res.c_str());
        return answer;
      }
      std::this_thread::sleep_for(10ms);
    }
    return "no answer";
  }

  std::string CatchAndProbe(const std::function<void(json&)>& edit);

  // The "#!/proc/self/exe" attack on `berth exec` run from a copy of berth;
  // returns the attacker's answer for the berth it caught inside the container.
  std::string SelfExeAttack(const std::string& berth_binary, const std::vector<std::string>& berth_env = {}) {
    std::string bin = dir_ + "/bin";
    ::mkdir(bin.c_str(), 0755);
    std::string copy = bin + "/berth";
    EXPECT_EQ(RunCommand({"/bin/cp", berth_binary, copy}).status, 0);
    std::string rootfs = PrivateRootfs();
    std::string id = StartContainer({"sleep", "1000"}, [&](json& s) {
      s["root"]["path"] = rootfs;
      s["mounts"].push_back(AttackerMount());
      // The image carries the runtime's libraries, as the original exploit's did.
      for (auto [dest, src] : {std::pair{"/lib", "/usr/lib"}, std::pair{"/lib64", "/usr/lib64"}})
        s["mounts"].push_back({{"destination", dest},
                               {"type", "bind"},
                               {"source", src},
                               {"options", {"rbind", "ro"}}});
    });
    pid_t init = InitPid(id);
    std::string evil = Inside(init, "/tmp/evil");
    std::ofstream(evil) << "#!/proc/self/exe --log\n";
    ::chmod(evil.c_str(), 0755);
    // The berth the kernel runs in the container blocks reading this fifo.
    ::mkdir(Inside(init, "/tmp/blk").c_str(), 0755);
    ::mkdir(Inside(init, "/tmp/blk/x").c_str(), 0755);
    std::string fifo = Inside(init, "/tmp/blk/x/state.json");
    EXPECT_EQ(::mkfifo(fifo.c_str(), 0644), 0);

    SpawnOptions options;
    options.env = berth_env;
    options.timeout_seconds = 30;
    CommandResult victim;
    std::thread exec([&] {
      victim = RunCommand(
          {copy, "--root", root_, "exec", id, "/tmp/evil", "--root", "/tmp/blk", "state", "x"},
          options);
    });
    // The attacker waits for berth to run in the container, holds its exe,
    // lets it finish (through the fifo) and reopens the exe for writing. It looks
    // for "--log", the argument only the kernel's "#!" run has: berth exec's own
    // process in the container carries "/tmp/blk" too until its execve, and is
    // non-dumpable (EACCES) while it does.
    std::string answer =
        Exec({id, "/attacker/attacker", "exe-scan", "--log", "/tmp/blk/x/state.json"}).out;
    int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // if the attacker never did
    if (w >= 0) {
      (void)!::write(w, "{}", 2);
      ::close(w);
    }
    exec.join();
    return answer;
  }
};

// Stops `berth exec`'s process in the container before its execve (up to 50
// tries) and has the attacker in the container try its /proc/<pid>/exe.
std::string Cve_2019_5736::CatchAndProbe(const std::function<void(json&)>& edit) {
  // Requests and answers go through a host directory: the host cannot create
  // files in a tmpfs of a user namespace that does not map its uid.
  std::string comm = dir_ + "/comm";
  ::mkdir(comm.c_str(), 0777);
  ::chmod(comm.c_str(), 0777);
  std::string id = StartContainer({"/attacker/attacker", "exe-watch", "/comm"}, [&](json& s) {
    s["mounts"].push_back(AttackerMount());
    s["mounts"].push_back(
        {{"destination", "/comm"}, {"type", "bind"}, {"source", comm}, {"options", {"rbind"}}});
    if (edit) edit(s);
  });
  pid_t init = InitPid(id);
  if (init <= 0) return "no container";
  std::string verdict;
  for (int attempt = 0; attempt < 50 && verdict.empty(); ++attempt) {
    pid_t berth = SpawnBerth({"exec", id, "true"});
    pid_t joiner = CatchJoiner(berth);
    if (joiner > 0) {
      pid_t inner = InnermostPid(joiner);
      verdict = AskAttacker(comm, inner);
      EXPECT_EQ(verdict.rfind("pid=" + std::to_string(inner) + " ", 0), 0u) << verdict;
      ::kill(joiner, SIGCONT);
    }
    if (joiner >= 0) ::waitpid(berth, nullptr, 0);
  }
  return verdict;
}

TEST_F(Cve_2019_5736, ProcessJoiningTheContainerIsNotDumpable) {
  std::string verdict = CatchAndProbe(nullptr);
  ASSERT_FALSE(verdict.empty()) << "never caught berth exec's process before its execve";
  EXPECT_NE(verdict.find(" path=EACCES "), std::string::npos) << verdict;
  EXPECT_NE(verdict.find(" write=EACCES"), std::string::npos) << verdict;
}

// The case where non-dumpable is what decides: in a user namespace where the
// attacker holds every capability (CAP_SYS_PTRACE included), the kernel's other
// ptrace checks pass; only the joining process's mm (made in the host's user
// namespace) being non-dumpable keeps its /proc/<pid>/exe closed.
TEST_F(Cve_2019_5736, ProcessJoiningAPrivilegedUserNamespaceIsNotDumpable) {
  std::string verdict = CatchAndProbe([](json& s) {
    s["linux"]["namespaces"].push_back({{"type", "user"}});
    s["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    s["linux"].erase("resources");
    json all = linux::KnownCapabilityNames();
    s["process"]["capabilities"] = {{"bounding", all}, {"effective", all}, {"permitted", all}};
  });
  ASSERT_FALSE(verdict.empty()) << "never caught berth exec's process before its execve";
  EXPECT_NE(verdict.find(" path=EACCES "), std::string::npos) << verdict;
}

TEST_F(Cve_2019_5736, RuntimeBinaryRunInTheContainerCannotBeOpenedForWriting) {
  std::string answer = SelfExeAttack(BERTH_BINARY);
  ASSERT_EQ(answer.rfind("pid=", 0), 0u)
      << "the attacker never saw berth run in the container: " << answer;
  // Reachable (it is an ordinary dumpable process by now), but read-only,
  // while it runs and after.
  EXPECT_NE(answer.find(" path=OK "), std::string::npos) << answer;
  EXPECT_EQ(answer.find("=OK\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find(" write=EROFS "), std::string::npos) << answer;
  EXPECT_NE(answer.find(" reopen=EROFS"), std::string::npos) << answer;
}

// Control: the same attack on a berth built without sealing succeeds, which
// is what the test above would see if the defence regressed.
TEST_F(Cve_2019_5736, ControlTheAttackWorksOnAnUnsealedBinary) {
  std::string answer = SelfExeAttack(BERTH_UNSEALED);
  ASSERT_EQ(answer.rfind("pid=", 0), 0u) << answer;
  EXPECT_NE(answer.find(" reopen=OK"), std::string::npos) << answer;
}

// The re-exec marker in berth's environment proves nothing: a berth that finds it but
// is not running sealed refuses to start container processes rather than run unsealed.
TEST_F(Cve_2019_5736, AForgedSealMarkerDoesNotTurnSealingOff) {
  SpawnOptions options;
  options.env = {"_BERTH_SEALED_EXE=1"};
  std::string id = NewId();
  auto r = Berth({"run", "-b", MakeBundle({"true"}), id}, options);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.err.find("not sealed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_TRUE(CgroupDirsNamed(id).empty());
  EXPECT_EQ(Berth({"state", id}).status, 1);
}

}  // namespace
}  // namespace berth::testing
