// The requests berth sends to `criu swrk`, built from a container's config,
// state and the caller's options by pure functions (no syscalls), so that what
// criu is asked to do is unit-tested without criu. checkpoint.cc and restore.cc
// gather the facts only the running system knows (inodes, fds, which masked
// paths are files, the container's cgroups) into the inputs below.
// See docs/checkpoint.md for why each field is set as it is (runc's choices).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "container/container.h"
#include "criu/rpc.pb.h"
#include "oci/spec.h"

namespace berth::container {

// The log criu writes into the work directory (or the image directory).
inline constexpr std::string_view kCriuDumpLog = "dump.log";
inline constexpr std::string_view kCriuRestoreLog = "restore.log";
inline constexpr std::string_view kCriuCheckLog = "check.log";
// The init's stdio at checkpoint ("pipe:[123]", "/dev/null"), as runc names it.
inline constexpr std::string_view kDescriptorsFile = "descriptors.json";
// Without the org.criu.config annotation criu reads this file, if it exists.
inline constexpr std::string_view kDefaultCriuConfigFile = "/etc/criu/berth.conf";

// One bind mount of a cgroup hierarchy under the container's /sys/fs/cgroup
// (v1 and hybrid hosts, see cgroup/mounts.h).
struct CriuCgroupBind {
  std::string name;      // "cpu,cpuacct", "unified": below the cgroup mount's destination
  std::string host_dir;  // the container's directory in that hierarchy
};

// What both requests need to know about the container.
struct CriuContainerFacts {
  const oci::Spec* spec = nullptr;
  std::string bundle;  // relative bind sources are below it
  cgroup::Mode cgroup_mode = cgroup::Mode::kUnified;
  std::string cgroup_unified_dir;            // the container's v2 directory, if any
  std::vector<CriuCgroupBind> cgroup_binds;  // empty on a v2 host
  // The mount point a config destination really names inside the rootfs
  // (symlinks followed inside it, as create mounted it). Null: taken as written.
  std::function<std::string(const std::string&)> resolve_destination;
};

struct DumpInputs {
  CriuContainerFacts container;
  std::string rootfs;
  pid_t pid = 0;  // the init, as the host sees it
  int images_dir_fd = -1;
  int work_dir_fd = -1;  // -1: logs go to the image directory
  // criu freezes the container through this cgroup (v1 freezer, or v2 directory).
  std::string freezer_dir;
  // Inode of each joined network/pid namespace ("network" -> inode).
  std::map<std::string, uint64_t> external_ns_inodes;
  // Masked paths that are files in the container (directories are tmpfs mounts
  // criu dumps itself).
  std::vector<std::string> masked_files;
};

struct RestoreInputs {
  CriuContainerFacts container;
  std::string root;  // the rootfs, bind-mounted where criu wants it (a mount point)
  int images_dir_fd = -1;
  int work_dir_fd = -1;
  // fd number, in criu, of each joined network/pid namespace ("network" -> 4).
  std::map<std::string, int> external_ns_fds;
  // descriptors.json of the checkpoint: the init's fds 0, 1, 2 then.
  std::vector<std::string> descriptors;
  // controller -> cgroup path of the criu process, placed in the container's
  // cgroups before the request is sent (ParseCgroupRoots).
  std::vector<std::pair<std::string, std::string>> cgroup_roots;
};

Result<criu::criu_req> BuildDumpRequest(const DumpInputs& in, const CheckpointOptions& options);
Result<criu::criu_req> BuildRestoreRequest(const RestoreInputs& in, const RestoreOptions& options);
// CHECK, logging to check.log in `log_dir_fd`.
criu::criu_req BuildCheckRequest(int log_dir_fd);
// FEATURE_CHECK for what the options need (lazy pages, memory tracking).
criu::criu_req BuildFeatureCheckRequest(bool lazy_pages, bool mem_track);

// "5:cpu,cpuacct:/c1\n0::/c1\n" (/proc/<pid>/cgroup) -> {{"cpu","/c1"},
// {"cpuacct","/c1"}, {"","/c1"}}: one criu cgroup root per controller, as runc.
std::vector<std::pair<std::string, std::string>> ParseCgroupRoots(std::string_view proc_cgroup);

// The CLONE_NEW* bits of --empty-ns names; runc always includes the network
// namespace (it does not manage network devices), and so does berth.
Result<uint32_t> EmptyNamespaceMask(const std::vector<std::string>& names);

// A bind mount by type or by option, as runc and create take it.
bool IsBindMount(const oci::Mount& m);

// criu's --external key of a joined namespace: "extRootNetNS", "extRootPidNS".
std::string CriuExternalNamespaceKey(const std::string& oci_type);

}  // namespace berth::container
