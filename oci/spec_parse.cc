// config.json -> oci::Spec. Structure and types only; the checks that need
// kernel knowledge (capability names, rlimits, namespaces) are in container/.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>

#include "oci/json_fields.h"
#include "oci/spec.h"

namespace berth::oci {

Result<void> ParseInto(const Fields& f, Box& b) {
  BERTH_TRY(f.Require("height", b.height));
  return f.Require("width", b.width);
}

Result<void> ParseInto(const Fields& f, User& u) {
  BERTH_TRY(f.Read("uid", u.uid));
  BERTH_TRY(f.Read("gid", u.gid));
  BERTH_TRY(f.Read("umask", u.umask));
  BERTH_TRY(f.Read("additionalGids", u.additional_gids));
  return f.Read("username", u.username);
}

Result<void> ParseInto(const Fields& f, Capabilities& c) {
  BERTH_TRY(f.Read("bounding", c.bounding));
  BERTH_TRY(f.Read("effective", c.effective));
  BERTH_TRY(f.Read("inheritable", c.inheritable));
  BERTH_TRY(f.Read("permitted", c.permitted));
  return f.Read("ambient", c.ambient);
}

Result<void> ParseInto(const Fields& f, Rlimit& r) {
  BERTH_TRY(f.Require("type", r.type));
  BERTH_TRY(f.Require("hard", r.hard));
  return f.Require("soft", r.soft);
}

Result<void> ParseInto(const Fields& f, IoPriority& p) {
  BERTH_TRY(f.Require("class", p.klass));
  return f.Read("priority", p.priority);
}

Result<void> ParseInto(const Fields& f, Scheduler& s) {
  BERTH_TRY(f.Require("policy", s.policy));
  BERTH_TRY(f.Read("nice", s.nice));
  BERTH_TRY(f.Read("priority", s.priority));
  BERTH_TRY(f.Read("flags", s.flags));
  BERTH_TRY(f.Read("runtime", s.runtime));
  BERTH_TRY(f.Read("deadline", s.deadline));
  return f.Read("period", s.period);
}

Result<void> ParseInto(const Fields& f, CpuAffinity& a) {
  BERTH_TRY(f.Read("initial", a.initial));
  return f.Read("final", a.final);
}

Result<void> ParseInto(const Fields& f, Process& p) {
  BERTH_TRY(f.Read("terminal", p.terminal));
  BERTH_TRY(f.Read("consoleSize", p.console_size));
  BERTH_TRY(f.Read("user", p.user));
  BERTH_TRY(f.Read("args", p.args));
  BERTH_TRY(f.Read("env", p.env));
  BERTH_TRY(f.Require("cwd", p.cwd));
  BERTH_TRY(f.Read("capabilities", p.capabilities));
  BERTH_TRY(f.Read("rlimits", p.rlimits));
  BERTH_TRY(f.Read("noNewPrivileges", p.no_new_privileges));
  BERTH_TRY(f.Read("apparmorProfile", p.apparmor_profile));
  BERTH_TRY(f.Read("oomScoreAdj", p.oom_score_adj));
  BERTH_TRY(f.Read("selinuxLabel", p.selinux_label));
  BERTH_TRY(f.Read("ioPriority", p.io_priority));
  BERTH_TRY(f.Read("scheduler", p.scheduler));
  return f.Read("execCPUAffinity", p.exec_cpu_affinity);
}

Result<void> ParseInto(const Fields& f, Root& r) {
  BERTH_TRY(f.Require("path", r.path));
  return f.Read("readonly", r.readonly);
}

Result<void> ParseInto(const Fields& f, IdMapping& m) {
  BERTH_TRY(f.Require("containerID", m.container_id));
  BERTH_TRY(f.Require("hostID", m.host_id));
  return f.Require("size", m.size);
}

namespace {

bool HasOption(const Mount& m, std::string_view name) {
  for (const auto& o : m.options)
    if (o == name) return true;
  return false;
}

Result<void> CheckMappings(const std::vector<IdMapping>& maps, const std::string& path) {
  constexpr uint64_t kIdLimit = uint64_t{1} << 32;
  for (size_t i = 0; i < maps.size(); ++i) {
    std::string where = path + "[" + std::to_string(i) + "]";
    const IdMapping& m = maps[i];
    if (m.size == 0) return Fail(where + ".size: must be greater than 0");
    if (uint64_t{m.container_id} + m.size > kIdLimit)
      return Fail(where + ": containerID + size overflows the 32-bit id range");
    if (uint64_t{m.host_id} + m.size > kIdLimit)
      return Fail(where + ": hostID + size overflows the 32-bit id range");
  }
  return {};
}

// Id-mapped mounts (runtime-spec 1.2+, runc 1.2+): bind mounts only, with both
// kinds of mapping or neither (then idmap/ridmap take the container's own).
Result<void> CheckIdMappedMount(const Fields& f, const Mount& m) {
  bool mapped = !m.uid_mappings.empty() || !m.gid_mappings.empty();
  bool idmap_option = HasOption(m, "idmap") || HasOption(m, "ridmap");
  if (!mapped && !idmap_option) return {};
  if (!m.IsBind()) {
    if (mapped) return Fail(f.PathOf(m.uid_mappings.empty() ? "gidMappings" : "uidMappings") +
                            ": id mappings are only allowed on bind mounts");
    return Fail(f.PathOf("options") + ": idmap and ridmap are only allowed on bind mounts");
  }
  if (mapped && m.uid_mappings.empty())
    return Fail(f.PathOf("uidMappings") + ": required with gidMappings");
  if (mapped && m.gid_mappings.empty())
    return Fail(f.PathOf("gidMappings") + ": required with uidMappings");
  BERTH_TRY(CheckMappings(m.uid_mappings, f.PathOf("uidMappings")));
  return CheckMappings(m.gid_mappings, f.PathOf("gidMappings"));
}

}  // namespace

bool Mount::IsBind() const {
  return type == "bind" || HasOption(*this, "bind") || HasOption(*this, "rbind");
}

bool Mount::IsIdMapped() const {
  return !uid_mappings.empty() || !gid_mappings.empty() || HasOption(*this, "idmap") ||
         HasOption(*this, "ridmap");
}

Result<void> ParseInto(const Fields& f, Mount& m) {
  BERTH_TRY(f.Require("destination", m.destination));
  BERTH_TRY(f.Read("type", m.type));
  BERTH_TRY(f.Read("source", m.source));
  BERTH_TRY(f.Read("options", m.options));
  BERTH_TRY(f.Read("uidMappings", m.uid_mappings));
  BERTH_TRY(f.Read("gidMappings", m.gid_mappings));
  return CheckIdMappedMount(f, m);
}

Result<void> ParseInto(const Fields& f, Hook& h) {
  BERTH_TRY(f.Require("path", h.path));
  BERTH_TRY(f.Read("args", h.args));
  BERTH_TRY(f.Read("env", h.env));
  BERTH_TRY(f.Read("timeout", h.timeout));
  if (h.timeout && *h.timeout <= 0) return Fail(f.PathOf("timeout") + ": must be positive");
  return {};
}

Result<void> ParseInto(const Fields& f, Hooks& h) {
  BERTH_TRY(f.Read("prestart", h.prestart));
  BERTH_TRY(f.Read("createRuntime", h.create_runtime));
  BERTH_TRY(f.Read("createContainer", h.create_container));
  BERTH_TRY(f.Read("startContainer", h.start_container));
  BERTH_TRY(f.Read("poststart", h.poststart));
  return f.Read("poststop", h.poststop);
}

Result<void> ParseInto(const Fields& f, Namespace& n) {
  BERTH_TRY(f.Require("type", n.type));
  return f.Read("path", n.path);
}

Result<void> ParseInto(const Fields& f, Device& d) {
  BERTH_TRY(f.Require("type", d.type));
  BERTH_TRY(f.Require("path", d.path));
  BERTH_TRY(f.Read("major", d.major));
  BERTH_TRY(f.Read("minor", d.minor));
  BERTH_TRY(f.Read("fileMode", d.file_mode));
  BERTH_TRY(f.Read("uid", d.uid));
  return f.Read("gid", d.gid);
}

Result<void> ParseInto(const Fields& f, DeviceRule& d) {
  BERTH_TRY(f.Require("allow", d.allow));
  BERTH_TRY(f.Read("type", d.type));
  BERTH_TRY(f.Read("major", d.major));
  BERTH_TRY(f.Read("minor", d.minor));
  BERTH_TRY(f.Read("access", d.access));
  if (d.type.empty()) d.type = "a";
  return {};
}

Result<void> ParseInto(const Fields& f, Memory& m) {
  BERTH_TRY(f.Read("limit", m.limit));
  BERTH_TRY(f.Read("reservation", m.reservation));
  BERTH_TRY(f.Read("swap", m.swap));
  BERTH_TRY(f.Read("kernel", m.kernel));
  BERTH_TRY(f.Read("kernelTCP", m.kernel_tcp));
  BERTH_TRY(f.Read("swappiness", m.swappiness));
  BERTH_TRY(f.Read("disableOOMKiller", m.disable_oom_killer));
  BERTH_TRY(f.Read("useHierarchy", m.use_hierarchy));
  return f.Read("checkBeforeUpdate", m.check_before_update);
}

Result<void> ParseInto(const Fields& f, Cpu& c) {
  BERTH_TRY(f.Read("shares", c.shares));
  BERTH_TRY(f.Read("quota", c.quota));
  BERTH_TRY(f.Read("burst", c.burst));
  BERTH_TRY(f.Read("period", c.period));
  BERTH_TRY(f.Read("realtimeRuntime", c.realtime_runtime));
  BERTH_TRY(f.Read("realtimePeriod", c.realtime_period));
  BERTH_TRY(f.Read("cpus", c.cpus));
  BERTH_TRY(f.Read("mems", c.mems));
  return f.Read("idle", c.idle);
}

Result<void> ParseInto(const Fields& f, Pids& p) { return f.Require("limit", p.limit); }

Result<void> ParseInto(const Fields& f, WeightDevice& w) {
  BERTH_TRY(f.Require("major", w.major));
  BERTH_TRY(f.Require("minor", w.minor));
  BERTH_TRY(f.Read("weight", w.weight));
  return f.Read("leafWeight", w.leaf_weight);
}

Result<void> ParseInto(const Fields& f, ThrottleDevice& t) {
  BERTH_TRY(f.Require("major", t.major));
  BERTH_TRY(f.Require("minor", t.minor));
  return f.Require("rate", t.rate);
}

Result<void> ParseInto(const Fields& f, BlockIo& b) {
  BERTH_TRY(f.Read("weight", b.weight));
  BERTH_TRY(f.Read("leafWeight", b.leaf_weight));
  BERTH_TRY(f.Read("weightDevice", b.weight_device));
  BERTH_TRY(f.Read("throttleReadBpsDevice", b.throttle_read_bps));
  BERTH_TRY(f.Read("throttleWriteBpsDevice", b.throttle_write_bps));
  BERTH_TRY(f.Read("throttleReadIOPSDevice", b.throttle_read_iops));
  return f.Read("throttleWriteIOPSDevice", b.throttle_write_iops);
}

Result<void> ParseInto(const Fields& f, HugepageLimit& h) {
  BERTH_TRY(f.Require("pageSize", h.page_size));
  return f.Require("limit", h.limit);
}

Result<void> ParseInto(const Fields& f, InterfacePriority& p) {
  BERTH_TRY(f.Require("name", p.name));
  return f.Require("priority", p.priority);
}

Result<void> ParseInto(const Fields& f, Network& n) {
  BERTH_TRY(f.Read("classID", n.class_id));
  return f.Read("priorities", n.priorities);
}

Result<void> ParseInto(const Fields& f, Rdma& r) {
  BERTH_TRY(f.Read("hcaHandles", r.hca_handles));
  return f.Read("hcaObjects", r.hca_objects);
}

Result<void> ParseInto(const Fields& f, Resources& r) {
  BERTH_TRY(f.Read("devices", r.devices));
  BERTH_TRY(f.Read("memory", r.memory));
  BERTH_TRY(f.Read("cpu", r.cpu));
  BERTH_TRY(f.Read("pids", r.pids));
  BERTH_TRY(f.Read("blockIO", r.block_io));
  BERTH_TRY(f.Read("hugepageLimits", r.hugepage_limits));
  BERTH_TRY(f.Read("network", r.network));
  BERTH_TRY(f.Read("rdma", r.rdma));
  return f.Read("unified", r.unified);
}

Result<void> ParseInto(const Fields& f, SeccompArg& a) {
  BERTH_TRY(f.Require("index", a.index));
  BERTH_TRY(f.Require("value", a.value));
  BERTH_TRY(f.Read("valueTwo", a.value_two));
  return f.Require("op", a.op);
}

Result<void> ParseInto(const Fields& f, SeccompSyscall& s) {
  BERTH_TRY(f.Require("names", s.names));
  BERTH_TRY(f.Require("action", s.action));
  BERTH_TRY(f.Read("errnoRet", s.errno_ret));
  return f.Read("args", s.args);
}

Result<void> ParseInto(const Fields& f, Seccomp& s) {
  BERTH_TRY(f.Require("defaultAction", s.default_action));
  BERTH_TRY(f.Read("defaultErrnoRet", s.default_errno_ret));
  BERTH_TRY(f.Read("architectures", s.architectures));
  BERTH_TRY(f.Read("flags", s.flags));
  BERTH_TRY(f.Read("listenerPath", s.listener_path));
  BERTH_TRY(f.Read("listenerMetadata", s.listener_metadata));
  return f.Read("syscalls", s.syscalls);
}

Result<void> ParseInto(const Fields& f, TimeOffset& t) {
  BERTH_TRY(f.Read("secs", t.secs));
  return f.Read("nanosecs", t.nanosecs);
}

Result<void> ParseInto(const Fields& f, Personality& p) {
  BERTH_TRY(f.Require("domain", p.domain));
  return f.Read("flags", p.flags);
}

Result<void> ParseInto(const Fields& f, MemoryPolicy& m) {
  BERTH_TRY(f.Require("mode", m.mode));
  BERTH_TRY(f.Read("nodes", m.nodes));
  return f.Read("flags", m.flags);
}

Result<void> ParseInto(const Fields& f, NetDevice& d) { return f.Read("name", d.name); }

Result<void> ParseInto(const Fields& f, IntelRdt& r) {
  BERTH_TRY(f.Read("closID", r.clos_id));
  BERTH_TRY(f.Read("l3CacheSchema", r.l3_cache_schema));
  BERTH_TRY(f.Read("memBwSchema", r.mem_bw_schema));
  BERTH_TRY(f.Read("schemata", r.schemata));
  return f.Read("enableMonitoring", r.enable_monitoring);
}

Result<void> ParseInto(const Fields& f, Linux& l) {
  BERTH_TRY(f.Read("uidMappings", l.uid_mappings));
  BERTH_TRY(f.Read("gidMappings", l.gid_mappings));
  BERTH_TRY(f.Read("sysctl", l.sysctl));
  BERTH_TRY(f.Read("resources", l.resources));
  BERTH_TRY(f.Read("cgroupsPath", l.cgroups_path));
  BERTH_TRY(f.Read("namespaces", l.namespaces));
  BERTH_TRY(f.Read("devices", l.devices));
  BERTH_TRY(f.Read("seccomp", l.seccomp));
  BERTH_TRY(f.Read("rootfsPropagation", l.rootfs_propagation));
  BERTH_TRY(f.Read("maskedPaths", l.masked_paths));
  BERTH_TRY(f.Read("readonlyPaths", l.readonly_paths));
  BERTH_TRY(f.Read("mountLabel", l.mount_label));
  BERTH_TRY(f.Read("personality", l.personality));
  BERTH_TRY(f.Read("timeOffsets", l.time_offsets));
  BERTH_TRY(f.Read("memoryPolicy", l.memory_policy));
  BERTH_TRY(f.Read("netDevices", l.net_devices));
  return f.Read("intelRdt", l.intel_rdt);
}

namespace {

// ociVersion must be semver with major version 1 ("1.0.2", "1.1.0-rc.1").
Result<void> CheckVersion(const std::string& v) {
  const char* p = v.data();
  const char* end = v.data() + v.size();
  unsigned parts[3];
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc() || next == p) return Fail("ociVersion: \"" + v + "\" is not a semantic version");
    p = next;
    if (i < 2) {
      if (p == end || *p != '.') return Fail("ociVersion: \"" + v + "\" is not a semantic version");
      ++p;
    }
  }
  if (p != end && *p != '-' && *p != '+')
    return Fail("ociVersion: \"" + v + "\" is not a semantic version");
  if (parts[0] != 1)
    return Fail("ociVersion: unsupported major version in \"" + v + "\" (berth supports 1.x)");
  return {};
}

