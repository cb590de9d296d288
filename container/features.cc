#include "container/features.h"

#include "linux/capabilities.h"
#include "linux/lsm.h"
#include "linux/mount_api.h"
#include "linux/namespaces.h"
#include "linux/seccomp.h"
#include "oci/spec.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

namespace berth::container {

nlohmann::ordered_json Features() {
  using OJson = nlohmann::ordered_json;
  OJson j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = std::string(oci::kSpecVersion);
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                "poststop"};
  j["mountOptions"] = {
      "async",     "atime",     "bind",        "defaults",    "dev",        "diratime",
      "dirsync",   "exec",      "idmap",       "iversion",    "lazytime",    "loud",       "mand",
      "noatime",   "nodev",     "nodiratime",  "noexec",      "noiversion", "nolazytime",
      "nomand",    "norelatime", "nostrictatime", "nosuid",   "private",    "rbind",
      "rdev",      "rdiratime", "relatime",    "remount",     "rexec",      "ridmap",     "rnoatime",
      "rnodev",    "rnodiratime", "rnoexec",   "rnosuid",     "rnosymfollow", "ro",
      "rprivate",  "rrelatime", "rro",         "rrw",         "rshared",    "rslave",
      "rstrictatime", "rsuid",  "rsymfollow",  "runbindable", "rw",         "shared",
      "silent",    "slave",     "strictatime", "suid",        "sync",       "unbindable"};
  OJson linux_part;
  size_t n;
  const linux::NamespaceKind* kinds = linux::NamespaceKinds(&n);
  OJson ns = OJson::array();
  for (size_t i = 0; i < n; ++i) ns.push_back(std::string(kinds[i].spec_name));
  linux_part["namespaces"] = ns;
  linux_part["capabilities"] = linux::KnownCapabilityNames();
  linux_part["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}};
  linux::SeccompSupport seccomp = linux::SeccompSupported();
  linux_part["seccomp"] = {{"enabled", true},
                           {"actions", seccomp.actions},
                           {"operators", seccomp.operators},
                           {"archs", seccomp.architectures},
                           {"knownFlags", seccomp.known_flags},
                           {"supportedFlags", seccomp.supported_flags}};
  // What the host enforces: a label it cannot apply is refused at create.
  linux_part["apparmor"] = {{"enabled", linux::AppArmorEnabled()}};
  linux_part["selinux"] = {{"enabled", linux::SelinuxEnabled()}};
  // resctrl is not driven: a config with linux.intelRdt is refused (container/intel_rdt.h).
  linux_part["intelRdt"] = {{"enabled", false}};
  linux_part["memoryPolicy"] = {
      {"modes",
       {"MPOL_BIND", "MPOL_DEFAULT", "MPOL_INTERLEAVE", "MPOL_LOCAL", "MPOL_PREFERRED",
        "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"}},
      {"flags", {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"}}};
  // Probed once per process: it clones a helper and mounts a tmpfs.
  static const bool idmap = linux::IdMappedMountsSupported();
  linux_part["mountExtensions"] = {{"idmap", {{"enabled", idmap}}}};
  linux_part["netDevices"] = {{"enabled", true}};
  j["linux"] = linux_part;
  // Annotations berth acts on (runc 1.4 lists "bundle" and "org.systemd.property." too,
  // which berth ignores).
  j["potentiallyUnsafeConfigAnnotations"] = {"org.criu.config"};
  j["annotations"] = {{"org.opencontainers.runtime-spec.features.berth.version", BERTH_VERSION}};
  return j;
}

}  // namespace berth::container
