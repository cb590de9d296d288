#include "cgroup/stats.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "cgroup/fs.h"

namespace berth::cgroup {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Optional files (swap accounting, kmem, peak) read as 0 when absent.
uint64_t UintOr0(const std::string& dir, const std::string& file) {
  auto v = fs::ReadUint(dir, file);
  return v ? *v : 0;
}

std::map<std::string, uint64_t> KeyValuesOrEmpty(const std::string& dir, const std::string& file) {
  auto v = fs::ReadKeyValues(dir, file);
  return v ? *v : std::map<std::string, uint64_t>{};
}

std::vector<uint64_t> Numbers(std::string_view text) {
  std::vector<uint64_t> out;
  for (const auto& f : fs::Fields(text))
    if (auto v = fs::ParseUint(f)) out.push_back(*v);
  return out;
}

bool ParseDevice(std::string_view s, uint64_t& major, uint64_t& minor) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  auto a = fs::ParseUint(s.substr(0, colon));
  auto b = fs::ParseUint(s.substr(colon + 1));
  if (!a || !b) return false;
  major = *a;
  minor = *b;
  return true;
}

// The v1 directory of `controller`, or "" when the container has none there.
std::string V1Dir(const Paths& p, const std::string& controller) {
  if (p.mode == Mode::kUnified) return "";
  auto it = p.v1.find(controller);
  return it == p.v1.end() ? "" : it->second;
}

std::string V2Dir(const Paths& p) {
  return p.mode == Mode::kLegacy ? "" : p.unified;
}

Result<void> CpuV1(const std::string& acct, const std::string& cpu, CpuStats& s) {
  if (!acct.empty()) {
    s.total = BERTH_TRY(fs::ReadUint(acct, "cpuacct.usage"));
    if (auto t = fs::Read(acct, "cpuacct.usage_percpu")) s.per_cpu = Numbers(*t);
    // cpuacct.stat counts USER_HZ ticks.
    auto ticks = fs::ReadKeyValues(acct, "cpuacct.stat");
    long hz = ::sysconf(_SC_CLK_TCK);
    if (ticks && hz > 0) {
      s.user = (*ticks)["user"] * (1000000000ULL / static_cast<uint64_t>(hz));
      s.kernel = (*ticks)["system"] * (1000000000ULL / static_cast<uint64_t>(hz));
    }
    // "cpu user system" per line, after a header.
    if (auto all = fs::Read(acct, "cpuacct.usage_all")) {
      std::string_view text = *all;
      bool header = true;
      while (!text.empty()) {
        size_t nl = text.find('\n');
        auto line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (header) {
          header = false;
          continue;
        }
        auto n = Numbers(line);
        if (n.size() != 3) continue;
        s.per_cpu_user.push_back(n[1]);
        s.per_cpu_kernel.push_back(n[2]);
      }
    }
  }
  if (!cpu.empty()) {
    s.stat = KeyValuesOrEmpty(cpu, "cpu.stat");
    s.periods = s.stat["nr_periods"];
    s.throttled_periods = s.stat["nr_throttled"];
    s.throttled_time = s.stat["throttled_time"];
  }
  return {};
}

Result<void> CpuV2(const std::string& dir, CpuStats& s) {
  s.stat = BERTH_TRY(fs::ReadKeyValues(dir, "cpu.stat"));
  s.total = s.stat["usage_usec"] * 1000;
  s.user = s.stat["user_usec"] * 1000;
  s.kernel = s.stat["system_usec"] * 1000;
  s.periods = s.stat["nr_periods"];
  s.throttled_periods = s.stat["nr_throttled"];
  s.throttled_time = s.stat["throttled_usec"] * 1000;
  return {};
}

MemoryEntry MemoryEntryV1(const std::string& dir, const std::string& prefix) {
  MemoryEntry e;
  e.usage = UintOr0(dir, prefix + ".usage_in_bytes");
  e.max_usage = UintOr0(dir, prefix + ".max_usage_in_bytes");
  e.failcnt = UintOr0(dir, prefix + ".failcnt");
  e.limit = UintOr0(dir, prefix + ".limit_in_bytes");
  return e;
}

