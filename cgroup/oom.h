// OOM notifications. v1: an eventfd registered through cgroup.event_control for
// memory.oom_control (it fires on each OOM event, and once more when the cgroup is
// removed). v2: inotify on memory.events; the caller compares the oom_kill counter.
// Both fds are O_CLOEXEC and non-blocking: poll for POLLIN, then ReadOomEvents.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "linux/unique_fd.h"

namespace berth::cgroup {

Result<linux::UniqueFd> OpenOomNotifier(const Paths& paths);

// The oom_kill counter: memory.oom_control (v1, Linux 4.13+) or memory.events (v2).
Result<uint64_t> OomKillCount(const Paths& paths);

// After `notifier` polled readable: the number of OOM events to report (0 for a
// spurious wakeup, such as another change in memory.events). v1 counts the eventfd's
// wakeups, as runc does (with disableOOMKiller nothing is killed, but the event is
// real); v2 the growth of oom_kill over `last_oom_kill`, which it updates. Fails with
// ENOENT once the container's memory cgroup is gone: stop watching then.
Result<uint64_t> ReadOomEvents(const Paths& paths, int notifier, uint64_t& last_oom_kill);

}  // namespace berth::cgroup
