// runc 1.4's exec flags, side by side with runc 1.4: --pidfd-socket and --ignore-paused.
// runc 1.1 predates both: berth and runc 1.4 only.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "linux/fd_passing.h"
#include "linux/unique_fd.h"
#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

class ExecRunc14 : public BerthTest {
 protected:
  std::vector<Runtime> Runc14AndBerth() {
    std::vector<Runtime> out;
    for (auto& rt : SideBySideRuntimes())
      if (rt.name != "runc-1.1") out.push_back(rt);
    return out;
  }
  // `run -d` of a sleeping container through `rt`; returns its id.
  std::string StartSleeper(const Runtime& rt) {
    std::string id = NewId();
    auto r = RunWith(rt, {"run", "-d", "-b", MakeBundle({"sleep", "1000"}), id});
    EXPECT_EQ(r.status, 0) << r.err;
    return id;
  }
};

// A listening unix socket at `path`; a thread takes the one fd sent to it.
class FdReceiver {
 public:
  explicit FdReceiver(const std::string& path) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_.get(), 1), 0);
    thread_ = std::thread([this] {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return;
      linux::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (auto fd = linux::ReceiveFd(conn.get(), &message_)) fd_ = std::move(*fd);
    });
  }
  ~FdReceiver() {
    if (thread_.joinable()) thread_.join();
  }
  // Waits for the fd (or the receiver's timeout).
  linux::UniqueFd Take(std::string* message) {
    thread_.join();
    *message = message_;
    return std::move(fd_);
  }

 private:
  linux::UniqueFd listener_;
  std::thread thread_;
  std::string message_;
  linux::UniqueFd fd_;
};

// The socket gets a pidfd of the exec'd process (not of the init), with the message
// "setns" (runc 1.4 names it so; create sends "standard"); a signal through it ends that
// process.
TEST_F(ExecRunc14, PidfdSocketGetsAPidfdOfTheExecdProcess) {
  for (const auto& rt : Runc14AndBerth()) {
    SCOPED_TRACE(rt.name);
    std::string id = StartSleeper(rt);
    std::string sock = dir_ + "/exec-pidfd-" + rt.name + ".sock";
    std::string pid_file = dir_ + "/exec-" + rt.name + ".pid";
    FdReceiver receiver(sock);
    auto r = RunWith(rt, {"exec", "-d", "--pid-file", pid_file, "--pidfd-socket", sock, id,
                          "sleep", "999"});
    std::string message;
    linux::UniqueFd pidfd = receiver.Take(&message);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(pidfd) << "no pidfd arrived";
    EXPECT_EQ(message, "setns");  // runc names the fd after its process type
    std::string pid = ReadFileOrEmpty(pid_file);
    ASSERT_FALSE(pid.empty());
    std::string fdinfo = ReadFileOrEmpty("/proc/self/fdinfo/" + std::to_string(pidfd.get()));
    EXPECT_NE(fdinfo.find("Pid:\t" + pid + "\n"), std::string::npos) << fdinfo;
    // exec -d returns once the process is started; its execve may still be under way on
    // a loaded machine.
    std::string cmdline;
    for (int i = 0; i < 100 && cmdline != std::string("sleep\0999\0", 10); ++i) {
      if (i) ::usleep(20000);
      cmdline = ReadFileOrEmpty("/proc/" + pid + "/cmdline");
    }
    EXPECT_EQ(cmdline, std::string("sleep\0999\0", 10));
    ASSERT_EQ(::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0), 0);
    pollfd exited{pidfd.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&exited, 1, 5000), 1) << "the exec'd process did not die";
  }
}

// Without the flag a paused container is refused; with it the exec waits, frozen with
// the container, and finishes once the container is resumed.
TEST_F(ExecRunc14, IgnorePausedExecsOnceTheContainerIsResumed) {
  for (const auto& rt : Runc14AndBerth()) {
    SCOPED_TRACE(rt.name);
    std::string id = StartSleeper(rt);
    ASSERT_EQ(RunWith(rt, {"pause", id}).status, 0);
    auto refused = RunWith(rt, {"exec", id, "true"});
    EXPECT_NE(refused.status, 0);
    EXPECT_NE(refused.err.find("paused"), std::string::npos) << refused.err;

    std::atomic<bool> done = false;
    CommandResult waited;
    SpawnOptions options;
    options.timeout_seconds = 20;
    std::thread exec([&] {
      waited = RunWith(rt, {"exec", "--ignore-paused", id, "sh", "-c", "echo ran"}, options);
      done = true;
    });
    std::this_thread::sleep_for(1s);
    EXPECT_FALSE(done) << "the exec ran in a frozen container: " << waited.out << waited.err;
    auto resumed = RunWith(rt, {"resume", id});
    exec.join();
    EXPECT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_EQ(waited.status, 0) << waited.err;
    EXPECT_EQ(waited.out, "ran\n");
  }
}

}  // namespace
}  // namespace berth::testing
