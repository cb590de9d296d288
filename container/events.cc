// `events`: runc's stream of stats and OOM events for one container, until its cgroup
// is removed (delete) or the caller's stop fd fires.
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cgroup/oom.h"
#include "cgroup/stats.h"
#include "container/container.h"
#include "container/status.h"

namespace berth::container {
namespace {

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// runc's types.Event with no data: {"type":"oom","id":"c1"}.
std::string OomEventJson(const std::string& id) {
  nlohmann::ordered_json j;
  j["type"] = "oom";
  j["id"] = id;
  return j.dump();
}

// Whether the container's cgroup is gone (removed by delete): the end of the stream.
bool CgroupGone(cgroup::Manager& cg) {
  auto pids = cg.Pids();
  return !pids && pids.error().code == ENOENT;
}

class EventLoop {
 public:
  EventLoop(const Runtime& rt, const std::string& id, cgroup::Manager& cg,
            const EventsOptions& options, const std::function<void(const std::string&)>& emit)
      : rt_(rt), id_(id), cg_(cg), options_(options), emit_(emit) {}

  Result<void> Run() {
    std::string context = "events of container \"" + id_ + "\"";
    linux::UniqueFd oom = BERTH_TRY_CTX(cg_.OpenOomNotifier(), context);
    // v2 reports growth of oom_kill; v1 counts eventfd wakeups and ignores this.
    uint64_t last_oom_kill = cgroup::OomKillCount(cg_.paths()).value_or(0);
    // As runc: the first stats come after one interval, not at once.
    int64_t next_stats = NowMs() + options_.interval_ms;
    for (;;) {
      pollfd fds[2] = {{oom.get(), POLLIN, 0}, {options_.stop_fd, POLLIN, 0}};
      int timeout = static_cast<int>(std::clamp<int64_t>(next_stats - NowMs(), 0, 60'000));
      int n = ::poll(fds, options_.stop_fd >= 0 ? 2 : 1, timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(context + ": poll");
      }
      if (options_.stop_fd >= 0 && fds[1].revents) return {};
      if (fds[0].revents) {
        auto count = cgroup::ReadOomEvents(cg_.paths(), oom.get(), last_oom_kill);
        if (!count && count.error().code == ENOENT) return {};
        if (!count) return Fail(std::move(count.error()).Context(context));
        for (uint64_t i = 0; i < *count; ++i) emit_(OomEventJson(id_));
      }
      if (NowMs() >= next_stats) {
        if (!EmitStats(context)) return {};
        // A slow reader (a stopped terminal) must not cause a burst of catch-up events.
        next_stats = std::max(next_stats + options_.interval_ms, NowMs());
      }
    }
  }

 private:
  // One stats event; false once the cgroup is gone.
  bool EmitStats(const std::string& context) {
    auto stats = cg_.GetStats();
    if (stats) {
      emit_(cgroup::RuncStatsEventJson(id_, *stats));
      return true;
    }
    if (CgroupGone(cg_)) return false;
    // runc logs a failed read and keeps going: a file can vanish while the cgroup goes.
    rt_.Log(LogLevel::kWarning, context + ": " + stats.error().message);
    return true;
  }

  const Runtime& rt_;
  const std::string& id_;
  cgroup::Manager& cg_;
  const EventsOptions& options_;
  const std::function<void(const std::string&)>& emit_;
};

}  // namespace

Result<void> Events(const Runtime& rt, const std::string& id, const EventsOptions& options,
                    const std::function<void(const std::string&)>& emit) {
  if (!options.stats_once && options.interval_ms <= 0)
    return Fail("events: the interval must be greater than 0", EINVAL);
  linux::UniqueFd dir;
  // No lock: events runs for as long as the container does, beside other commands.
  ContainerRecord record = BERTH_TRY(ReadRecord(rt.root, id, &dir));
  if (CurrentStatus(dir.get(), record) == oci::Status::kStopped)
    return Fail("events: container \"" + id + "\" is not running", ESRCH);
  std::string context = "events of container \"" + id + "\"";
  if (record.cgroup.empty()) return Fail(context + ": the container has no cgroup", ENOENT);
  if (options.stats_once) {
    auto paths = BERTH_TRY_CTX(cgroup::PathsFromJson(record.cgroup), context);
    cgroup::Stats stats = BERTH_TRY_CTX(CgroupStats(paths), context);
    emit(cgroup::RuncStatsEventJson(id, stats));
    return {};
  }
  auto cg = BERTH_TRY_CTX(LoadCgroup(record), context);
  return EventLoop(rt, id, *cg, options, emit).Run();
}

Result<cgroup::Stats> CgroupStats(const cgroup::Paths& paths) {
  auto cg = BERTH_TRY(cgroup::Manager::Load(paths));
  return cg->GetStats();
}

}  // namespace berth::container
