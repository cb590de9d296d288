// CVE-2025-52565: with process.terminal the runtime binds the pty on
// /dev/console. runc named the pty by its path /dev/pts/$n, and a container that
// shares (or races) /dev replaced that path, or /dev/console, with a symlink to
// /proc/sys/kernel/core_pattern or /proc/sysrq-trigger: the runtime then bound a
// writable procfs file into the container.
//
// Defences (container/init_child.cc, linux/terminal.cc): the pty is opened from
// the devpts multiplexer /dev/pts/ptmx reached without symlinks and checked to be
// c 5:2 on devpts; its peer comes from TIOCGPTPEER (no /dev/pts/$n lookup); the
// bind uses that fd (open_tree + move_mount); and /dev/console must be a plain
// file or a device, never a symlink, reached inside the root.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "linux/fd_passing.h"
#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2025_52565 : public CveTest {
 protected:
  // An attacker-controlled /dev (a host directory bound over the container's)
  // with a real /dev/null, so that only the console is at stake.
  std::string AttackerDev() {
    std::string dev = dir_ + "/dev-volume";
    ::mkdir(dev.c_str(), 0755);
    ::mknod((dev + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
    ::mkdir((dev + "/pts").c_str(), 0755);
    return dev;
  }
  // Creates a container with a terminal (console socket) on `dev`, and returns
  // what the pty showed. `devpts`: keep the config's devpts on /dev/pts.
  CommandResult CreateWithTerminal(const std::string& dev, bool devpts, std::string* output) {
    std::string sock_path = dir_ + "/console-" + std::to_string(++sockets_) + ".sock";
    ConsoleSocket console(sock_path);
    std::string id = NewId();
    std::string script =
        "echo RAN; stat -c '%t:%T' /dev/console; stat -L -c '%t:%T' $(tty); "
        "grep ' /dev/console ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1";
    auto r = Berth({"create", "--console-socket", sock_path, "-b",
                    MakeBundle({"sh", "-c", script},
                               [&](json& s) {
                                 s["process"]["terminal"] = true;
                                 json mounts = json::array();
                                 for (auto& m : s["mounts"]) {
                                   if (m["destination"] == "/dev")
                                     m = {{"destination", "/dev"},
                                          {"type", "bind"},
                                          {"source", dev},
                                          {"options", {"rbind"}}};
                                   if (m["destination"] == "/dev/pts" && !devpts) continue;
                                   mounts.push_back(m);
                                 }
                                 s["mounts"] = mounts;
                               }),
                    id});
    if (r.status == 0) {
      auto started = Berth({"start", id});
      EXPECT_EQ(started.status, 0) << started.err;
    }
    *output = console.Finish();
    return r;
  }
  int sockets_ = 0;
};

TEST_F(Cve_2025_52565, ConsoleTargetSymlinkIsRefused) {
  for (const char* target : {"/proc/sysrq-trigger", "/proc/sys/kernel/core_pattern"}) {
    std::string dev = AttackerDev();
    ::unlink((dev + "/console").c_str());
    ASSERT_EQ(::symlink(target, (dev + "/console").c_str()), 0);
    std::string output;
    auto r = CreateWithTerminal(dev, true, &output);
    EXPECT_EQ(r.status, 1) << target;
    EXPECT_NE(r.err.find("/dev/console"), std::string::npos) << r.err;
    EXPECT_EQ(output.find("RAN"), std::string::npos) << output;
    ::unlink((dev + "/console").c_str());
  }
}

// runc's attack: /dev/pts/$n replaced by a symlink before the bind. Without a
// devpts on /dev/pts the planted links are all the container has: refused.
TEST_F(Cve_2025_52565, PlantedPtsEntriesAreNeverUsed) {
  std::string dev = AttackerDev();
  for (int n = 0; n < 8; ++n)
    ASSERT_EQ(
        ::symlink("/proc/sys/kernel/core_pattern", (dev + "/pts/" + std::to_string(n)).c_str()), 0);
  ASSERT_EQ(::symlink("/proc/sysrq-trigger", (dev + "/pts/ptmx").c_str()), 0);
  ASSERT_EQ(::symlink("pts/ptmx", (dev + "/ptmx").c_str()), 0);
  std::string output;
  auto r = CreateWithTerminal(dev, false, &output);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/dev/ptmx"), std::string::npos) << r.err;
  EXPECT_EQ(output.find("RAN"), std::string::npos) << output;
}

// With devpts mounted, the planted links are hidden and /dev/console is the
// pty itself, a devpts mount, not a procfs file.
TEST_F(Cve_2025_52565, ConsoleIsTheContainersPty) {
  std::string dev = AttackerDev();
  for (int n = 0; n < 8; ++n)
    ASSERT_EQ(
        ::symlink("/proc/sys/kernel/core_pattern", (dev + "/pts/" + std::to_string(n)).c_str()), 0);
  std::string output;
  auto r = CreateWithTerminal(dev, true, &output);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find("\r\n", start);
    if (end == std::string::npos) end = output.size();
    lines.push_back(output.substr(start, end - start));
    start = end + 2;
  }
  ASSERT_EQ(lines.size(), 4u) << output;
  EXPECT_EQ(lines[0], "RAN");
  EXPECT_EQ(lines[1].rfind("88:", 0), 0u) << "/dev/console is not a pty: " << lines[1];
  EXPECT_EQ(lines[1], lines[2]) << "/dev/console is not the process's terminal";
  EXPECT_EQ(lines[3], "devpts") << "what is mounted on /dev/console";
}

}  // namespace
}  // namespace berth::testing
