#include "shim/metrics.h"

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"

namespace berth::shim {
namespace {

namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

uint64_t Stat(const std::map<std::string, uint64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

void FillEntry(v1::MemoryEntry* out, const cgroup::MemoryEntry& in) {
  out->set_limit(in.limit);
  out->set_usage(in.usage);
  out->set_max(in.max_usage);
  out->set_failcnt(in.failcnt);
}

void FillBlkio(google::protobuf::RepeatedPtrField<v1::BlkIOEntry>* out,
               const std::vector<cgroup::BlkioEntry>& in) {
  for (const auto& e : in) {
    auto* o = out->Add();
    o->set_op(e.op);
    o->set_major(e.major);
    o->set_minor(e.minor);
    o->set_value(e.value);
  }
}

v1::Metrics V1(const cgroup::Stats& s) {
  v1::Metrics m;
  for (const auto& [size, h] : s.hugetlb) {
    auto* o = m.add_hugetlb();
    o->set_usage(h.usage);
    o->set_max(h.max_usage);
    o->set_failcnt(h.failcnt);
    o->set_pagesize(size);
  }
  m.mutable_pids()->set_current(s.pids.current);
  m.mutable_pids()->set_limit(s.pids.limit);
  auto* usage = m.mutable_cpu()->mutable_usage();
  usage->set_total(s.cpu.total);
  usage->set_kernel(s.cpu.kernel);
  usage->set_user(s.cpu.user);
  for (uint64_t v : s.cpu.per_cpu) usage->add_per_cpu(v);
  auto* thr = m.mutable_cpu()->mutable_throttling();
  thr->set_periods(s.cpu.periods);
  thr->set_throttled_periods(s.cpu.throttled_periods);
  thr->set_throttled_time(s.cpu.throttled_time);

  const auto& st = s.memory.stat;
  auto* mem = m.mutable_memory();
  mem->set_cache(Stat(st, "cache"));
  mem->set_rss(Stat(st, "rss"));
  mem->set_rss_huge(Stat(st, "rss_huge"));
  mem->set_mapped_file(Stat(st, "mapped_file"));
  mem->set_dirty(Stat(st, "dirty"));
  mem->set_writeback(Stat(st, "writeback"));
  mem->set_pg_pg_in(Stat(st, "pgpgin"));
  mem->set_pg_pg_out(Stat(st, "pgpgout"));
  mem->set_pg_fault(Stat(st, "pgfault"));
  mem->set_pg_maj_fault(Stat(st, "pgmajfault"));
  mem->set_inactive_anon(Stat(st, "inactive_anon"));
  mem->set_active_anon(Stat(st, "active_anon"));
  mem->set_inactive_file(Stat(st, "inactive_file"));
  mem->set_active_file(Stat(st, "active_file"));
  mem->set_unevictable(Stat(st, "unevictable"));
  mem->set_hierarchical_memory_limit(Stat(st, "hierarchical_memory_limit"));
  mem->set_hierarchical_swap_limit(Stat(st, "hierarchical_memsw_limit"));
  mem->set_total_cache(Stat(st, "total_cache"));
  mem->set_total_rss(Stat(st, "total_rss"));
  mem->set_total_rss_huge(Stat(st, "total_rss_huge"));
  mem->set_total_mapped_file(Stat(st, "total_mapped_file"));
  mem->set_total_dirty(Stat(st, "total_dirty"));
  mem->set_total_writeback(Stat(st, "total_writeback"));
  mem->set_total_pg_pg_in(Stat(st, "total_pgpgin"));
  mem->set_total_pg_pg_out(Stat(st, "total_pgpgout"));
  mem->set_total_pg_fault(Stat(st, "total_pgfault"));
  mem->set_total_pg_maj_fault(Stat(st, "total_pgmajfault"));
  mem->set_total_inactive_anon(Stat(st, "total_inactive_anon"));
  mem->set_total_active_anon(Stat(st, "total_active_anon"));
  mem->set_total_inactive_file(Stat(st, "total_inactive_file"));
  mem->set_total_active_file(Stat(st, "total_active_file"));
  mem->set_total_unevictable(Stat(st, "total_unevictable"));
  FillEntry(mem->mutable_usage(), s.memory.usage);
  FillEntry(mem->mutable_swap(), s.memory.swap);
  FillEntry(mem->mutable_kernel(), s.memory.kernel);
  FillEntry(mem->mutable_kernel_tcp(), s.memory.kernel_tcp);

  auto* blk = m.mutable_blkio();
  FillBlkio(blk->mutable_io_service_bytes_recursive(), s.blkio.io_service_bytes_recursive);
  FillBlkio(blk->mutable_io_serviced_recursive(), s.blkio.io_serviced_recursive);
  FillBlkio(blk->mutable_io_queued_recursive(), s.blkio.io_queued_recursive);
  FillBlkio(blk->mutable_io_service_time_recursive(), s.blkio.io_service_time_recursive);
  FillBlkio(blk->mutable_io_wait_time_recursive(), s.blkio.io_wait_time_recursive);
  FillBlkio(blk->mutable_io_merged_recursive(), s.blkio.io_merged_recursive);
  FillBlkio(blk->mutable_io_time_recursive(), s.blkio.io_time_recursive);
  FillBlkio(blk->mutable_sectors_recursive(), s.blkio.sectors_recursive);
  for (const auto& e : s.rdma_current) {
    auto* o = m.mutable_rdma()->add_current();
    o->set_device(e.device);
    o->set_hca_handles(static_cast<uint32_t>(e.hca_handles));
    o->set_hca_objects(static_cast<uint32_t>(e.hca_objects));
  }
  auto* oom = m.mutable_memory_oom_control();
  oom->set_oom_kill_disable(s.memory.oom_kill_disable);
  oom->set_under_oom(s.memory.under_oom);
  oom->set_oom_kill(s.memory.oom_kill);
  return m;
}

v2::Metrics V2(const cgroup::Stats& s) {
  v2::Metrics m;
  m.mutable_pids()->set_current(s.pids.current);
  m.mutable_pids()->set_limit(s.pids.limit);
  auto* cpu = m.mutable_cpu();
  cpu->set_usage_usec(s.cpu.total / 1000);
  cpu->set_user_usec(s.cpu.user / 1000);
  cpu->set_system_usec(s.cpu.kernel / 1000);
  cpu->set_nr_periods(s.cpu.periods);
  cpu->set_nr_throttled(s.cpu.throttled_periods);
  cpu->set_throttled_usec(s.cpu.throttled_time / 1000);
  const auto& st = s.memory.stat;
  auto* mem = m.mutable_memory();
  mem->set_anon(Stat(st, "anon"));
  mem->set_file(Stat(st, "file"));
  mem->set_kernel_stack(Stat(st, "kernel_stack"));
  mem->set_slab(Stat(st, "slab"));
  mem->set_sock(Stat(st, "sock"));
  mem->set_shmem(Stat(st, "shmem"));
  mem->set_file_mapped(Stat(st, "file_mapped"));
  mem->set_file_dirty(Stat(st, "file_dirty"));
  mem->set_file_writeback(Stat(st, "file_writeback"));
  mem->set_anon_thp(Stat(st, "anon_thp"));
  mem->set_inactive_anon(Stat(st, "inactive_anon"));
  mem->set_active_anon(Stat(st, "active_anon"));
  mem->set_inactive_file(Stat(st, "inactive_file"));
  mem->set_active_file(Stat(st, "active_file"));
  mem->set_unevictable(Stat(st, "unevictable"));
  mem->set_slab_reclaimable(Stat(st, "slab_reclaimable"));
  mem->set_slab_unreclaimable(Stat(st, "slab_unreclaimable"));
  mem->set_pgfault(Stat(st, "pgfault"));
  mem->set_pgmajfault(Stat(st, "pgmajfault"));
  mem->set_workingset_refault(Stat(st, "workingset_refault"));
  mem->set_workingset_activate(Stat(st, "workingset_activate"));
  mem->set_workingset_nodereclaim(Stat(st, "workingset_nodereclaim"));
  mem->set_pgrefill(Stat(st, "pgrefill"));
  mem->set_pgscan(Stat(st, "pgscan"));
  mem->set_pgsteal(Stat(st, "pgsteal"));
  mem->set_pgactivate(Stat(st, "pgactivate"));
  mem->set_pgdeactivate(Stat(st, "pgdeactivate"));
  mem->set_pglazyfree(Stat(st, "pglazyfree"));
  mem->set_pglazyfreed(Stat(st, "pglazyfreed"));
  mem->set_thp_fault_alloc(Stat(st, "thp_fault_alloc"));
  mem->set_thp_collapse_alloc(Stat(st, "thp_collapse_alloc"));
  mem->set_usage(s.memory.usage.usage);
  mem->set_usage_limit(s.memory.usage.limit);
  mem->set_swap_usage(s.memory.swap_only.usage);
  mem->set_swap_limit(s.memory.swap_only.limit);
  for (const auto& e : s.io) {
    auto* o = m.mutable_io()->add_usage();
    o->set_major(e.major);
    o->set_minor(e.minor);
    o->set_rbytes(e.rbytes);
    o->set_wbytes(e.wbytes);
    o->set_rios(e.rios);
    o->set_wios(e.wios);
  }
  for (const auto& [size, h] : s.hugetlb) {
    auto* o = m.add_hugetlb();
    o->set_current(h.usage);
    o->set_max(h.limit);
    o->set_pagesize(size);
  }
  const auto& ev = s.memory.events;
  auto* me = m.mutable_memory_events();
  me->set_low(Stat(ev, "low"));
  me->set_high(Stat(ev, "high"));
  me->set_max(Stat(ev, "max"));
  me->set_oom(Stat(ev, "oom"));
  me->set_oom_kill(Stat(ev, "oom_kill"));
  return m;
}

}  // namespace

google::protobuf::Any MetricsAny(const cgroup::Stats& stats) {
  google::protobuf::Any any;
  if (stats.from_v2) {
    v2::Metrics m = V2(stats);
    any.set_type_url(m.GetTypeName());
    any.set_value(m.SerializeAsString());
  } else {
    v1::Metrics m = V1(stats);
    any.set_type_url(m.GetTypeName());
    any.set_value(m.SerializeAsString());
  }
  return any;
}

}  // namespace berth::shim
