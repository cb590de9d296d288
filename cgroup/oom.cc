#include "cgroup/oom.h"

#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroup/fs.h"
#include "linux/files.h"

namespace berth::cgroup {
namespace {

// The v1 memory directory, or "" when memory is accounted in the unified hierarchy.
std::string V1Memory(const Paths& p) {
  if (p.mode == Mode::kUnified) return "";
  auto it = p.v1.find("memory");
  return it == p.v1.end() ? "" : it->second;
}

}  // namespace

Result<linux::UniqueFd> OpenOomNotifier(const Paths& paths) {
  if (std::string dir = V1Memory(paths); !dir.empty()) {
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return ErrnoError("eventfd");
    linux::UniqueFd event(efd);
    // The registration keeps what it needs of memory.oom_control; the fd can go after.
    auto oom = BERTH_TRY(linux::Open(fs::Join(dir, "memory.oom_control"), O_RDONLY));
    BERTH_TRY(fs::Write(dir, "cgroup.event_control",
                        std::to_string(event.get()) + " " + std::to_string(oom.get())));
    return event;
  }
  if (paths.mode == Mode::kLegacy || paths.unified.empty())
    return Fail("OOM notifications: the container has no memory cgroup", ENOTSUP);
  std::string events = fs::Join(paths.unified, "memory.events");
  int ifd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ifd < 0) return ErrnoError("inotify_init1");
  linux::UniqueFd notify(ifd);
  if (::inotify_add_watch(ifd, events.c_str(), IN_MODIFY) < 0)
    return ErrnoError("inotify_add_watch " + events);
  return notify;
}

Result<uint64_t> OomKillCount(const Paths& paths) {
  if (std::string dir = V1Memory(paths); !dir.empty())
    return fs::ReadKey(dir, "memory.oom_control", "oom_kill");
  if (paths.mode == Mode::kLegacy || paths.unified.empty())
    return Fail("OOM kill count: the container has no memory cgroup", ENOTSUP);
  return fs::ReadKey(paths.unified, "memory.events", "oom_kill");
}

Result<uint64_t> ReadOomEvents(const Paths& paths, int notifier, uint64_t& last_oom_kill) {
  std::string dir = V1Memory(paths);
  if (!dir.empty()) {
    uint64_t count = 0;
    ssize_t n = ::read(notifier, &count, sizeof count);
    if (n < 0 && errno != EAGAIN) return ErrnoError("read the OOM eventfd");
    // The kernel also signals the eventfd when the cgroup goes away.
    if (!fs::Exists(dir, "cgroup.event_control"))
      return Fail("memory cgroup " + dir + " is gone", ENOENT);
    return n == sizeof count ? count : 0;
  }
  alignas(struct inotify_event) char buf[4096];
  bool gone = false;
  for (;;) {
    ssize_t n = ::read(notifier, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      return ErrnoError("read the OOM inotify fd");
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) gone = true;
      off += static_cast<ssize_t>(sizeof *ev + ev->len);
    }
  }
  auto count = OomKillCount(paths);
  if (!count) {
    if (gone || count.error().code == ENOENT)
      return Fail("memory cgroup " + paths.unified + " is gone", ENOENT);
    return std::unexpected(count.error());
  }
  uint64_t events = *count > last_oom_kill ? *count - last_oom_kill : 0;
  last_oom_kill = *count;
  return events;
}

}  // namespace berth::cgroup
