#include "container/init_plan_mounts.h"

#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <set>
#include <string_view>

#include "linux/files.h"
#include "linux/lsm.h"
#include "linux/mount_options.h"

namespace berth::container {
namespace {

constexpr unsigned long kBindIgnored = MS_BIND | MS_REC | MS_REMOUNT;

// The procfs files lxcfs replaces: the only places under /proc where a mount
// other than procfs itself may go (runc's list). Anything else could cover a
// file berth writes later (a sysctl, an LSM label) with one of the attacker's
// choosing (CVE-2019-16884, CVE-2023-27561, CVE-2025-52881).
constexpr std::string_view kProcOvermountable[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",    "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};

bool UnderProc(const std::string& dest) { return dest == "/proc" || dest.starts_with("/proc/"); }

bool ProcOvermountable(const std::string& dest) {
  for (auto allowed : kProcOvermountable)
    if (dest == allowed) return true;
  return false;
}

std::string CleanDestination(const std::string& dest) {
  std::string out = dest.empty() || dest[0] != '/' ? "/" + dest : dest;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The per-mount flags of a bind remount as mount_setattr attributes.
void TopAttributes(const linux::MountOptions& opts, MountStep& step) {
  struct Pair {
    unsigned long flag;
    uint64_t attr;
  };
  static constexpr Pair kPairs[] = {
      {MS_RDONLY, MOUNT_ATTR_RDONLY},   {MS_NOSUID, MOUNT_ATTR_NOSUID},
      {MS_NODEV, MOUNT_ATTR_NODEV},     {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
      {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}};
  for (const auto& p : kPairs) {
    if (opts.flags & p.flag) step.top_attr_set |= p.attr;
    else if (opts.clear & p.flag) step.top_attr_clr |= p.attr;
  }
  if (opts.flags & MS_NOATIME) step.top_attr_set |= MOUNT_ATTR_NOATIME;
  else if (opts.flags & MS_STRICTATIME) step.top_attr_set |= MOUNT_ATTR_STRICTATIME;
  else if (opts.flags & MS_RELATIME) step.top_attr_clr |= MOUNT_ATTR__ATIME;  // relatime is 0
}

// runc 1.2's id-mapped binds: the mount's own mappings, or with idmap/ridmap alone
// the container's; rbind clones the submounts, ridmap maps them too.
Result<void> PlanIdMappedBind(const PlanInputs& in, const oci::Mount& m,
                              const linux::MountOptions& opts, const std::string& where,
                              MountStep& step) {
  const oci::Spec& spec = *in.spec;
  if (!m.uid_mappings.empty()) {
    step.uid_map = MapText(m.uid_mappings);
    step.gid_map = MapText(m.gid_mappings);
  } else {
    const oci::Namespace* user = spec.FindNamespace("user");
    if (!user || !user->path.empty() || spec.linux->uid_mappings.empty() ||
        spec.linux->gid_mappings.empty())
      return Fail(where + ".options: idmap without uidMappings and gidMappings needs a new "
                          "user namespace with linux.uidMappings and linux.gidMappings");
    step.uid_map = MapText(spec.linux->uid_mappings);
    step.gid_map = MapText(spec.linux->gid_mappings);
  }
  step.kind = MountStep::Kind::kAttach;
  step.clone_recursive = (opts.flags & MS_REC) != 0;
  step.idmap_recursive = opts.ridmap;
  step.remount = false;
  step.remount_flags = 0;
  TopAttributes(opts, step);
  step.description = "id-mapped bind mount " + step.source + " on " + step.target;
  return {};
}

// As runc's finalizeRootfs: a tmpfs (or /dev) asked ro is mounted rw, so that mount
// points, device nodes, the console and the cwd can be made in it, and remounted ro
// once the rootfs is set up.
void DelayReadonly(MountStep& step, InitPlan& plan) {
  step.flags &= ~MS_RDONLY;
  MountStep ro;
  ro.kind = MountStep::Kind::kRemount;
  ro.target = step.target;
  ro.remount = true;
  ro.remount_flags = step.flags | MS_RDONLY;
  ro.description = "remount " + step.target + " readonly";
  plan.late_readonly.push_back(std::move(ro));
}

Result<void> PlanBind(const PlanInputs& in, const oci::Mount& m, const linux::MountOptions& opts,
                      const std::string& where, MountStep& step) {
  std::string source = m.source;
  if (source.empty()) return Fail(where + ".source: required for a bind mount");
  if (source[0] != '/') source = in.bundle + "/" + source;
  struct stat st;
  if (::stat(source.c_str(), &st) < 0)
    return ErrnoError(where + ".source: " + source);
  step.kind = MountStep::Kind::kBind;
  step.source = source;
  step.target_is_file = !S_ISDIR(st.st_mode);
  step.flags = MS_BIND | (opts.flags & MS_REC);
  // mount(2) ignores most flags on a bind: apply them with a remount.
  unsigned long rest = opts.flags & ~kBindIgnored;
  if (rest) {
    step.remount = true;
    step.remount_flags = rest;
  }
  step.description = "bind mount " + source + " on " + step.target;
  if (m.IsIdMapped()) return PlanIdMappedBind(in, m, opts, where, step);
  return {};
}

// type "cgroup": the container's own cgroups, as runc shows them.
Result<void> PlanCgroupMount(const PlanInputs& in, const oci::Mount& m,
                             const linux::MountOptions& opts, const std::string& dest,
                             InitPlan& plan) {
  bool readonly = opts.IsReadonly();
  unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  bool new_cgroupns = (plan.unshare_after_go & CLONE_NEWCGROUP) != 0;
  if (in.cgroup2) {
    MountStep step;
    step.target = dest;
    if (new_cgroupns) {
      step.source = "cgroup2";
      step.fstype = "cgroup2";
      step.flags = opts.flags | safe;
      step.description = "mount cgroup2 on " + dest;
    } else {
      step.kind = MountStep::Kind::kBind;
      step.source = in.cgroup2_dir;
      step.flags = MS_BIND | MS_REC;
      step.remount = true;
      step.remount_flags = safe | (readonly ? MS_RDONLY : 0);
      step.description = "bind mount " + in.cgroup2_dir + " on " + dest;
    }
    plan.mounts.push_back(std::move(step));
    return {};
  }
  MountStep tmpfs;
  tmpfs.source = "tmpfs";
  tmpfs.fstype = "tmpfs";
  tmpfs.target = dest;
  tmpfs.flags = safe;
  tmpfs.data = "mode=755";
  tmpfs.description = "mount tmpfs for cgroups on " + dest;
  plan.mounts.push_back(std::move(tmpfs));
  for (const auto& cg : in.cgroup_mounts) {
    MountStep bind;
    bind.kind = MountStep::Kind::kBind;
    bind.source = cg.host_dir;
    bind.target = dest + "/" + cg.name;
    bind.flags = MS_BIND | MS_REC;
    bind.remount = true;
    bind.remount_flags = safe | (readonly ? MS_RDONLY : 0);
    bind.description = "bind mount " + cg.host_dir + " on " + bind.target;
    plan.mounts.push_back(std::move(bind));
    // Co-mounted controllers ("cpu,cpuacct") get a link per controller, as on the host.
    if (cg.name.find(',') == std::string::npos) continue;
    size_t start = 0;
    while (start < cg.name.size()) {
      size_t end = cg.name.find(',', start);
      if (end == std::string::npos) end = cg.name.size();
      MountStep link;
      link.kind = MountStep::Kind::kSymlink;
      link.source = cg.name;
      link.target = dest + "/" + cg.name.substr(start, end - start);
      link.description = "symlink " + link.target;
      plan.mounts.push_back(std::move(link));
      start = end + 1;
    }
  }
  if (readonly) {
    // A bind remount of the tmpfs itself, once everything is mounted under it.
    MountStep ro;
    ro.kind = MountStep::Kind::kRemount;
    ro.target = dest;
    ro.remount = true;
    ro.remount_flags = safe | MS_RDONLY;
    ro.description = "remount " + dest + " readonly";
    plan.mounts.push_back(std::move(ro));
  }
  return {};
}

void AddDevice(InitPlan& plan, const std::string& path, mode_t type, unsigned major,
               unsigned minor, mode_t perm, uid_t uid, gid_t gid) {
  // In a user namespace, made or joined, mknod is refused: the host's node is bound.
  bool bind = plan.user_namespace || plan.join_user_namespace;
  for (auto& d : plan.devices) {
    if (d.path == path) {  // a config entry overrides a default one
      d = {path, type | perm, makedev(major, minor), uid, gid, bind};
      return;
    }
  }
  plan.devices.push_back({path, type | perm, makedev(major, minor), uid, gid, bind});
}

Result<void> PlanDevices(const oci::Spec& spec, InitPlan& plan) {
  // The default devices of the runtime-spec.
  AddDevice(plan, "/dev/null", S_IFCHR, 1, 3, 0666, 0, 0);
  AddDevice(plan, "/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0);
  AddDevice(plan, "/dev/full", S_IFCHR, 1, 7, 0666, 0, 0);
  AddDevice(plan, "/dev/random", S_IFCHR, 1, 8, 0666, 0, 0);
  AddDevice(plan, "/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0);
  AddDevice(plan, "/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0);
  if (spec.linux) {
    for (size_t i = 0; i < spec.linux->devices.size(); ++i) {
      const auto& d = spec.linux->devices[i];
      std::string where = "linux.devices[" + std::to_string(i) + "]";
      mode_t type;
      if (d.type == "c" || d.type == "u") type = S_IFCHR;
      else if (d.type == "b") type = S_IFBLK;
      else if (d.type == "p") type = S_IFIFO;
      else return Fail(where + ".type: unknown device type \"" + d.type + "\"");
      if (d.path.empty() || d.path[0] != '/') return Fail(where + ".path: must be absolute");
      if (d.path.find("/../") != std::string::npos || d.path.ends_with("/.."))
        return Fail(where + ".path: must not contain \"..\"");
      if (type != S_IFIFO && (d.major < 0 || d.minor < 0))
        return Fail(where + ": major and minor are required");
      AddDevice(plan, d.path, type, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                static_cast<mode_t>(d.file_mode.value_or(0666) & 07777), d.uid.value_or(0),
                d.gid.value_or(0));
    }
  }
  auto link = [&](const char* target, const char* path) {
    MountStep s;
    s.kind = MountStep::Kind::kSymlink;
    s.source = target;
    s.target = path;
    s.description = std::string("symlink ") + path + " -> " + target;
    plan.dev_links.push_back(std::move(s));
  };
  link("/proc/self/fd", "/dev/fd");
  link("/proc/self/fd/0", "/dev/stdin");
  link("/proc/self/fd/1", "/dev/stdout");
  link("/proc/self/fd/2", "/dev/stderr");
  if (linux::PathExists("/proc/kcore")) link("/proc/kcore", "/dev/core");
  link("pts/ptmx", "/dev/ptmx");
  return {};
}

Result<void> PlanRootPropagation(const PlanInputs& in, InitPlan& plan) {
  const oci::Spec& spec = *in.spec;
  const std::string& name = spec.linux ? spec.linux->rootfs_propagation : std::string();
  // Before mounting: slave, so that nothing we mount leaks to the host, unless the
  // config asks for more.
  plan.root_propagation_before = MS_REC | MS_SLAVE;
  if (name.empty()) return {};
  unsigned long p = linux::ParsePropagation(name);
  if (!p) return Fail("linux.rootfsPropagation: unknown propagation \"" + name + "\"");
  if (p & MS_PRIVATE) plan.root_propagation_before = MS_REC | MS_PRIVATE;
  if (p & MS_SHARED) {
    // As runc: a shared root from the start. Made slave first, the container's mounts
    // would never again be peers of the host's, and a bidirectional volume (CRI's
    // mountPropagation: Bidirectional) would not propagate back.
    plan.root_propagation_before = p;
    plan.rootfs_parent_private = in.rootfs_mount_point.empty() ? "/" : in.rootfs_mount_point;
  }
  plan.root_propagation_after = p;
  return {};
}

}  // namespace

std::string MapText(const std::vector<oci::IdMapping>& maps) {
  std::string text;
  for (const auto& m : maps)
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
            std::to_string(m.size) + "\n";
  return text;
}

Result<void> PlanMounts(const PlanInputs& in, InitPlan& plan, PlanWarnings* warnings) {
  const oci::Spec& spec = *in.spec;
  bool dev_is_bind = false;
  std::string mount_label;
  if (spec.linux && !spec.linux->mount_label.empty()) {
    if (linux::SelinuxEnabled()) {
      BERTH_TRY(linux::CheckSelinuxLabel(spec.linux->mount_label, "linux.mountLabel"));
      mount_label = spec.linux->mount_label;
    } else if (warnings)
      warnings->messages.push_back("linux.mountLabel ignored: SELinux is not enabled");
  }
  int idmapped = 0;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const oci::Mount& m = spec.mounts[i];
    std::string where = "mounts[" + std::to_string(i) + "]";
    if (m.IsIdMapped() && ++idmapped > kMaxDetachedMounts)
      return Fail(where + ": more than " + std::to_string(kMaxDetachedMounts) +
                  " id-mapped mounts");
    linux::MountOptions opts = linux::ParseMountOptions(m.options);
    if (opts.tmpcopyup) return Fail(where + ": the tmpcopyup option is not supported");
    std::string dest = CleanDestination(m.destination);
    if (dest.find("/../") != std::string::npos || dest.ends_with("/.."))
      return Fail(where + ".destination: must not contain \"..\"");
    if (m.type == "cgroup") {
      BERTH_TRY(PlanCgroupMount(in, m, opts, dest, plan));
      continue;
    }
    MountStep step;
    step.target = dest;
    if (m.type != "proc" && UnderProc(dest)) {
      if (!ProcOvermountable(dest))
        return Fail(where + ".destination: " + dest +
                    ": only procfs may be mounted on /proc, and only lxcfs's files over it");
      step.may_cover_procfs = true;
    }
    if (opts.IsBind() || m.type == "bind") {
      BERTH_TRY(PlanBind(in, m, opts, where, step));
      if (dest == "/dev") dev_is_bind = true;
      // In a user namespace the init may not reach the source (a host directory only
      // root may enter, as containerd's sandbox state is): the runtime opens it before
      // clone, as a detached mount the init attaches, as runc does.
      if (step.kind == MountStep::Kind::kBind && spec.FindNamespace("user") && !in.rootless &&
          idmapped < kMaxDetachedMounts) {
        ++idmapped;
        step.kind = MountStep::Kind::kAttach;
        step.clone_recursive = (opts.flags & MS_REC) != 0;
        step.remount = false;
        step.remount_flags = 0;
        TopAttributes(opts, step);
      }
    } else {
      step.source = m.source.empty() ? m.type : m.source;
      step.fstype = m.type;
      step.flags = opts.flags & ~MS_REMOUNT;
      step.data = opts.data;
      if (!mount_label.empty() && m.type != "proc" && m.type != "sysfs" && m.type != "cgroup2")
        step.data += (step.data.empty() ? "" : ",") + std::string("context=\"") + mount_label + "\"";
      step.description = "mount " + (m.type.empty() ? std::string("none") : m.type) + " on " + dest;
      if ((step.flags & MS_RDONLY) && (m.type == "tmpfs" || dest == "/dev"))
        DelayReadonly(step, plan);
    }
    step.propagation = opts.propagation;
    step.attr_set = opts.attr_set;
    step.attr_clr = opts.attr_clr;
    plan.mounts.push_back(std::move(step));
  }
  plan.setup_dev = !dev_is_bind;
  if (plan.setup_dev) BERTH_TRY(PlanDevices(spec, plan));
  BERTH_TRY(PlanRootPropagation(in, plan));
  plan.readonly_root = spec.root.readonly;
  if (spec.linux) {
    plan.masked_paths = spec.linux->masked_paths;
    plan.readonly_paths = spec.linux->readonly_paths;
  }
  return {};
}

Result<void> PlanSysctls(const oci::Spec& spec, InitPlan& plan) {
  if (!spec.linux) return {};
  static const std::set<std::string> kIpcSysctls = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",  "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& [key, value] : spec.linux->sysctl) {
    std::string where = "linux.sysctl \"" + key + "\"";
    if (key.empty() || key.find("..") != std::string::npos || key[0] == '.' || key[0] == '/')
      return Fail(where + ": invalid name");
    // Only sysctls that belong to a namespace the container has (as runc).
    if (kIpcSysctls.count(key) || key.starts_with("fs.mqueue.")) {
      if (!spec.HasNamespace("ipc")) return Fail(where + ": not allowed in the host's ipc namespace");
    } else if (key.starts_with("net.")) {
      if (!spec.HasNamespace("network"))
        return Fail(where + ": not allowed in the host's network namespace");
    } else if (key == "kernel.domainname" && spec.HasNamespace("uts")) {
    } else if (key == "kernel.hostname") {
      return Fail(where + ": set the hostname field instead");
    } else {
      return Fail(where + ": not in a namespace of the container, it would change the host");
    }
    std::string path = "/proc/sys/" + key;
    for (size_t i = sizeof("/proc/sys/") - 1; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    plan.sysctls.push_back({path, value});
  }
  return {};
}

}  // namespace berth::container
