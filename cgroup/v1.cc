#include "cgroup/v1.h"

#include <cerrno>

#include "cgroup/devices.h"
#include "cgroup/fs.h"

namespace berth::cgroup::v1 {
namespace {

std::string Str(int64_t v) {
  return std::to_string(v);
}
std::string Str(uint64_t v) {
  return std::to_string(v);
}

bool Set(const std::optional<uint64_t>& v) {
  return v && *v != 0;
}
bool Set(const std::optional<int64_t>& v) {
  return v && *v != 0;
}

std::string DeviceNumbers(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

}  // namespace

Result<void> SetCpu(const std::string& dir, const oci::Cpu& cpu) {
  if (Set(cpu.shares)) {
    BERTH_TRY(fs::Write(dir, "cpu.shares", Str(*cpu.shares)));
    // The kernel clamps shares to [2, 262144] without an error; say so, as runc does.
    uint64_t got = BERTH_TRY(fs::ReadUint(dir, "cpu.shares"));
    if (got != *cpu.shares)
      return Fail("cpu.shares " + Str(*cpu.shares) + " is out of range: the kernel set " +
                      Str(got) + " (" + fs::Join(dir, "cpu.shares") + ")",
                  EINVAL);
  }
  bool period_pending = false;
  if (Set(cpu.period)) {
    auto r = fs::Write(dir, "cpu.cfs_period_us", Str(*cpu.period));
    // A period shorter than the current one can be refused while the old quota stands
    // (quota/period over the parent's); set the quota first, then retry.
    if (!r) {
      if (r.error().code != EINVAL || !Set(cpu.quota)) return r;
      period_pending = true;
    }
  }
  if (Set(cpu.quota)) {
    BERTH_TRY(fs::Write(dir, "cpu.cfs_quota_us", Str(*cpu.quota)));
    if (period_pending) BERTH_TRY(fs::Write(dir, "cpu.cfs_period_us", Str(*cpu.period)));
  }
  if (cpu.burst) BERTH_TRY(fs::Write(dir, "cpu.cfs_burst_us", Str(*cpu.burst)));
  // Realtime bandwidth must be in place before a SCHED_RR/FIFO task joins.
  if (Set(cpu.realtime_period))
    BERTH_TRY(fs::Write(dir, "cpu.rt_period_us", Str(*cpu.realtime_period)));
  if (Set(cpu.realtime_runtime))
    BERTH_TRY(fs::Write(dir, "cpu.rt_runtime_us", Str(*cpu.realtime_runtime)));
  if (cpu.idle) BERTH_TRY(fs::Write(dir, "cpu.idle", Str(*cpu.idle)));
  return {};
}

Result<void> SetCpuset(const std::string& dir, const oci::Cpu& cpu) {
  if (!cpu.cpus.empty()) BERTH_TRY(fs::Write(dir, "cpuset.cpus", cpu.cpus));
  if (!cpu.mems.empty()) BERTH_TRY(fs::Write(dir, "cpuset.mems", cpu.mems));
  return {};
}

namespace {

Result<void> SetMemoryLimit(const std::string& dir, int64_t value) {
  auto r = fs::Write(dir, "memory.limit_in_bytes", Str(value));
  if (r || r.error().code != EBUSY) return r;
  // EBUSY: the new limit is below what the cgroup uses now and cannot be reclaimed.
  auto usage = fs::ReadUint(dir, "memory.usage_in_bytes");
  auto peak = fs::ReadUint(dir, "memory.max_usage_in_bytes");
  if (usage && peak)
    r.error().message += " (current usage " + Str(*usage) + ", peak " + Str(*peak) + ")";
  return r;
}

}  // namespace

Result<void> SetMemory(const std::string& dir, const oci::Memory& m) {
  int64_t limit = m.limit.value_or(0);
  int64_t swap = m.swap.value_or(0);
  if (m.check_before_update.value_or(false) && limit > 0) {
    uint64_t usage = BERTH_TRY(fs::ReadUint(dir, "memory.usage_in_bytes"));
    if (static_cast<uint64_t>(limit) < usage)
      return Fail("memory.limit " + Str(limit) + " is below the current usage " + Str(usage) +
                      " of " + dir + " (checkBeforeUpdate)",
                  EBUSY);
  }
  // "limit: -1" alone means unlimited memory, so unlimited memory+swap as well.
  if (limit == -1 && swap == 0 && fs::Exists(dir, "memory.memsw.limit_in_bytes")) swap = -1;
  // memory.limit must stay <= memory.memsw.limit at every step: raise swap first when
  // the new memory+swap is above the current memory limit.
  bool swap_first = false;
  if (limit != 0 && swap != 0) {
    uint64_t current = BERTH_TRY(fs::ReadUint(dir, "memory.limit_in_bytes"));
    swap_first = swap == -1 || current < static_cast<uint64_t>(swap);
  }
  if (swap_first) BERTH_TRY(fs::Write(dir, "memory.memsw.limit_in_bytes", Str(swap)));
  if (limit != 0) BERTH_TRY(SetMemoryLimit(dir, limit));
  if (!swap_first && swap != 0) BERTH_TRY(fs::Write(dir, "memory.memsw.limit_in_bytes", Str(swap)));
  // Kernel memory accounting limits are deprecated (ignored since 6.1, gone on some
  // builds): written where the file exists.
  if (Set(m.kernel) && fs::Exists(dir, "memory.kmem.limit_in_bytes"))
    BERTH_TRY(fs::Write(dir, "memory.kmem.limit_in_bytes", Str(*m.kernel)));
  if (Set(m.kernel_tcp) && fs::Exists(dir, "memory.kmem.tcp.limit_in_bytes"))
    BERTH_TRY(fs::Write(dir, "memory.kmem.tcp.limit_in_bytes", Str(*m.kernel_tcp)));
  if (Set(m.reservation))
    BERTH_TRY(fs::Write(dir, "memory.soft_limit_in_bytes", Str(*m.reservation)));
  if (m.disable_oom_killer)
    BERTH_TRY(fs::Write(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0"));
  if (m.swappiness) {
    // The spec's -1 (as uint64) means "leave the kernel's default".
    if (*m.swappiness != UINT64_MAX) {
      if (*m.swappiness > 100)
        return Fail("memory.swappiness " + Str(*m.swappiness) + ": valid range is 0-100", EINVAL);
      BERTH_TRY(fs::Write(dir, "memory.swappiness", Str(*m.swappiness)));
    }
  }
  if (m.use_hierarchy) {
    auto r = fs::Write(dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0");
    // Since Linux 5.x every memory cgroup is hierarchical and "0" is refused; the
    // request cannot be met, but neither can it change anything: accept it.
    if (!r) {
      auto now = fs::ReadTrimmed(dir, "memory.use_hierarchy");
      if (!(*m.use_hierarchy == false && r.error().code == EINVAL && now && *now == "1")) return r;
    }
  }
  return {};
}

Result<void> SetPids(const std::string& dir, const oci::Pids& pids) {
  if (pids.limit == 0) return {};
  return fs::Write(dir, "pids.max", pids.limit > 0 ? Str(pids.limit) : "max");
}

Result<void> SetBlkio(const std::string& dir, const oci::BlockIo& b) {
  // CFQ's blkio.weight is gone with the legacy block layer; BFQ has blkio.bfq.weight.
  std::string weight_file = "blkio.weight", weight_device_file = "blkio.weight_device";
  if (!fs::Exists(dir, weight_file) && fs::Exists(dir, "blkio.bfq.weight")) {
    weight_file = "blkio.bfq.weight";
    weight_device_file = "blkio.bfq.weight_device";
  }
  if (b.weight && *b.weight != 0) BERTH_TRY(fs::Write(dir, weight_file, Str(uint64_t{*b.weight})));
  if (b.leaf_weight && *b.leaf_weight != 0)
    BERTH_TRY(fs::Write(dir, "blkio.leaf_weight", Str(uint64_t{*b.leaf_weight})));
  for (const auto& wd : b.weight_device) {
    std::string dev = DeviceNumbers(wd.major, wd.minor);
    if (wd.weight && *wd.weight != 0)
      BERTH_TRY(fs::Write(dir, weight_device_file, dev + " " + Str(uint64_t{*wd.weight})));
    if (wd.leaf_weight && *wd.leaf_weight != 0)
      BERTH_TRY(
          fs::Write(dir, "blkio.leaf_weight_device", dev + " " + Str(uint64_t{*wd.leaf_weight})));
  }
  struct {
    const std::vector<oci::ThrottleDevice>* list;
    const char* file;
  } throttles[] = {{&b.throttle_read_bps, "blkio.throttle.read_bps_device"},
                   {&b.throttle_write_bps, "blkio.throttle.write_bps_device"},
                   {&b.throttle_read_iops, "blkio.throttle.read_iops_device"},
                   {&b.throttle_write_iops, "blkio.throttle.write_iops_device"}};
  for (const auto& t : throttles)
    for (const auto& td : *t.list)
      BERTH_TRY(fs::Write(dir, t.file, DeviceNumbers(td.major, td.minor) + " " + Str(td.rate)));
  return {};
}

Result<void> SetNetCls(const std::string& dir, const oci::Network& n) {
  if (n.class_id && *n.class_id != 0)
    BERTH_TRY(fs::Write(dir, "net_cls.classid", Str(uint64_t{*n.class_id})));
  return {};
}

Result<void> SetNetPrio(const std::string& dir, const oci::Network& n) {
  for (const auto& p : n.priorities)
    BERTH_TRY(fs::Write(dir, "net_prio.ifpriomap", p.name + " " + Str(uint64_t{p.priority})));
  return {};
}

Result<void> SetRdma(const std::string& dir, const std::map<std::string, oci::Rdma>& rdma) {
  for (const auto& [device, limits] : rdma) {
    std::string line = device;
    if (limits.hca_handles) line += " hca_handle=" + Str(uint64_t{*limits.hca_handles});
    if (limits.hca_objects) line += " hca_object=" + Str(uint64_t{*limits.hca_objects});
    if (line == device) continue;
    BERTH_TRY(fs::Write(dir, "rdma.max", line));
  }
  return {};
}

Result<void> SetDevices(const std::string& dir, const std::vector<oci::DeviceRule>& rules) {
  for (const auto& r : rules) BERTH_TRY(ValidateDeviceRule(r));
  for (const auto& r : rules)
    BERTH_TRY(fs::Write(dir, r.allow ? "devices.allow" : "devices.deny", V1DeviceRule(r)));
  return {};
}

Result<void> InitCpuset(const std::string& mountpoint, const std::string& dir) {
  if (dir.size() <= mountpoint.size()) return {};
  std::string parent = mountpoint;
  size_t pos = mountpoint.size();
  while (pos < dir.size()) {
    size_t next = dir.find('/', pos + 1);
    std::string cur = dir.substr(0, next);
    pos = next == std::string::npos ? dir.size() : next;
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      std::string value = BERTH_TRY(fs::ReadTrimmed(cur, file));
      if (!value.empty()) continue;
      std::string from_parent = BERTH_TRY(fs::ReadTrimmed(parent, file));
      BERTH_TRY(fs::Write(cur, file, from_parent));
    }
    parent = cur;
  }
  return {};
}

namespace {

Result<void> SetFreezerState(const std::string& dir, std::string_view want) {
  // The state moves on asynchronously (FREEZING while tasks reach the refrigerator), so
  // poll with a short, growing sleep: most freezes finish within tens of microseconds.
  // A freeze can stick in FREEZING while a task sleeps uninterruptibly; thawing and
  // freezing again unsticks it (runc does the same).
  constexpr int64_t kTimeoutUs = 10'000'000, kKickUs = 500'000;
  int64_t start = fs::NowUs(), last_kick = start, step = 10;
  BERTH_TRY(fs::Write(dir, "freezer.state", want));
  for (;;) {
    std::string state = BERTH_TRY(fs::ReadTrimmed(dir, "freezer.state"));
    if (state == want) return {};
    int64_t now = fs::NowUs();
    if (now - start >= kTimeoutUs)
      return Fail("freezer.state of " + dir + " is still " + state + " after " +
                      std::to_string(kTimeoutUs / 1'000'000) + "s (wanted " + std::string(want) +
                      ")",
                  EBUSY);
    if (want == "FROZEN" && now - last_kick >= kKickUs) {
      BERTH_TRY(fs::Write(dir, "freezer.state", "THAWED"));
      BERTH_TRY(fs::Write(dir, "freezer.state", want));
      last_kick = now;
    }
    fs::SleepUs(step);
    step = std::min<int64_t>(step * 2, 10'000);
  }
}

}  // namespace

Result<void> Freeze(const std::string& dir) {
  return SetFreezerState(dir, "FROZEN");
}
Result<void> Thaw(const std::string& dir) {
  return SetFreezerState(dir, "THAWED");
}

Result<bool> IsFrozen(const std::string& dir) {
  std::string state = BERTH_TRY(fs::ReadTrimmed(dir, "freezer.state"));
  return state == "FROZEN";
}

}  // namespace berth::cgroup::v1
