// oci::Spec -> InitPlan, with the semantic checks of config.json that need to
// know the kernel (capabilities, rlimits, namespaces, sysctls).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "container/init_plan.h"
#include "oci/spec.h"

namespace berth::container {

struct PlanInputs {
  const oci::Spec* spec = nullptr;
  std::string bundle;        // absolute
  std::string rootfs;        // absolute, resolved
  std::string rootfs_mount_point;  // of the mount that holds rootfs (mountinfo)
  const oci::Process* process = nullptr;  // spec->process unless exec
  bool no_pivot = false;
  // With no_pivot: the host's full proc and sysfs mounts outside the rootfs
  // (linux::FullProcAndSysfsMounts).
  std::vector<std::string> host_pseudo_fs;
  bool no_new_keyring = false;
  std::string container_id;
  int preserve_fds = 0;
  int listen_fds = 0;        // $LISTEN_FDS of the runtime (socket activation)
  std::string seccomp_cache_dir;
  // Cgroup hierarchies for type "cgroup" mounts: directory of this container
  // in each hierarchy, keyed by the hierarchy's name under /sys/fs/cgroup.
  struct CgroupMount {
    std::string name;        // "cpu,cpuacct", "memory", "unified", "systemd"
    std::string host_dir;    // the container's cgroup in that hierarchy
  };
  std::vector<CgroupMount> cgroup_mounts;
  bool cgroup2 = false;      // the host is cgroup v2 only
  std::string cgroup2_dir;   // the container's cgroup in the unified hierarchy
  // The runtime itself runs as a user other than root (rootless): its init reaches every
  // bind source the runtime can, and the runtime may not clone mounts of the host's.
  bool rootless = false;
};

struct PlanWarnings {
  std::vector<std::string> messages;
};

Result<InitPlan> BuildInitPlan(const PlanInputs& in, PlanWarnings* warnings);

// `exec`: only the process part (user, capabilities, rlimits, labels, seccomp of
// the container's config); the caller fills in what to join.
Result<InitPlan> BuildExecPlan(const PlanInputs& in, PlanWarnings* warnings);

}  // namespace berth::container
