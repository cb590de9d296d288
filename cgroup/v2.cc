#include "cgroup/v2.h"

#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "cgroup/fs.h"
#include "linux/files.h"

namespace berth::cgroup::v2 {
namespace {

std::string Str(int64_t v) {
  return std::to_string(v);
}
std::string Str(uint64_t v) {
  return std::to_string(v);
}

// memory.max, pids.max and friends: -1 is "max" (v1's way of saying unlimited).
std::string Limit(int64_t v) {
  return v == -1 ? "max" : Str(v);
}

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

uint64_t SharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;  // the v1 minimum; keeps the formula from underflowing
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<int64_t> SwapToV2(int64_t swap, int64_t memory) {
  // Unlimited memory with swap unset: unlimited swap too, as on v1.
  if (memory == -1 && swap == 0) return -1;
  if (swap == -1 || swap == 0) return swap;
  if (memory == 0 || memory == -1)
    return Fail("memory.swap " + Str(swap) + ": a swap limit needs a memory limit", EINVAL);
  if (memory < 0) return Fail("memory.limit " + Str(memory) + ": invalid", EINVAL);
  if (swap < memory)
    return Fail("memory.swap " + Str(swap) + " is below memory.limit " + Str(memory) +
                    " (swap is memory+swap)",
                EINVAL);
  return swap - memory;
}

std::string CpuMax(std::optional<int64_t> quota, std::optional<uint64_t> period) {
  std::string out = quota && *quota > 0 ? Str(*quota) : "max";
  uint64_t p = period.value_or(0);
  return out + " " + Str(p == 0 ? uint64_t{100000} : p);  // the kernel's default period
}

Result<void> SetCpu(const std::string& dir, const oci::Cpu& cpu) {
  if ((cpu.realtime_runtime && *cpu.realtime_runtime != 0) ||
      (cpu.realtime_period && *cpu.realtime_period != 0))
    return Fail("cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime bandwidth control",
                EINVAL);
  if (cpu.shares && *cpu.shares != 0)
    BERTH_TRY(fs::Write(dir, "cpu.weight", Str(SharesToWeight(*cpu.shares))));
  if ((cpu.quota && *cpu.quota != 0) || (cpu.period && *cpu.period != 0))
    BERTH_TRY(fs::Write(dir, "cpu.max", CpuMax(cpu.quota, cpu.period)));
  if (cpu.burst) BERTH_TRY(fs::Write(dir, "cpu.max.burst", Str(*cpu.burst)));
  if (cpu.idle) BERTH_TRY(fs::Write(dir, "cpu.idle", Str(*cpu.idle)));
  return {};
}

Result<void> SetCpuset(const std::string& dir, const oci::Cpu& cpu) {
  if (!cpu.cpus.empty()) BERTH_TRY(fs::Write(dir, "cpuset.cpus", cpu.cpus));
  if (!cpu.mems.empty()) BERTH_TRY(fs::Write(dir, "cpuset.mems", cpu.mems));
  return {};
}

Result<void> SetMemory(const std::string& dir, const oci::Memory& m) {
  int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
  int64_t reservation = m.reservation.value_or(0);
  if (limit == 0 && swap == 0 && reservation == 0) return {};
  if (m.check_before_update.value_or(false) && limit > 0) {
    uint64_t usage = BERTH_TRY(fs::ReadUint(dir, "memory.current"));
    if (static_cast<uint64_t>(limit) < usage)
      return Fail("memory.limit " + Str(limit) + " is below the current usage " + Str(usage) +
                      " of " + dir + " (checkBeforeUpdate)",
                  EBUSY);
  }
  int64_t v2_swap = BERTH_TRY(SwapToV2(swap, limit));
  // swap == memory means "no swap": memory.swap.max 0. Otherwise 0 means "not set".
  if (v2_swap != 0 || swap > 0) BERTH_TRY(fs::Write(dir, "memory.swap.max", Limit(v2_swap)));
  if (limit != 0) BERTH_TRY(fs::Write(dir, "memory.max", Limit(limit)));
  if (reservation != 0) BERTH_TRY(fs::Write(dir, "memory.low", Limit(reservation)));
  // kernel, kernelTCP, swappiness, disableOOMKiller and useHierarchy have no v2 file;
  // ignored, as runc does.
  return {};
}

Result<void> SetPids(const std::string& dir, const oci::Pids& pids) {
  if (pids.limit == 0) return {};
  return fs::Write(dir, "pids.max", pids.limit > 0 ? Str(pids.limit) : "max");
}

Result<void> SetIo(const std::string& dir, const oci::BlockIo& b) {
  // With BFQ, io.bfq.weight takes the v1 value range directly ("default 100" when it also
  // takes per-device weights, a lone number on older kernels).
  bool bfq = fs::Exists(dir, "io.bfq.weight");
  bool bfq_per_device = false;
  if (bfq) {
    auto text = fs::ReadTrimmed(dir, "io.bfq.weight");
    bfq_per_device = text && text->starts_with("default");
  }
  if (b.weight && *b.weight != 0) {
    if (bfq)
      BERTH_TRY(fs::Write(dir, "io.bfq.weight", Str(uint64_t{*b.weight})));
    else
      BERTH_TRY(fs::Write(dir, "io.weight", Str(BlkioWeightToIoWeight(*b.weight))));
  }
  for (const auto& wd : b.weight_device) {
    if (!wd.weight || *wd.weight == 0) continue;
    std::string dev = Str(wd.major) + ":" + Str(wd.minor);
    if (bfq_per_device)
      BERTH_TRY(fs::Write(dir, "io.bfq.weight", dev + " " + Str(uint64_t{*wd.weight})));
    else
      BERTH_TRY(fs::Write(dir, "io.weight", dev + " " + Str(BlkioWeightToIoWeight(*wd.weight))));
  }
  struct {
    const std::vector<oci::ThrottleDevice>* list;
    const char* key;
  } throttles[] = {{&b.throttle_read_bps, "rbps"},
                   {&b.throttle_write_bps, "wbps"},
                   {&b.throttle_read_iops, "riops"},
                   {&b.throttle_write_iops, "wiops"}};
  for (const auto& t : throttles)
    for (const auto& td : *t.list)
      BERTH_TRY(fs::Write(dir, "io.max",
                          Str(td.major) + ":" + Str(td.minor) + " " + t.key + "=" + Str(td.rate)));
  return {};
}

Result<void> SetRdma(const std::string& dir, const std::map<std::string, oci::Rdma>& rdma) {
  for (const auto& [device, limits] : rdma) {
    std::string line = device;
    if (limits.hca_handles) line += " hca_handle=" + Str(uint64_t{*limits.hca_handles});
    if (limits.hca_objects) line += " hca_object=" + Str(uint64_t{*limits.hca_objects});
    if (line != device) BERTH_TRY(fs::Write(dir, "rdma.max", line));
  }
  return {};
}

Result<std::set<std::string>> Controllers(const std::string& dir) {
  std::string text = BERTH_TRY(fs::Read(dir, "cgroup.controllers"));
  auto f = fs::Fields(text);
  return std::set<std::string>(f.begin(), f.end());
}

Result<void> SetUnified(const std::string& dir, const std::map<std::string, std::string>& values) {
  if (values.empty()) return {};
  auto available = BERTH_TRY(Controllers(dir));
  for (const auto& [key, value] : values) {
    std::string what = "linux.resources.unified \"" + key + "\"";
    if (key.find('/') != std::string::npos || key == "." || key == "..")
      return Fail(what + ": must be a file name", EINVAL);
    auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
      return Fail(what + ": must be <controller>.<file>", EINVAL);
    std::string controller = key.substr(0, dot);
    if (controller != "cgroup" && !available.contains(controller)) {
      std::string list;
      for (const auto& c : available) list += (list.empty() ? "" : " ") + c;
      return Fail(what + ": controller \"" + controller + "\" is not available in " + dir +
                      " (available: " + (list.empty() ? "none" : list) + ")",
                  EINVAL);
    }
    if (!fs::Exists(dir, key))
      return Fail("write " + value + " to " + fs::Join(dir, key) + ": no such cgroup file", ENOENT);
  }
  for (const auto& [key, value] : values) BERTH_TRY(fs::Write(dir, key, value));
  return {};
}

Result<void> EnableControllers(const std::string& top, const std::string& leaf,
                               const std::set<std::string>& wanted, bool best_effort,
                               std::vector<std::pair<std::string, std::string>>& enabled) {
  if (wanted.empty() || leaf.size() <= top.size()) return {};
  // top, then each directory below it on the way to the leaf's parent.
  std::vector<std::string> dirs{top};
  size_t pos = top.size();
  while (true) {
    size_t next = leaf.find('/', pos + 1);
    if (next == std::string::npos) break;
    dirs.push_back(leaf.substr(0, next));
    pos = next;
  }
  std::set<std::string> want = wanted;
  for (const auto& d : dirs) {
    auto on_text = BERTH_TRY(fs::Read(d, "cgroup.subtree_control"));
    auto on_list = fs::Fields(on_text);
    std::set<std::string> on(on_list.begin(), on_list.end());
    auto available = BERTH_TRY(Controllers(d));
    for (auto it = want.begin(); it != want.end();) {
      const std::string& c = *it;
      if (on.contains(c)) {
        ++it;
        continue;
      }
      if (!available.contains(c)) {
        if (best_effort) {
          it = want.erase(it);
          continue;
        }
        return Fail("controller " + c + " is not available in " + d + "/cgroup.controllers",
                    ENOTSUP);
      }
      auto w = fs::Write(d, "cgroup.subtree_control", "+" + c);
      if (!w) {
        if (!best_effort) return w;
        it = want.erase(it);
        continue;
      }
      enabled.emplace_back(d, c);
      ++it;
    }
  }
  return {};
}

namespace {

// Whether a cgroup in `dirs` limits anything with `controller`: a "<controller>*.max"
// file holding something other than "max", empty, or a huge number.
bool ControllerInUse(const std::vector<std::string>& dirs, const std::string& controller) {
  for (const auto& d : dirs) {
    DIR* dir = ::opendir(d.c_str());
    if (!dir) continue;
    bool used = false;
    while (struct dirent* e = ::readdir(dir)) {
      std::string_view name = e->d_name;
      if (!name.starts_with(controller + ".") || !name.ends_with(".max")) continue;
      auto value = fs::ReadTrimmed(d, std::string(name));
      if (!value || value->empty() || value->starts_with("max")) continue;
      // hugetlb prints "no limit" as the largest page-aligned int64, not as "max".
      auto number = fs::ParseUint(*value);
      if (number && *number >= (uint64_t{1} << 62)) continue;
      used = true;
    }
    ::closedir(dir);
    if (used) return true;
  }
  return false;
}

}  // namespace

void DisableControllers(const std::vector<std::pair<std::string, std::string>>& enabled) {
  for (auto it = enabled.rbegin(); it != enabled.rend(); ++it) {
    auto sub = fs::SubDirs(it->first);
    if (!sub || ControllerInUse(*sub, it->second)) continue;
    (void)fs::Write(it->first, "cgroup.subtree_control", "-" + it->second);
  }
}

namespace {

Result<bool> ReadFrozen(int fd, const std::string& path) {
  char buf[512];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n < 0) return ErrnoError("read " + path);
  auto kv = fs::ParseKeyValues(std::string_view(buf, static_cast<size_t>(n)));
  return kv["frozen"] == 1;
}

}  // namespace

Result<void> SetFrozen(const std::string& dir, bool frozen) {
  std::string events = fs::Join(dir, "cgroup.events");
  auto fd = BERTH_TRY(linux::Open(events, O_RDONLY));
  BERTH_TRY(fs::Write(dir, "cgroup.freeze", frozen ? "1" : "0"));
  constexpr int kTimeoutMs = 10000;
  int64_t deadline = NowMs() + kTimeoutMs;
  for (;;) {
    if (BERTH_TRY(ReadFrozen(fd.get(), events)) == frozen) return {};
    int64_t left = deadline - NowMs();
    if (left <= 0)
      return Fail(events + " does not report \"frozen " + (frozen ? "1" : "0") + "\" after " +
                      std::to_string(kTimeoutMs / 1000) + "s",
                  ETIMEDOUT);
    // kernfs wakes POLLPRI pollers when cgroup.events changes; the cap guards against a
    // missed wakeup.
    struct pollfd p {
      fd.get(), POLLPRI, 0
    };
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
  }
}

Result<bool> IsFrozen(const std::string& dir) {
  return BERTH_TRY(fs::ReadKey(dir, "cgroup.events", "frozen")) == 1;
}

}  // namespace berth::cgroup::v2