Result<void> MemoryV1(const std::string& dir, MemoryStats& s) {
  s.stat = BERTH_TRY(fs::ReadKeyValues(dir, "memory.stat"));
  s.cache = s.stat["cache"];
  s.usage = MemoryEntryV1(dir, "memory");
  s.swap = MemoryEntryV1(dir, "memory.memsw");
  s.kernel = MemoryEntryV1(dir, "memory.kmem");
  s.kernel_tcp = MemoryEntryV1(dir, "memory.kmem.tcp");
  s.use_hierarchy = UintOr0(dir, "memory.use_hierarchy") == 1;
  auto oom = KeyValuesOrEmpty(dir, "memory.oom_control");
  s.oom_kill_disable = oom["oom_kill_disable"];
  s.under_oom = oom["under_oom"];
  s.oom_kill = oom["oom_kill"];
  return {};
}

Result<void> MemoryV2(const std::string& dir, MemoryStats& s) {
  s.stat = BERTH_TRY(fs::ReadKeyValues(dir, "memory.stat"));
  s.cache = s.stat["file"];
  s.use_hierarchy = true;
  s.usage.usage = BERTH_TRY(fs::ReadUint(dir, "memory.current"));
  s.usage.limit = UintOr0(dir, "memory.max");
  s.usage.max_usage = UintOr0(dir, "memory.peak");
  s.events = KeyValuesOrEmpty(dir, "memory.events");
  s.usage.failcnt = s.events["max"];
  s.oom_kill = s.events["oom_kill"];
  if (fs::Exists(dir, "memory.swap.current")) {
    s.swap_only.usage = UintOr0(dir, "memory.swap.current");
    s.swap_only.limit = UintOr0(dir, "memory.swap.max");
    s.swap_only.max_usage = UintOr0(dir, "memory.swap.peak");
    s.swap_only.failcnt = KeyValuesOrEmpty(dir, "memory.swap.events")["max"];
  }
  // runc reports v2 swap as memory+swap, comparable with v1.
  s.swap = s.swap_only;
  s.swap.usage += s.usage.usage;
  if (s.swap.limit != kMax && s.usage.limit != kMax) s.swap.limit += s.usage.limit;
  return {};
}

void Pids(const std::string& dir, bool v2, PidsStats& s) {
  if (fs::Exists(dir, "pids.current")) {
    s.current = UintOr0(dir, "pids.current");
    uint64_t limit = UintOr0(dir, "pids.max");
    s.limit = limit == kMax ? 0 : limit;
  } else if (v2) {
    if (auto pids = fs::ReadProcs(dir, true)) s.current = pids->size();
  }
}

