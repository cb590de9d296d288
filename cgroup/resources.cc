#include "cgroup/resources.h"

#include <charconv>
#include <functional>

#include "cgroup/devices.h"
#include "cgroup/fs.h"
#include "cgroup/v1.h"
#include "cgroup/v2.h"
#include "cgroup/v2_devices.h"

namespace berth::cgroup {
namespace {

// hugetlb.<size>.limit_in_bytes (v1) or hugetlb.<size>.max (v2). A size the kernel
// does not offer has no file: say so instead of "No such file or directory".
Result<void> SetHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits,
                        const char* suffix) {
  for (const auto& l : limits) {
    std::string file = "hugetlb." + l.page_size + "." + suffix;
    if (l.page_size.find('/') != std::string::npos || !fs::Exists(dir, file))
      return Fail("write " + std::to_string(l.limit) + " to " + fs::Join(dir, file) +
                      ": the kernel has no huge page size \"" + l.page_size + "\"",
                  EINVAL);
    BERTH_TRY(fs::Write(dir, file, std::to_string(l.limit)));
    // The reservation limit too, where the kernel has it (5.7+), as runc 1.4: without
    // it, a reserved but unfaulted huge page escapes the limit.
    std::string rsvd = "hugetlb." + l.page_size + ".rsvd." + suffix;
    if (fs::Exists(dir, rsvd)) BERTH_TRY(fs::Write(dir, rsvd, std::to_string(l.limit)));
  }
  return {};
}

}  // namespace

namespace {

bool CpuSet(const oci::Resources& r) {
  if (!r.cpu) return false;
  const auto& c = *r.cpu;
  return (c.shares && *c.shares) || (c.quota && *c.quota) || (c.period && *c.period) || c.burst ||
         (c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period) ||
         c.idle;
}
bool CpusetSet(const oci::Resources& r) {
  return r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty());
}
bool MemorySet(const oci::Resources& r) {
  if (!r.memory) return false;
  const auto& m = *r.memory;
  return (m.limit && *m.limit) || (m.reservation && *m.reservation) || (m.swap && *m.swap) ||
         (m.kernel && *m.kernel) || (m.kernel_tcp && *m.kernel_tcp) || m.swappiness ||
         m.disable_oom_killer || m.use_hierarchy;
}
bool PidsSet(const oci::Resources& r) {
  return r.pids && r.pids->limit != 0;
}
bool BlkioSet(const oci::Resources& r) {
  if (!r.block_io) return false;
  const auto& b = *r.block_io;
  return (b.weight && *b.weight) || (b.leaf_weight && *b.leaf_weight) || !b.weight_device.empty() ||
         !b.throttle_read_bps.empty() || !b.throttle_write_bps.empty() ||
         !b.throttle_read_iops.empty() || !b.throttle_write_iops.empty();
}
bool NetClsSet(const oci::Resources& r) {
  return r.network && r.network->class_id && *r.network->class_id;
}
bool NetPrioSet(const oci::Resources& r) {
  return r.network && !r.network->priorities.empty();
}

enum class Where { kV1, kV2, kNowhere };

// One resource group: its predicate, the v1 controller and v2 controller that serve it
// ("" = none; "-" = the v2 directory itself, no controller needed), and the setters.
struct Group {
  const char* name;  // as in config.json: "linux.resources.<name>"
  std::function<bool(const oci::Resources&)> is_set;
  const char* v1;
  const char* v2;
  std::function<Result<void>(const std::string&, const oci::Resources&)> set_v1;
  std::function<Result<void>(const std::string&, const oci::Resources&)> set_v2;
  // The one-value files the setters may write, which Update saves and puts back when a
  // later write fails. Lists (devices, throttles, rdma, ifpriomap) cannot be written back
  // as read, so they are not here.
  std::function<std::vector<std::string>(const oci::Resources&, Where)> files = nullptr;
};

using Files = std::vector<std::string>;

Files HugetlbFiles(const oci::Resources& r, Where where) {
  Files out;
  const char* suffix = where == Where::kV1 ? "limit_in_bytes" : "max";
  for (const auto& l : r.hugepage_limits) {
    out.push_back("hugetlb." + l.page_size + "." + suffix);
    out.push_back("hugetlb." + l.page_size + ".rsvd." + suffix);
  }
  return out;
}

