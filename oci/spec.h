// The OCI runtime-spec config.json model (Linux part), as plain data.
// Optional JSON fields that change behaviour when present are std::optional;
// lists default to empty. Parsing and validation live in spec_parse.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::oci {

// The runtime-spec version berth implements and writes into state and `spec`.
inline constexpr std::string_view kSpecVersion = "1.3.0";

struct Box {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct IoPriority {
  std::string klass;  // IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
  int priority = 0;
};

// sched_setattr(2) attributes (runtime-spec 1.2).
struct Scheduler {
  std::string policy;  // SCHED_OTHER ... SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;  // SCHED_FLAG_RESET_ON_FORK ...
  uint64_t runtime = 0, deadline = 0, period = 0;
};

// CPU lists ("0-3,7") for an exec'd process (runtime-spec 1.3): before and after
// it joins the container's cgroup.
struct CpuAffinity {
  std::string initial, final;
};

struct Process {
  bool terminal = false;
  std::optional<Box> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
  std::optional<CpuAffinity> exec_cpu_affinity;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  // An id-mapped mount (runtime-spec 1.2): the mappings, or the container's own
  // with the idmap/ridmap option alone.
  std::vector<IdMapping> uid_mappings, gid_mappings;

  bool IsBind() const;      // type "bind" or a bind/rbind option
  bool IsIdMapped() const;  // mappings, or an idmap/ridmap option
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this one instead of creating a new one
};

struct Device {
  std::string type;  // c b u p
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {  // linux.resources.devices
  bool allow = false;
  std::string type = "a";  // a c b
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access = "rwm";
};

struct Memory {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct Cpu {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<int64_t> idle;
};

struct Pids {
  int64_t limit = 0;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIo {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
      throttle_write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct InterfacePriority {
  std::string name;
  uint32_t priority = 0;
};

struct Network {
  std::optional<uint32_t> class_id;
  std::vector<InterfacePriority> priorities;
};

struct Rdma {
  std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<Memory> memory;
  std::optional<Cpu> cpu;
  std::optional<Pids> pids;
  std::optional<BlockIo> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<Network> network;
  std::map<std::string, Rdma> rdma;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Personality {
  std::string domain;  // LINUX | LINUX32
  std::vector<std::string> flags;
};

// set_mempolicy(2) for the container (runtime-spec 1.3).
struct MemoryPolicy {
  std::string mode;   // MPOL_DEFAULT ...
  std::string nodes;  // "0-3,7"
  std::vector<std::string> flags;  // MPOL_F_STATIC_NODES ...
};

struct NetDevice {
  std::string name;  // inside the container; empty: the host's name
};

struct IntelRdt {
  std::string clos_id;
  std::string l3_cache_schema, mem_bw_schema;
  std::vector<std::string> schemata;
  bool enable_monitoring = false;
};

struct Linux {
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;
  std::vector<Namespace> namespaces;
  std::vector<Device> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::optional<Personality> personality;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::optional<MemoryPolicy> memory_policy;
  std::map<std::string, NetDevice> net_devices;  // keyed by the host's interface name
  std::optional<IntelRdt> intel_rdt;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;

  const Namespace* FindNamespace(std::string_view type) const;
  bool HasNamespace(std::string_view type) const { return FindNamespace(type) != nullptr; }
};

// Parses config.json text. Unknown properties are ignored (the spec requires it);
// a wrong type, a missing required field or an invalid value is an Error whose
// message names the JSON path: "process.rlimits[0].type: unknown rlimit RLIMIT_FOO".
Result<Spec> ParseSpec(std::string_view json_text);

// Parses just the "process" object of an exec --process file.
Result<Process> ParseProcess(std::string_view json_text);
// Parses a linux.seccomp object on its own (the seccomp fuzz target, tests/fuzz).
Result<Seccomp> ParseSeccomp(std::string_view json_text);
// Parses a linux.resources object on its own (`update -r`); errors name the path
// below "resources" ("resources.memory.limit: expected an integer").
Result<Resources> ParseResources(std::string_view json_text);

// Reads and parses <bundle>/config.json.
Result<Spec> LoadSpec(const std::string& bundle_dir);

// The default config.json written by `berth spec`, as runc spec writes it.
std::string DefaultSpecJson(bool rootless);

}  // namespace berth::oci
