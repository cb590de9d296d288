// Integration test harness: runs the real `berth` binary on busybox bundles
// with a private --root, and cleans up whatever a test leaves, even on failure.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace berth::testing {

struct CommandResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

struct SpawnOptions {
  std::string stdin_data;
  std::vector<int> extra_fds;  // passed as fds 3, 4, ...
  std::vector<std::string> env;  // added to our environment
  int timeout_seconds = 60;
  // Put before the command: e.g. {"/bin/sh", "-c", "LISTEN_PID=$$ exec \"$@\"", "sh"}.
  std::vector<std::string> wrapper;
};

// Runs `argv` and collects its output.
CommandResult RunCommand(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// The busybox rootfs shared (read-only) by all containers of a test binary.
const std::string& SharedRootfs();

// A runtime berth is compared with, side by side: the same steps through each must
// give the same outcome.
struct Runtime {
  std::string name;    // "berth", "runc-1.4", "runc-1.1"
  std::string binary;
};
// berth, runc 1.4 (pinned by scripts/install-deps.sh) and Debian's runc 1.1.5. The suite
// installs both runcs: a missing one fails the test (ADD_FAILURE) and is left out, never
// a silent skip.
std::vector<Runtime> SideBySideRuntimes();

class BerthTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `berth --root <private root> args...`
  CommandResult Berth(const std::vector<std::string>& args, const SpawnOptions& options = {});
  // `rt.binary --root <this test's root for rt> args...`. For berth, the same as Berth().
  // Containers of ids from NewId() are deleted from every runtime used, at TearDown.
  CommandResult RunWith(const Runtime& rt, const std::vector<std::string>& args,
                        const SpawnOptions& options = {});
  // A fresh unique container id.
  std::string NewId();
  // A bundle directory whose config runs `args` on the shared rootfs (read-only,
  // with a tmpfs on /tmp). `edit` can change the config before it is written.
  std::string MakeBundle(const std::vector<std::string>& args,
                         const std::function<void(nlohmann::json&)>& edit = nullptr);
  // The parsed `berth state` of `id`, or null JSON when it fails.
  nlohmann::json State(const std::string& id);
  // Polls `state` until the container has `status` (or the timeout passes).
  bool WaitForStatus(const std::string& id, const std::string& status, int timeout_ms = 10000);

  std::string dir_;   // this test's temporary directory
  std::string root_;  // --root
  std::vector<std::string> ids_;
  std::vector<std::pair<std::string, std::string>> peer_roots_;  // (binary, --root) used by RunWith
};

// A --console-socket at `path`: accepts one connection, takes the pty master berth
// sends, and collects what the pty shows until it ends or stays quiet for 5 s.
class ConsoleSocket {
 public:
  explicit ConsoleSocket(const std::string& path);
  ~ConsoleSocket();
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;
  // Stops listening (a connection that never came is given up) and returns the output.
  std::string Finish();

 private:
  int listener_ = -1;
  std::string output_;
  std::thread reader_;
};

bool ProcessExists(pid_t pid);
// Directories named `name` under any cgroup hierarchy of the host.
std::vector<std::string> CgroupDirsNamed(const std::string& name);
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace berth::testing