const std::vector<Group>& Groups() {
  // Order matters on v1: cpuset before the others mirrors runc; devices last so that a
  // failure elsewhere never leaves the container with half its device rules.
  static const std::vector<Group> groups = {
      {"cpu (cpus/mems)", CpusetSet, "cpuset", "cpuset",
       [](auto& d, auto& r) { return v1::SetCpuset(d, *r.cpu); },
       [](auto& d, auto& r) { return v2::SetCpuset(d, *r.cpu); },
       [](auto&, Where) {
         return Files{"cpuset.cpus", "cpuset.mems"};
       }},
      {"cpu", CpuSet, "cpu", "cpu", [](auto& d, auto& r) { return v1::SetCpu(d, *r.cpu); },
       [](auto& d, auto& r) { return v2::SetCpu(d, *r.cpu); },
       [](auto&, Where w) {
         return w == Where::kV1
                    ? Files{"cpu.shares",       "cpu.cfs_period_us", "cpu.cfs_quota_us",
                            "cpu.cfs_burst_us", "cpu.rt_period_us",  "cpu.rt_runtime_us",
                            "cpu.idle"}
                    : Files{"cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle"};
       }},
      {"memory", MemorySet, "memory", "memory",
       [](auto& d, auto& r) { return v1::SetMemory(d, *r.memory); },
       [](auto& d, auto& r) { return v2::SetMemory(d, *r.memory); },
       [](auto&, Where w) {
         return w == Where::kV1
                    ? Files{"memory.limit_in_bytes",      "memory.memsw.limit_in_bytes",
                            "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
                            "memory.soft_limit_in_bytes", "memory.swappiness"}
                    : Files{"memory.max", "memory.swap.max", "memory.low"};
       }},
      {"pids", PidsSet, "pids", "pids", [](auto& d, auto& r) { return v1::SetPids(d, *r.pids); },
       [](auto& d, auto& r) { return v2::SetPids(d, *r.pids); },
       [](auto&, Where) { return Files{"pids.max"}; }},
      {"blockIO", BlkioSet, "blkio", "io",
       [](auto& d, auto& r) { return v1::SetBlkio(d, *r.block_io); },
       [](auto& d, auto& r) { return v2::SetIo(d, *r.block_io); },
       [](auto&, Where w) {
         return w == Where::kV1 ? Files{"blkio.weight", "blkio.bfq.weight", "blkio.leaf_weight"}
                                : Files{"io.weight", "io.bfq.weight"};
       }},
      {"hugepageLimits", [](auto& r) { return !r.hugepage_limits.empty(); }, "hugetlb", "hugetlb",
       [](auto& d, auto& r) { return SetHugetlb(d, r.hugepage_limits, "limit_in_bytes"); },
       [](auto& d, auto& r) { return SetHugetlb(d, r.hugepage_limits, "max"); }, HugetlbFiles},
      {"network (classID)", NetClsSet, "net_cls", "",
       [](auto& d, auto& r) { return v1::SetNetCls(d, *r.network); }, nullptr,
       [](auto&, Where) { return Files{"net_cls.classid"}; }},
      {"network (priorities)", NetPrioSet, "net_prio", "",
       [](auto& d, auto& r) { return v1::SetNetPrio(d, *r.network); }, nullptr},
      {"rdma", [](auto& r) { return !r.rdma.empty(); }, "rdma", "rdma",
       [](auto& d, auto& r) { return v1::SetRdma(d, r.rdma); },
       [](auto& d, auto& r) { return v2::SetRdma(d, r.rdma); }},
      {"unified", [](auto& r) { return !r.unified.empty(); }, "", "-", nullptr,
       [](auto& d, auto& r) { return v2::SetUnified(d, r.unified); },
       [](auto& r, Where) {
         Files out;
         for (const auto& [key, value] : r.unified) out.push_back(key);
         return out;
       }},
      {"devices", [](auto& r) { return !r.devices.empty(); }, "devices", "-",
       [](auto& d, auto& r) { return v1::SetDevices(d, r.devices); },
       [](auto& d, auto& r) { return v2::SetDevices(d, r.devices); }},
  };
  return groups;
}

Where Route(const Paths& paths, const Group& g) {
  if (paths.mode != Mode::kUnified && *g.v1 && paths.v1.contains(g.v1)) return Where::kV1;
  if (paths.mode != Mode::kLegacy && !paths.unified.empty() && *g.v2) return Where::kV2;
  return Where::kNowhere;
}

struct SavedFile {
  std::string dir, file, value;
};

// The current content of every one-value file that applying `r` may write.
std::vector<SavedFile> SaveFiles(const Paths& paths, const oci::Resources& r) {
  std::vector<SavedFile> saved;
  for (const auto& g : Groups()) {
    if (!g.files || !g.is_set(r)) continue;
    Where where = Route(paths, g);
    if (where == Where::kNowhere) continue;
    const std::string& dir = where == Where::kV1 ? paths.v1.at(g.v1) : paths.unified;
    for (const auto& file : g.files(r, where)) {
      // A file the kernel does not have is skipped by the setter, or fails before any write.
      auto value = fs::ReadTrimmed(dir, file);
      if (value) saved.push_back({dir, file, std::move(*value)});
    }
  }
  return saved;
}

