// CVE-2021-30465: a container sharing a volume with another swaps a directory
// under one of the other's mount targets for a symlink between the runtime's
// check of the path and its mount(2), and the mount lands outside the rootfs.
//
// Defence (linux/in_root.h, container/init_rootfs.cc): every target is opened
// once with openat2(RESOLVE_IN_ROOT) and mounted through that fd, so a symlink
// swapped in at any moment is either not seen or resolved inside the rootfs;
// the mount is never redirected out of it. Here a host thread plays the other
// container, exchanging the directory and a symlink in a tight loop while
// containers are created, and every container must see its mount inside.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2021_30465 : public CveTest {};

// The mount points of tmpfs mounts whose options carry `marker`, from mountinfo.
std::vector<std::string> MarkedTmpfs(const std::string& mountinfo, const std::string& marker) {
  std::vector<std::string> points;
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    if (line.find(" - tmpfs ") == std::string::npos || line.find(marker) == std::string::npos)
      continue;
    std::istringstream fields(line);
    std::string f[5];
    for (auto& x : f) fields >> x;
    points.push_back(f[4]);
  }
  return points;
}

TEST_F(Cve_2021_30465, SymlinkSwappedUnderAMountTargetNeverRedirectsIt) {
  std::string rootfs = PrivateRootfs();  // in-root resolution may create directories in it
  std::string volume = dir_ + "/volume";
  std::string escape = dir_ + "/escape";  // where the symlink points on the host
  ::mkdir(volume.c_str(), 0755);
  ::mkdir(escape.c_str(), 0755);
  ::mkdir((volume + "/target").c_str(), 0755);
  ASSERT_EQ(::symlink(escape.c_str(), (volume + "/link").c_str()), 0);

  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread racer([&] {
    while (!stop) {
      if (::syscall(SYS_renameat2, AT_FDCWD, (volume + "/target").c_str(), AT_FDCWD,
                    (volume + "/link").c_str(), RENAME_EXCHANGE) == 0)
        ++swaps;
    }
  });
  int succeeded = 0, attempts = 40;
  for (int i = 0; i < attempts; ++i) {
    std::string id = NewId();
    auto r = Berth({"run", "-b",
                    MakeBundle({"cat", "/proc/self/mountinfo"},
                               [&](json& s) {
                                 s["root"]["path"] = rootfs;
                                 s["mounts"].push_back({{"destination", "/volume"},
                                                        {"type", "bind"},
                                                        {"source", volume},
                                                        {"options", {"rbind"}}});
                                 s["mounts"].push_back({{"destination", "/volume/target"},
                                                        {"type", "tmpfs"},
                                                        {"source", "tmpfs"},
                                                        {"options", {"size=4096k"}}});
                               }),
                    id});
    if (r.status != 0) continue;  // a lost race may fail the create; it must not escape
    ++succeeded;
    // The container sees its tmpfs: the mount went somewhere inside its root
    // (on the volume's directory, or on the symlink's target resolved in the root).
    auto points = MarkedTmpfs(r.out, "size=4096k");
    EXPECT_EQ(points.size(), 1u) << "attempt " << i << ": mount not inside the container\n"
                                 << r.out;
  }
  stop = true;
  racer.join();
  EXPECT_GT(swaps.load(), 1000) << "the race barely ran";
  EXPECT_GT(succeeded, attempts / 2) << "too few containers were created to judge";
  // Nothing reached the host side of the symlink.
  auto host = RunCommand(
      {"/bin/sh", "-c", "ls -A '" + escape + "'; grep -c ' " + escape + " ' /proc/self/mountinfo"});
  EXPECT_EQ(host.out, "0\n") << host.out;
}

}  // namespace
}  // namespace berth::testing