std::vector<BlkioEntry> BlkioFile(const std::string& dir, const std::string& file) {
  std::vector<BlkioEntry> out;
  auto text = fs::Read(dir, file);
  if (!text) return out;
  std::string_view t = *text;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    auto f = fs::Fields(t.substr(0, nl));
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    BlkioEntry e;
    if (f.empty() || !ParseDevice(f[0], e.major, e.minor)) continue;  // "Total N"
    if (f.size() == 3) {
      e.op = f[1];
      if (auto v = fs::ParseUint(f[2])) e.value = *v;
    } else if (f.size() == 2) {
      if (auto v = fs::ParseUint(f[1])) e.value = *v;
    } else {
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

void BlkioV1(const std::string& dir, BlkioStats& s) {
  // CFQ's files if the kernel has them, else BFQ's, else the throttling layer's.
  std::string prefix;
  if (fs::Exists(dir, "blkio.io_serviced_recursive"))
    prefix = "blkio.";
  else if (fs::Exists(dir, "blkio.bfq.io_serviced_recursive"))
    prefix = "blkio.bfq.";
  if (prefix.empty()) {
    s.io_service_bytes_recursive = BlkioFile(dir, "blkio.throttle.io_service_bytes_recursive");
    s.io_serviced_recursive = BlkioFile(dir, "blkio.throttle.io_serviced_recursive");
    return;
  }
  s.sectors_recursive = BlkioFile(dir, prefix + "sectors_recursive");
  s.io_service_bytes_recursive = BlkioFile(dir, prefix + "io_service_bytes_recursive");
  s.io_serviced_recursive = BlkioFile(dir, prefix + "io_serviced_recursive");
  s.io_queued_recursive = BlkioFile(dir, prefix + "io_queued_recursive");
  s.io_service_time_recursive = BlkioFile(dir, prefix + "io_service_time_recursive");
  s.io_wait_time_recursive = BlkioFile(dir, prefix + "io_wait_time_recursive");
  s.io_merged_recursive = BlkioFile(dir, prefix + "io_merged_recursive");
  s.io_time_recursive = BlkioFile(dir, prefix + "time_recursive");
}

void IoV2(const std::string& dir, Stats& s) {
  auto text = fs::Read(dir, "io.stat");
  if (!text) return;
  std::string_view t = *text;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    auto f = fs::Fields(t.substr(0, nl));
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    IoEntry e;
    if (f.empty() || !ParseDevice(f[0], e.major, e.minor)) continue;
    for (size_t i = 1; i < f.size(); ++i) {
      auto eq = f[i].find('=');
      if (eq == std::string::npos) continue;
      auto v = fs::ParseUint(std::string_view(f[i]).substr(eq + 1));
      if (!v) continue;
      std::string key = f[i].substr(0, eq);
      if (key == "rbytes") e.rbytes = *v;
      if (key == "wbytes") e.wbytes = *v;
      if (key == "rios") e.rios = *v;
      if (key == "wios") e.wios = *v;
      if (key == "dbytes") e.dbytes = *v;
      if (key == "dios") e.dios = *v;
    }
    s.io.push_back(e);
    // The v1-shaped view runc gives of io.stat.
    s.blkio.io_service_bytes_recursive.push_back({e.major, e.minor, "Read", e.rbytes});
    s.blkio.io_service_bytes_recursive.push_back({e.major, e.minor, "Write", e.wbytes});
    s.blkio.io_serviced_recursive.push_back({e.major, e.minor, "Read", e.rios});
    s.blkio.io_serviced_recursive.push_back({e.major, e.minor, "Write", e.wios});
  }
}

void Hugetlb(const std::string& dir, bool v2, std::map<std::string, HugetlbStats>& out) {
  for (const auto& size : HugePageSizes()) {
    std::string p = "hugetlb." + size + ".";
    HugetlbStats h;
    if (v2) {
      if (!fs::Exists(dir, p + "current")) continue;
      h.usage = UintOr0(dir, p + "current");
      h.limit = UintOr0(dir, p + "max");
      h.failcnt = KeyValuesOrEmpty(dir, p + "events")["max"];
    } else {
      if (!fs::Exists(dir, p + "usage_in_bytes")) continue;
      h.usage = UintOr0(dir, p + "usage_in_bytes");
      h.max_usage = UintOr0(dir, p + "max_usage_in_bytes");
      h.failcnt = UintOr0(dir, p + "failcnt");
      h.limit = UintOr0(dir, p + "limit_in_bytes");
    }
    out[size] = h;
  }
}

void Cpuset(const std::string& dir, bool v2, CpusetStats& s) {
  auto read = [&](const char* file) {
    auto v = fs::ReadTrimmed(dir, file);
    return v ? *v : std::string();
  };
  if (v2) {
    s.cpus = ParseCpuList(read("cpuset.cpus.effective"));
    s.mems = ParseCpuList(read("cpuset.mems.effective"));
    return;
  }
  s.cpus = ParseCpuList(read("cpuset.cpus"));
  s.mems = ParseCpuList(read("cpuset.mems"));
  s.cpu_exclusive = UintOr0(dir, "cpuset.cpu_exclusive");
  s.mem_hardwall = UintOr0(dir, "cpuset.mem_hardwall");
  s.mem_exclusive = UintOr0(dir, "cpuset.mem_exclusive");
  s.memory_migrate = UintOr0(dir, "cpuset.memory_migrate");
  s.memory_spread_page = UintOr0(dir, "cpuset.memory_spread_page");
  s.memory_spread_slab = UintOr0(dir, "cpuset.memory_spread_slab");
  s.memory_pressure = UintOr0(dir, "cpuset.memory_pressure");
  s.sched_load_balance = UintOr0(dir, "cpuset.sched_load_balance");
  if (auto v = fs::ReadInt(dir, "cpuset.sched_relax_domain_level")) s.sched_relax_domain_level = *v;
}

std::vector<RdmaEntry> Rdma(const std::string& dir, const std::string& file) {
  std::vector<RdmaEntry> out;
  auto text = fs::Read(dir, file);
  if (!text) return out;
  std::string_view t = *text;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    auto f = fs::Fields(t.substr(0, nl));
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    if (f.empty()) continue;
    RdmaEntry e;
    e.device = f[0];
    for (size_t i = 1; i < f.size(); ++i) {
      auto eq = f[i].find('=');
      if (eq == std::string::npos) continue;
      auto v = fs::ParseUint(std::string_view(f[i]).substr(eq + 1));
      if (!v) continue;
      if (f[i].starts_with("hca_handle=")) e.hca_handles = *v;
      if (f[i].starts_with("hca_object=")) e.hca_objects = *v;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::string HugePageSizeName(uint64_t kib) {
  static constexpr const char* kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
  int unit = 0;
  while (kib >= 1024 && kib % 1024 == 0 && unit < 4) {
    kib /= 1024;
    ++unit;
  }
  return std::to_string(kib) + kUnits[unit];
}

std::vector<std::string> HugePageSizes() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/kernel/mm/hugepages");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.starts_with("hugepages-") || !name.ends_with("kB")) continue;
    name.remove_prefix(10);
    name.remove_suffix(2);
    uint64_t kib = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), kib);
    if (ec == std::errc() && end == name.data() + name.size()) out.push_back(HugePageSizeName(kib));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint16_t> ParseCpuList(const std::string& list) {
  std::vector<uint16_t> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    std::string part =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? list.size() : comma + 1;
    part = std::string(fs::Trim(part));
    if (part.empty()) continue;
    auto dash = part.find('-');
    auto lo = fs::ParseUint(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : fs::ParseUint(part.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi > 65535) break;
    for (uint64_t i = *lo; i <= *hi; ++i) out.push_back(static_cast<uint16_t>(i));
  }
  return out;
}

Result<Stats> ReadStats(const Paths& paths) {
  Stats s;
  std::string v2 = V2Dir(paths);
  std::string acct = V1Dir(paths, "cpuacct"), cpu = V1Dir(paths, "cpu");
  if (!acct.empty() || !cpu.empty())
    BERTH_TRY(CpuV1(acct, cpu, s.cpu));
  else if (!v2.empty())
    BERTH_TRY(CpuV2(v2, s.cpu));

  if (auto d = V1Dir(paths, "memory"); !d.empty()) {
    BERTH_TRY(MemoryV1(d, s.memory));
  } else if (!v2.empty() && fs::Exists(v2, "memory.current")) {
    BERTH_TRY(MemoryV2(v2, s.memory));
    s.from_v2 = true;
  }

  if (auto d = V1Dir(paths, "pids"); !d.empty())
    Pids(d, false, s.pids);
  else if (!v2.empty())
    Pids(v2, true, s.pids);

  if (auto d = V1Dir(paths, "blkio"); !d.empty())
    BlkioV1(d, s.blkio);
  else if (!v2.empty())
    IoV2(v2, s);

  if (auto d = V1Dir(paths, "hugetlb"); !d.empty())
    Hugetlb(d, false, s.hugetlb);
  else if (!v2.empty())
    Hugetlb(v2, true, s.hugetlb);

  if (auto d = V1Dir(paths, "cpuset"); !d.empty())
    Cpuset(d, false, s.cpuset);
  else if (!v2.empty())
    Cpuset(v2, true, s.cpuset);

  std::string rdma = V1Dir(paths, "rdma");
  if (rdma.empty()) rdma = v2;
  if (!rdma.empty()) {
    s.rdma_current = Rdma(rdma, "rdma.current");
    s.rdma_limit = Rdma(rdma, "rdma.max");
  }
  if (paths.mode == Mode::kUnified) s.from_v2 = true;
  return s;
}

}  // namespace berth::cgroup
