// A container's resource usage, read from its cgroups. The shape covers runc's
// `events --stats` (libcontainer/cgroups.Stats) and what containerd's
// io.containerd.cgroups.v1.Metrics and v2.Metrics carry, so the shim can fill either.
// Times are nanoseconds unless a name says otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"

namespace berth::cgroup {

struct CpuStats {
  uint64_t total = 0;   // cpuacct.usage / cpu.stat usage_usec * 1000
  uint64_t user = 0;    // cpuacct.stat user / cpu.stat user_usec, in ns
  uint64_t kernel = 0;  // cpuacct.stat system / cpu.stat system_usec, in ns
  std::vector<uint64_t> per_cpu, per_cpu_user, per_cpu_kernel;  // v1 cpuacct only
  uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;
  std::map<std::string, uint64_t> stat;  // cpu.stat as the kernel prints it
};

struct MemoryEntry {
  uint64_t usage = 0, max_usage = 0, failcnt = 0, limit = 0;
};

struct MemoryStats {
  uint64_t cache = 0;  // memory.stat "cache" (v1) / "file" (v2)
  MemoryEntry usage;
  // Memory+swap, as v1 reports it; on v2 memory.swap.current + memory.current (runc).
  MemoryEntry swap;
  MemoryEntry swap_only;                 // v2: memory.swap.current / memory.swap.max
  MemoryEntry kernel, kernel_tcp;        // v1 only
  std::map<std::string, uint64_t> stat;  // memory.stat
  bool use_hierarchy = false;
  // v1 memory.oom_control; on v2 from memory.events (under_oom stays 0).
  uint64_t oom_kill_disable = 0, under_oom = 0, oom_kill = 0;
  std::map<std::string, uint64_t> events;  // v2 memory.events: low high max oom oom_kill
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = 0;  // 0 = no limit ("max"), as runc reports it
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // "Read", "Write", "Sync", "Async", "Discard", "Total", or "" (sectors)
  uint64_t value = 0;
};

struct BlkioStats {
  std::vector<BlkioEntry> io_service_bytes_recursive, io_serviced_recursive, io_queued_recursive,
      io_service_time_recursive, io_wait_time_recursive, io_merged_recursive, io_time_recursive,
      sectors_recursive;
};

// v2 io.stat, one line per device.
struct IoEntry {
  uint64_t major = 0, minor = 0;
  uint64_t rbytes = 0, wbytes = 0, rios = 0, wios = 0, dbytes = 0, dios = 0;
};

struct HugetlbStats {
  uint64_t usage = 0, max_usage = 0, failcnt = 0, limit = 0;
};

struct CpusetStats {
  std::vector<uint16_t> cpus, mems;
  uint64_t cpu_exclusive = 0, mem_hardwall = 0, mem_exclusive = 0, memory_migrate = 0,
           memory_spread_page = 0, memory_spread_slab = 0, memory_pressure = 0,
           sched_load_balance = 0;
  int64_t sched_relax_domain_level = 0;
};

struct RdmaEntry {
  std::string device;
  uint64_t hca_handles = 0, hca_objects = 0;  // UINT64_MAX for "max"
};

struct Stats {
  CpuStats cpu;
  MemoryStats memory;
  PidsStats pids;
  BlkioStats blkio;
  std::vector<IoEntry> io;                      // v2 only
  std::map<std::string, HugetlbStats> hugetlb;  // page size ("2MB") -> usage
  CpusetStats cpuset;
  std::vector<RdmaEntry> rdma_current, rdma_limit;
  bool from_v2 = false;  // memory/cpu came from the unified hierarchy
};

// Reads every statistic the container's controllers offer. A controller the host does
// not have leaves its part zero; a read error of a file that should be there is an error.
Result<Stats> ReadStats(const Paths& paths);

// One line of `runc events --stats`: {"type":"stats","id":ID,"data":{...}} in runc's
// field names and order (runc/types/events.go), without the trailing newline.
std::string RuncStatsEventJson(const std::string& id, const Stats& stats);

// "1GB", "2MB", "64KB" for each size in /sys/kernel/mm/hugepages, as the cgroup file
// names spell them.
std::vector<std::string> HugePageSizes();
// "hugepages-2048kB" -> "2MB".
std::string HugePageSizeName(uint64_t kib);
// "0-3,7" -> {0,1,2,3,7}; an invalid list gives what parsed before the error.
std::vector<uint16_t> ParseCpuList(const std::string& list);

}  // namespace berth::cgroup
