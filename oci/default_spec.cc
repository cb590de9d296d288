// `berth spec`: the same default config.json that `runc spec` writes.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include "oci/spec.h"

namespace berth::oci {
using OJson = nlohmann::ordered_json;
namespace {

OJson MountEntry(const char* dest, const char* type, const char* source,
                std::initializer_list<const char*> options) {
  OJson m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (options.size() > 0) {
    OJson opts = OJson::array();
    for (const char* o : options) opts.push_back(o);
    m["options"] = std::move(opts);
  }
  return m;
}

OJson IdMap(uint32_t host_id) {
  return OJson::array({{{"containerID", 0}, {"hostID", host_id}, {"size", 1}}});
}

}  // namespace

std::string DefaultSpecJson(bool rootless) {
  OJson caps = OJson::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  OJson process = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
      {"rlimits", OJson::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
  OJson mounts = OJson::array({
      MountEntry("/proc", "proc", "proc", {}),
      MountEntry("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      rootless ? MountEntry("/dev/pts", "devpts", "devpts",
                            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"})
               : MountEntry("/dev/pts", "devpts", "devpts",
                            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                             "gid=5"}),
      MountEntry("/dev/shm", "tmpfs", "shm",
                 {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      MountEntry("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      rootless ? MountEntry("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"})
               : MountEntry("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      MountEntry("/sys/fs/cgroup", "cgroup", "cgroup",
                 {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  OJson namespaces = OJson::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount"}) {
    if (rootless && std::string_view(t) == "network") continue;
    namespaces.push_back({{"type", t}});
  }
  if (rootless) namespaces.push_back({{"type", "user"}});
  OJson linux_section = OJson::object();
  if (rootless) {
    linux_section["uidMappings"] = IdMap(::geteuid());
    linux_section["gidMappings"] = IdMap(::getegid());
  } else {
    linux_section["resources"] = {{"devices", OJson::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  linux_section["namespaces"] = std::move(namespaces);
  linux_section["maskedPaths"] = {"/proc/acpi",       "/proc/asound",      "/proc/kcore",
                                  "/proc/keys",       "/proc/latency_stats", "/proc/timer_list",
                                  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                  "/proc/scsi"};
  linux_section["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                    "/proc/sysrq-trigger"};
  OJson spec = OJson::object();
  spec["ociVersion"] = std::string(kSpecVersion);
  spec["process"] = std::move(process);
  spec["root"] = {{"path", "rootfs"}, {"readonly", true}};
  spec["hostname"] = "berth";
  spec["mounts"] = std::move(mounts);
  spec["linux"] = std::move(linux_section);
  return spec.dump(1, '\t') + "\n";
}

}  // namespace berth::oci
