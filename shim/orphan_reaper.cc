#include "shim/orphan_reaper.h"

#include <dirent.h>
#include <sys/wait.h>

#include <charconv>

#include "linux/files.h"
#include "linux/process.h"
#include "shim/log.h"

namespace berth::shim {

using namespace std::chrono_literals;

std::set<pid_t> ChildPids() {
  std::set<pid_t> out;
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    auto text = linux::ReadFile(std::string("/proc/self/task/") + e->d_name + "/children");
    if (!text) continue;
    const char* p = text->data();
    const char* end = p + text->size();
    while (p < end) {
      pid_t pid = 0;
      auto [next, ec] = std::from_chars(p, end, pid);
      if (ec == std::errc()) out.insert(pid);
      p = next + 1;
    }
  }
  ::closedir(dir);
  return out;
}

OrphanReaper::OrphanReaper(ttrpc::EventLoop& loop, std::function<bool(pid_t)> tracked)
    : loop_(loop), tracked_(std::move(tracked)) {}

OrphanReaper::~OrphanReaper() { *alive_ = false; }

void OrphanReaper::OnChildSignal() { ScheduleScan(); }

void OrphanReaper::ScheduleScan() {
  if (scheduled_) return;
  scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.RunAfter(1s, [this, alive] {
    if (alive.expired()) return;
    scheduled_ = false;
    Scan();
  });
}

void OrphanReaper::Scan() {
  std::set<pid_t> zombies;
  for (pid_t pid : ChildPids()) {
    if (tracked_(pid)) continue;
    auto st = linux::ReadProcStat(pid);
    if (!st || st->state != 'Z') continue;
    if (seen_.count(pid)) {
      // A zombie for a second and nobody's: reap it.
      if (::waitpid(pid, nullptr, WNOHANG | __WALL) == pid) {
        ++reaped_;
        LogDebug("reaped orphan " + std::to_string(pid));
        continue;
      }
    }
    zombies.insert(pid);
  }
  seen_ = std::move(zombies);
  if (!seen_.empty()) ScheduleScan();
}

}  // namespace berth::shim