// Writes back each saved file whose content changed. The kernel checks some files
// against others (memory.limit_in_bytes <= memory.memsw.limit_in_bytes, a quota against
// the parent's per period), so a value refused in the first pass gets a second one after
// its partner is back.
Result<void> RestoreFiles(const std::vector<SavedFile>& saved) {
  std::vector<const SavedFile*> pending;
  for (const auto& s : saved) {
    auto now = fs::ReadTrimmed(s.dir, s.file);
    if (!now || *now != s.value) pending.push_back(&s);
  }
  Result<void> last;
  for (int pass = 0; pass < 2 && !pending.empty(); ++pass) {
    std::vector<const SavedFile*> refused;
    for (const auto* s : pending) {
      auto r = fs::Write(s->dir, s->file, s->value);
      if (!r) {
        refused.push_back(s);
        last = std::move(r);
      }
    }
    pending = std::move(refused);
  }
  return pending.empty() ? Result<void>{} : last;
}

}  // namespace

std::set<std::string> V2ControllersFor(const Paths& paths, const oci::Resources* resources,
                                       const std::set<std::string>& available, bool all) {
  if (all) return available;
  std::set<std::string> out;
  if (paths.mode == Mode::kLegacy || !resources) return out;
  const oci::Resources& r = *resources;
  for (const auto& g : Groups()) {
    if (!g.is_set(r) || Route(paths, g) != Where::kV2) continue;
    std::string c = g.v2;
    if (c != "-" && available.contains(c)) out.insert(c);
  }
  // Keys of `unified` name their controller.
  for (const auto& [key, value] : r.unified) {
    std::string c = key.substr(0, key.find('.'));
    if (available.contains(c)) out.insert(c);
  }
  return out;
}

Result<void> ValidateResources(Mode mode, const oci::Resources& r) {
  for (const auto& d : r.devices) BERTH_TRY(ValidateDeviceRule(d));
  if (mode == Mode::kLegacy && !r.unified.empty())
    return Fail("linux.resources.unified: needs cgroup v2, and this host has only cgroup v1",
                EINVAL);
  if (mode == Mode::kUnified && r.memory)
    BERTH_TRY(v2::SwapToV2(r.memory->swap.value_or(0), r.memory->limit.value_or(0)));
  return {};
}

Result<void> ApplyResources(const Paths& paths, const oci::Resources& r) {
  std::set<std::string> v2_available;
  bool v2_read = false;
  for (const auto& g : Groups()) {
    if (!g.is_set(r)) continue;
    std::string what = std::string("linux.resources.") + g.name;
    switch (Route(paths, g)) {
      case Where::kV1:
        BERTH_TRY(g.set_v1(paths.v1.at(g.v1), r));
        break;
      case Where::kV2: {
        if (std::string(g.v2) != "-") {
          if (!v2_read) {
            v2_available = BERTH_TRY(v2::Controllers(paths.unified));
            v2_read = true;
          }
          if (!v2_available.contains(g.v2))
            return Fail(what + ": the " + g.v2 + " controller is not available in " +
                            paths.unified +
                            (paths.mode == Mode::kHybrid ? " (and not mounted as cgroup v1)" : ""),
                        ENOTSUP);
        }
        BERTH_TRY(g.set_v2(paths.unified, r));
        break;
      }
      case Where::kNowhere:
        if (!*g.v1)
          return Fail(what + ": needs cgroup v2, and this host has only cgroup v1", EINVAL);
        return Fail(what + ": the " + g.v1 + " cgroup controller is not mounted" +
                        (*g.v2 ? "" : " (cgroup v2 has no equivalent)"),
                    ENOTSUP);
    }
  }
  return {};
}

void KeepCurrentCpuBandwidth(const Paths& paths, oci::Cpu& cpu) {
  bool quota_set = cpu.quota && *cpu.quota != 0, period_set = cpu.period && *cpu.period != 0;
  if (quota_set == period_set) return;
  std::string quota, period;
  if (paths.mode != Mode::kUnified && paths.v1.contains("cpu")) {
    const std::string& dir = paths.v1.at("cpu");
    quota = fs::ReadTrimmed(dir, "cpu.cfs_quota_us").value_or("");
    period = fs::ReadTrimmed(dir, "cpu.cfs_period_us").value_or("");
  } else if (paths.mode != Mode::kLegacy && !paths.unified.empty()) {
    auto f = fs::Fields(fs::ReadTrimmed(paths.unified, "cpu.max").value_or(""));
    if (f.size() == 2) {
      quota = f[0] == "max" ? "-1" : f[0];
      period = f[1];
    }
  }
  if (!quota_set) {
    int64_t q = 0;
    if (std::from_chars(quota.data(), quota.data() + quota.size(), q).ec == std::errc())
      cpu.quota = q;
  } else {
    uint64_t p = 0;
    if (std::from_chars(period.data(), period.data() + period.size(), p).ec == std::errc())
      cpu.period = p;
  }
}

Result<void> UpdateResources(const Paths& paths, const oci::Resources& r) {
  std::vector<SavedFile> saved = SaveFiles(paths, r);
  auto applied = ApplyResources(paths, r);
  if (applied) return {};
  if (auto restored = RestoreFiles(saved); !restored)
    applied.error().message +=
        " (and putting back the previous value failed: " + restored.error().message + ")";
  return applied;
}

}  // namespace berth::cgroup
