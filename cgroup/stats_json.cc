// runc's `events --stats` JSON. runc encodes runc/types.Stats with Go's encoding/json:
// fields in declaration order, `omitempty` dropping zero numbers, empty slices and
// empty maps (but never a struct), and a nil slice without omitempty as null.
#include <nlohmann/json.hpp>

#include "cgroup/stats.h"

namespace berth::cgroup {
namespace {

using Json = nlohmann::ordered_json;

void PutIfNonZero(Json& j, const char* key, uint64_t v) {
  if (v != 0) j[key] = v;
}

template <class T>
void PutIfNonEmpty(Json& j, const char* key, const std::vector<T>& v) {
  if (!v.empty()) j[key] = v;
}

Json MemoryEntryJson(const MemoryEntry& e) {
  Json j = Json::object();
  j["limit"] = e.limit;
  PutIfNonZero(j, "usage", e.usage);
  PutIfNonZero(j, "max", e.max_usage);
  j["failcnt"] = e.failcnt;
  return j;
}

void PutBlkio(Json& j, const char* key, const std::vector<BlkioEntry>& entries) {
  if (entries.empty()) return;
  Json list = Json::array();
  for (const auto& e : entries) {
    Json o = Json::object();
    PutIfNonZero(o, "major", e.major);
    PutIfNonZero(o, "minor", e.minor);
    if (!e.op.empty()) o["op"] = e.op;
    PutIfNonZero(o, "value", e.value);
    list.push_back(std::move(o));
  }
  j[key] = std::move(list);
}

}  // namespace

std::string RuncStatsEventJson(const std::string& id, const Stats& s) {
  Json cpu = Json::object();
  {
    Json usage = Json::object();
    PutIfNonZero(usage, "total", s.cpu.total);
    PutIfNonEmpty(usage, "percpu", s.cpu.per_cpu);
    PutIfNonEmpty(usage, "percpu_kernel", s.cpu.per_cpu_kernel);
    PutIfNonEmpty(usage, "percpu_user", s.cpu.per_cpu_user);
    usage["kernel"] = s.cpu.kernel;
    usage["user"] = s.cpu.user;
    Json throttling = Json::object();
    PutIfNonZero(throttling, "periods", s.cpu.periods);
    PutIfNonZero(throttling, "throttledPeriods", s.cpu.throttled_periods);
    PutIfNonZero(throttling, "throttledTime", s.cpu.throttled_time);
    cpu["usage"] = std::move(usage);
    cpu["throttling"] = std::move(throttling);
  }

  Json cpuset = Json::object();
  PutIfNonEmpty(cpuset, "cpus", s.cpuset.cpus);
  cpuset["cpu_exclusive"] = s.cpuset.cpu_exclusive;
  PutIfNonEmpty(cpuset, "mems", s.cpuset.mems);
  cpuset["mem_hardwall"] = s.cpuset.mem_hardwall;
  cpuset["mem_exclusive"] = s.cpuset.mem_exclusive;
  cpuset["memory_migrate"] = s.cpuset.memory_migrate;
  cpuset["memory_spread_page"] = s.cpuset.memory_spread_page;
  cpuset["memory_spread_slab"] = s.cpuset.memory_spread_slab;
  cpuset["memory_pressure"] = s.cpuset.memory_pressure;
  cpuset["sched_load_balance"] = s.cpuset.sched_load_balance;
  cpuset["sched_relax_domain_level"] = s.cpuset.sched_relax_domain_level;

  Json memory = Json::object();
  PutIfNonZero(memory, "cache", s.memory.cache);
  memory["usage"] = MemoryEntryJson(s.memory.usage);
  memory["swap"] = MemoryEntryJson(s.memory.swap);
  memory["kernel"] = MemoryEntryJson(s.memory.kernel);
  memory["kernelTCP"] = MemoryEntryJson(s.memory.kernel_tcp);
  if (!s.memory.stat.empty()) {
    Json raw = Json::object();
    // Go writes map keys sorted; std::map iterates sorted.
    for (const auto& [k, v] : s.memory.stat) raw[k] = v;
    memory["raw"] = std::move(raw);
  }

  Json pids = Json::object();
  PutIfNonZero(pids, "current", s.pids.current);
  PutIfNonZero(pids, "limit", s.pids.limit);

  Json blkio = Json::object();
  PutBlkio(blkio, "ioServiceBytesRecursive", s.blkio.io_service_bytes_recursive);
  PutBlkio(blkio, "ioServicedRecursive", s.blkio.io_serviced_recursive);
  PutBlkio(blkio, "ioQueueRecursive", s.blkio.io_queued_recursive);
  PutBlkio(blkio, "ioServiceTimeRecursive", s.blkio.io_service_time_recursive);
  PutBlkio(blkio, "ioWaitTimeRecursive", s.blkio.io_wait_time_recursive);
  PutBlkio(blkio, "ioMergedRecursive", s.blkio.io_merged_recursive);
  PutBlkio(blkio, "ioTimeRecursive", s.blkio.io_time_recursive);
  PutBlkio(blkio, "sectorsRecursive", s.blkio.sectors_recursive);

  Json hugetlb = Json::object();
  for (const auto& [size, h] : s.hugetlb) {
    Json o = Json::object();
    PutIfNonZero(o, "usage", h.usage);
    PutIfNonZero(o, "max", h.max_usage);
    o["failcnt"] = h.failcnt;
    hugetlb[size] = std::move(o);
  }

  Json data = Json::object();
  data["cpu"] = std::move(cpu);
  data["cpuset"] = std::move(cpuset);
  data["memory"] = std::move(memory);
  data["pids"] = std::move(pids);
  data["blkio"] = std::move(blkio);
  data["hugetlb"] = std::move(hugetlb);
  data["intel_rdt"] = Json::object();
  data["network_interfaces"] = nullptr;

  Json event = Json::object();
  event["type"] = "stats";
  event["id"] = id;
  event["data"] = std::move(data);
  return event.dump();
}

}  // namespace berth::cgroup
