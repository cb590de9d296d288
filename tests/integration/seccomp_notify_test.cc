// SCMP_ACT_NOTIFY on the syscalls the runtime itself still makes once the filter is
// in (closing fds, talking to its parent, the exec fifo, the user switch, chdir,
// execve...): the listener reaches the agent before any of them can be trapped, so
// the agent answers them and the container runs, for create/start and for exec,
// as with runc. write(2) alone cannot be notified (runc refuses it: it hands the
// listener's number over with write); that is a clear error, never a hang.
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "linux/fd_passing.h"
#include "linux/unique_fd.h"
#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

// An agent at a unix socket that takes every listener sent to it and lets each
// notified syscall go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
class ContinueAgent {
 public:
  explicit ContinueAgent(const std::string& path) {
    sock_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(sock_.get(), 16), 0);
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    thread_ = std::thread([this] { Loop(); });
  }
  ~ContinueAgent() {
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
  int listeners() const { return listeners_; }
  int answered() const { return answered_; }

 private:
  void Loop() {
    std::vector<linux::UniqueFd> listeners;
    for (;;) {
      std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0}, {sock_.get(), POLLIN, 0}};
      for (auto& l : listeners) fds.push_back({l.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) return;
      if (fds[1].revents) {
        linux::UniqueFd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        std::string text;
        if (auto fd = linux::ReceiveFd(conn.get(), &text, 1 << 16)) {
          listeners.push_back(std::move(*fd));
          ++listeners_;
        }
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents & POLLIN) Answer(fds[i].fd);
        else if (fds[i].revents) listeners[i - 2].reset();  // its process is gone
      }
      std::erase_if(listeners, [](const linux::UniqueFd& l) { return !l; });
    }
  }
  void Answer(int listener) {
    seccomp_notif req{};
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return;
    seccomp_notif_resp resp{};
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) ++answered_;
  }

  linux::UniqueFd sock_, stop_;
  std::atomic<int> listeners_ = 0, answered_ = 0;
  std::thread thread_;
};

// What runtimes do between loading the filter and execve: berth's sync socket
// (sendmsg, sendto, recvfrom, read), fds (close, close_range, fcntl, dup3), the exec
// fifo (openat), the user switch (capset, prctl, setgroups, setresuid, setresgid),
// the working directory (chdir, fchdir), signals (rt_sigaction, rt_sigprocmask) and
// execve itself.
const char* kLateSyscalls[] = {
    "close",     "sendmsg",   "sendto", "recvfrom",  "read",           "close_range",
    "fcntl",     "dup3",      "openat", "capset",    "prctl",          "setgroups",
    "setresuid", "setresgid", "chdir",  "fchdir",    "rt_sigaction",   "rt_sigprocmask",
    "execve",
};

class SeccompNotify : public BerthTest {
 protected:
  std::string Bundle(const std::vector<std::string>& args, std::vector<std::string> notified) {
    return MakeBundle(args, [&](json& s) {
      s["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                               {"listenerPath", AgentPath()},
                               {"syscalls", {{{"names", notified}, {"action", "SCMP_ACT_NOTIFY"}}}}};
    });
  }
  std::string AgentPath() const { return dir_ + "/agent.sock"; }
  SpawnOptions quick_{.timeout_seconds = 20};  // a hang fails, it does not stall the suite
};

TEST_F(SeccompNotify, RuntimesOwnLateSyscallsAreAnsweredByTheAgent) {
  ContinueAgent agent(AgentPath());
  for (const auto& rt : SideBySideRuntimes()) {
    for (const char* name : kLateSyscalls) {
      SCOPED_TRACE(rt.name + " notifies " + name);
      int before = agent.listeners();
      auto r = RunWith(rt, {"run", "-b", Bundle({"echo", "ran"}, {name}), NewId()}, quick_);
      EXPECT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(r.out, "ran\n");
      EXPECT_EQ(agent.listeners(), before + 1);
    }
  }
  EXPECT_GT(agent.answered(), 0);
}

TEST_F(SeccompNotify, ExecWithEveryLateSyscallNotified) {
  ContinueAgent agent(AgentPath());
  std::vector<std::string> all(std::begin(kLateSyscalls), std::end(kLateSyscalls));
  for (const auto& rt : SideBySideRuntimes()) {
    SCOPED_TRACE(rt.name);
    std::string id = NewId();
    auto run = RunWith(rt, {"run", "-d", "-b", Bundle({"sleep", "1000"}, all), id}, quick_);
    ASSERT_EQ(run.status, 0) << run.err;
    auto exec = RunWith(rt, {"exec", id, "echo", "exec ran"}, quick_);
    EXPECT_EQ(exec.status, 0) << exec.err;
    EXPECT_EQ(exec.out, "exec ran\n");
  }
}

TEST_F(SeccompNotify, WriteCannotBeNotified) {
  ContinueAgent agent(AgentPath());
  for (const auto& rt : SideBySideRuntimes()) {
    SCOPED_TRACE(rt.name);
    auto r = RunWith(rt, {"run", "-b", Bundle({"echo", "ran"}, {"write"}), NewId()}, quick_);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("SCMP_ACT_NOTIFY cannot be used for"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("timed out"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace berth::testing