Result<Json> ParseJsonText(std::string_view text, std::string_view what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail(std::string(what) + ": invalid JSON");
  if (!j.is_object()) return Fail(std::string(what) + ": expected a JSON object");
  return j;
}

}  // namespace

Result<Spec> ParseSpec(std::string_view json_text) {
  Json j = BERTH_TRY(ParseJsonText(json_text, "config.json"));
  Fields f(j, "");
  Spec s;
  BERTH_TRY(f.Require("ociVersion", s.oci_version));
  BERTH_TRY(CheckVersion(s.oci_version));
  BERTH_TRY(f.Read("process", s.process));
  BERTH_TRY(f.Require("root", s.root));
  BERTH_TRY(f.Read("hostname", s.hostname));
  BERTH_TRY(f.Read("domainname", s.domainname));
  BERTH_TRY(f.Read("mounts", s.mounts));
  BERTH_TRY(f.Read("hooks", s.hooks));
  BERTH_TRY(f.Read("annotations", s.annotations));
  BERTH_TRY(f.Read("linux", s.linux));
  return s;
}

Result<Process> ParseProcess(std::string_view json_text) {
  Json j = BERTH_TRY(ParseJsonText(json_text, "process"));
  Process p;
  BERTH_TRY(ParseInto(Fields(j, ""), p));
  return p;
}

Result<Resources> ParseResources(std::string_view json_text) {
  Json j = BERTH_TRY(ParseJsonText(json_text, "resources"));
  Resources r;
  BERTH_TRY(ParseInto(Fields(j, "resources"), r));
  return r;
}

Result<Seccomp> ParseSeccomp(std::string_view json_text) {
  Json j = BERTH_TRY(ParseJsonText(json_text, "seccomp"));
  Seccomp s;
  BERTH_TRY(ParseInto(Fields(j, "linux.seccomp"), s));
  return s;
}

const Namespace* Spec::FindNamespace(std::string_view type) const {
  if (!linux) return nullptr;
  for (const auto& ns : linux->namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

Result<Spec> LoadSpec(const std::string& bundle_dir) {
  std::string path = bundle_dir + "/config.json";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return ErrnoError("read " + path, e);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseSpec(text);
}

}  // namespace berth::oci
