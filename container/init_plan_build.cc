// Namespaces, process and security parts of the InitPlan. Mounts and devices
// are in init_plan_mounts.cc.
#include "container/init_plan_build.h"

#include <linux/ioprio.h>
#include <sched.h>
#include <sys/personality.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "container/init_plan_mounts.h"
#include "container/init_plan_sched.h"
#include "linux/capabilities.h"
#include "linux/files.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "linux/rlimits.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::container {

void CStringArray::Set(std::vector<std::string> values) {
  strings = std::move(values);
  pointers.clear();
  for (const auto& s : strings) pointers.push_back(s.c_str());
  pointers.push_back(nullptr);
}

namespace {

constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Result<void> PlanNamespaces(const oci::Spec& spec, InitPlan& plan) {
  if (!spec.linux) return {};
  std::set<std::string> seen;
  uint64_t created = 0;
  std::vector<JoinedNamespace> joins;
  bool joins_user_or_pid = false;
  for (size_t i = 0; i < spec.linux->namespaces.size(); ++i) {
    const auto& ns = spec.linux->namespaces[i];
    std::string where = "linux.namespaces[" + std::to_string(i) + "]";
    auto kind = linux::FindNamespaceKind(ns.type);
    if (!kind) return Fail(where + ".type: unknown namespace type \"" + ns.type + "\"");
    if (!seen.insert(ns.type).second)
      return Fail(where + ": namespace \"" + ns.type + "\" is listed twice");
    if (ns.path.empty()) {
      created |= static_cast<uint64_t>(kind->clone_flag);
      continue;
    }
    if (ns.path[0] != '/') return Fail(where + ".path: must be absolute");
    joins.push_back({ns.path, kind->clone_flag});
    if (kind->clone_flag == CLONE_NEWUSER || kind->clone_flag == CLONE_NEWPID)
      joins_user_or_pid = true;
  }
  // setns order: the user namespace first, so that the others are joined with its rights.
  std::stable_sort(joins.begin(), joins.end(), [](const auto& a, const auto& b) {
    return (a.clone_flag == CLONE_NEWUSER) > (b.clone_flag == CLONE_NEWUSER);
  });
  plan.mount_namespace = (created & CLONE_NEWNS) != 0 || seen.count("mount");
  plan.user_namespace = (created & CLONE_NEWUSER) != 0;
  if (created & CLONE_NEWUSER) {
    if (spec.linux->uid_mappings.empty() || spec.linux->gid_mappings.empty())
      return Fail("linux.uidMappings and linux.gidMappings are required with a new user namespace");
    for (const auto& m : spec.linux->uid_mappings)
      if (m.container_id == 0) plan.become_root_in_userns = true;
  }
  // A joined user namespace (a pod's, pinned by containerd): root in it too, as runc's
  // init does; left as host root, the init's files there would have no owner
  // (EOVERFLOW) and its mounts no rights.
  bool maps_root = std::any_of(spec.linux->uid_mappings.begin(), spec.linux->uid_mappings.end(),
                               [](const auto& m) { return m.container_id == 0; });
  plan.join_user_namespace = maps_root && std::any_of(joins.begin(), joins.end(), [](const auto& j) {
    return j.clone_flag == CLONE_NEWUSER;
  });
  bool time_offsets = !spec.linux->time_offsets.empty();
  if (time_offsets && !(created & CLONE_NEWTIME))
    return Fail("linux.timeOffsets needs a new time namespace");
  for (const auto& [clock, offset] : spec.linux->time_offsets) {
    if (clock != "monotonic" && clock != "boottime")
      return Fail("linux.timeOffsets: unknown clock \"" + clock + "\"");
    plan.timens_offsets += clock + " " + std::to_string(offset.secs) + " " +
                           std::to_string(offset.nanosecs) + "\n";
  }
  // The cgroup namespace is made once init is inside its cgroup, so that its root is there.
  plan.unshare_after_go = created & CLONE_NEWCGROUP;
  created &= ~static_cast<uint64_t>(CLONE_NEWCGROUP);
  plan.two_stage = joins_user_or_pid || (time_offsets) ||
                   ((created & CLONE_NEWUSER) && !joins.empty());
  if (plan.two_stage) {
    plan.stage1_joins = std::move(joins);
    plan.stage1_unshare = created & (CLONE_NEWUSER | (time_offsets ? CLONE_NEWTIME : 0));
    plan.clone_flags = created & ~plan.stage1_unshare;
  } else {
    plan.joins = std::move(joins);
    plan.clone_flags = created;
  }
  return {};
}

Result<void> PlanHostname(const oci::Spec& spec, InitPlan& plan) {
  // As runc: a uts namespace of the container's own, new or joined by path.
  bool own_uts = spec.HasNamespace("uts");
  if (!spec.hostname.empty()) {
    if (!own_uts) return Fail("hostname: setting it needs a uts namespace of the container");
    plan.hostname = spec.hostname;
    plan.set_hostname = true;
  }
  if (!spec.domainname.empty()) {
    if (!own_uts) return Fail("domainname: setting it needs a uts namespace of the container");
    plan.domainname = spec.domainname;
    plan.set_domainname = true;
  }
  return {};
}

Result<void> PlanCapabilities(const oci::Process& p, InitPlan& plan, PlanWarnings* warnings) {
  plan.last_cap = linux::LastCapability();
  if (!p.capabilities) return {};
  const auto& c = *p.capabilities;
  std::vector<std::string> skipped;
  plan.has_capabilities = true;
  plan.caps.bounding = BERTH_TRY(
      linux::CapabilityMask(c.bounding, "process.capabilities.bounding", plan.last_cap, &skipped));
  plan.caps.effective = BERTH_TRY(
      linux::CapabilityMask(c.effective, "process.capabilities.effective", plan.last_cap, &skipped));
  plan.caps.permitted = BERTH_TRY(
      linux::CapabilityMask(c.permitted, "process.capabilities.permitted", plan.last_cap, &skipped));
  plan.caps.inheritable = BERTH_TRY(linux::CapabilityMask(
      c.inheritable, "process.capabilities.inheritable", plan.last_cap, &skipped));
  plan.caps.ambient = BERTH_TRY(
      linux::CapabilityMask(c.ambient, "process.capabilities.ambient", plan.last_cap, &skipped));
  if (warnings)
    for (const auto& name : skipped)
      warnings->messages.push_back("capability " + name + " is not known to this kernel; ignored");
  return {};
}

Result<void> PlanRlimits(const oci::Process& p, InitPlan& plan) {
  std::set<int> seen;
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    const auto& r = p.rlimits[i];
    std::string where = "process.rlimits[" + std::to_string(i) + "]";
    int resource = linux::RlimitNumber(r.type);
    if (resource < 0) return Fail(where + ".type: unknown rlimit \"" + r.type + "\"");
    if (!seen.insert(resource).second) return Fail(where + ": rlimit " + r.type + " is set twice");
    if (r.soft > r.hard)
      return Fail(where + ": soft limit " + std::to_string(r.soft) + " exceeds hard limit " +
                  std::to_string(r.hard));
    plan.rlimits.push_back({resource, r.soft, r.hard});
  }
  return {};
}

Result<void> PlanProcessAttributes(const oci::Process& p, const oci::Spec& spec, InitPlan& plan,
                                   PlanWarnings* warnings) {
  // A label the host cannot apply is an error, never silently dropped.
  if (!p.apparmor_profile.empty()) {
    BERTH_TRY(linux::CheckAppArmorProfile(p.apparmor_profile, "process.apparmorProfile"));
    plan.apparmor_profile = p.apparmor_profile;
  }
  if (!p.selinux_label.empty()) {
    BERTH_TRY(linux::CheckSelinuxLabel(p.selinux_label, "process.selinuxLabel"));
    plan.selinux_label = p.selinux_label;
  }
  if (spec.linux && spec.linux->personality) {
    const auto& per = *spec.linux->personality;
    if (per.domain == "LINUX") plan.personality = PER_LINUX;
    else if (per.domain == "LINUX32") plan.personality = PER_LINUX32;
    else return Fail("linux.personality.domain: unknown domain \"" + per.domain + "\"");
    // The spec defines no flag values yet: ignored with a warning, as runc 1.4 does.
    if (!per.flags.empty() && warnings) {
      std::string names;
      for (const auto& f : per.flags) names += (names.empty() ? "" : ", ") + f;
      warnings->messages.push_back("linux.personality.flags (" + names +
                                   "): no flags are defined by the runtime spec; ignored");
    }
    plan.has_personality = true;
  }
  if (p.io_priority) {
    int klass;
    if (p.io_priority->klass == "IOPRIO_CLASS_RT") klass = IOPRIO_CLASS_RT;
    else if (p.io_priority->klass == "IOPRIO_CLASS_BE") klass = IOPRIO_CLASS_BE;
    else if (p.io_priority->klass == "IOPRIO_CLASS_IDLE") klass = IOPRIO_CLASS_IDLE;
    else return Fail("process.ioPriority.class: unknown class \"" + p.io_priority->klass + "\"");
    if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
      return Fail("process.ioPriority.priority: must be between 0 and 7");
    plan.has_io_priority = true;
    plan.io_priority = IOPRIO_PRIO_VALUE(klass, p.io_priority->priority);
  }
  return {};
}

Result<void> PlanProcess(const PlanInputs& in, InitPlan& plan, PlanWarnings* warnings) {
  const oci::Process& p = *in.process;
  if (p.args.empty()) return Fail("process.args: must not be empty");
  if (p.cwd.empty() || p.cwd[0] != '/') return Fail("process.cwd: must be an absolute path");
  plan.argv.Set(p.args);
  std::vector<std::string> env = p.env;
  if (in.listen_fds > 0) {
    env.push_back("LISTEN_FDS=" + std::to_string(in.listen_fds));
    env.push_back("LISTEN_PID=1");
  }
  std::string path(kDefaultPath);
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = e.substr(5);
  plan.envp.Set(std::move(env));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    plan.path_dirs.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  plan.cwd = p.cwd;
  plan.uid = p.user.uid;
  plan.gid = p.user.gid;
  plan.additional_gids.assign(p.user.additional_gids.begin(), p.user.additional_gids.end());
  // An unprivileged runtime writes "deny" to setgroups before mapping gids.
  plan.set_groups = !(plan.user_namespace && ::geteuid() != 0);
  if (p.user.umask) plan.umask = static_cast<mode_t>(*p.user.umask);
  plan.terminal = p.terminal;
  if (p.console_size) {
    plan.console_rows = static_cast<unsigned short>(p.console_size->height);
    plan.console_cols = static_cast<unsigned short>(p.console_size->width);
  }
  plan.no_new_privileges = p.no_new_privileges;
  plan.preserve_fds = in.preserve_fds + in.listen_fds;
  BERTH_TRY(PlanCapabilities(p, plan, warnings));
  BERTH_TRY(PlanRlimits(p, plan));
  BERTH_TRY(PlanScheduling(p, *in.spec, plan));
  return PlanProcessAttributes(p, *in.spec, plan, warnings);
}

Result<void> PlanSeccomp(const PlanInputs& in, InitPlan& plan) {
  const oci::Spec& spec = *in.spec;
  if (!spec.linux || !spec.linux->seccomp) return {};
  linux::SeccompCompileOptions options;
  options.cache_dir = in.seccomp_cache_dir;
  plan.seccomp = BERTH_TRY_CTX(linux::CompileSeccomp(*spec.linux->seccomp, options), "linux.seccomp");
  plan.has_seccomp = true;
  // Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN: if the process will
  // not keep it, the filter goes in before the user and capabilities change.
  bool keeps_sys_admin = plan.has_capabilities
                             ? (plan.caps.effective >> 21) & 1  // CAP_SYS_ADMIN
                             : plan.uid == 0;
  plan.seccomp_early = !plan.no_new_privileges && !keeps_sys_admin;
  // A notify listener goes to the agent at create time, like runc.
  plan.seccomp_before_start = plan.seccomp.wants_listener;
  return {};
}

Result<void> PlanHooks(const oci::Spec& spec, InitPlan& plan) {
  auto convert = [](const std::vector<oci::Hook>& hooks, const char* kind,
                    std::vector<HookCommand>& out) -> Result<void> {
    for (size_t i = 0; i < hooks.size(); ++i) {
      const auto& h = hooks[i];
      if (h.path.empty() || h.path[0] != '/')
        return Fail(std::string("hooks.") + kind + "[" + std::to_string(i) +
                    "].path: must be absolute");
      HookCommand cmd;
      cmd.path = h.path;
      cmd.argv.Set(h.args.empty() ? std::vector<std::string>{h.path} : h.args);
      if (!h.env.empty()) cmd.envp.Set(h.env);
      cmd.timeout_seconds = h.timeout.value_or(0);
      cmd.description = std::string(kind) + " hook " + std::to_string(i) + " (" + h.path + ")";
      out.push_back(std::move(cmd));
    }
    return {};
  };
  BERTH_TRY(convert(spec.hooks.create_container, "createContainer", plan.create_container_hooks));
  BERTH_TRY(convert(spec.hooks.start_container, "startContainer", plan.start_container_hooks));
  plan.parent_hooks = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty();
  return {};
}

}  // namespace

Result<InitPlan> BuildInitPlan(const PlanInputs& in, PlanWarnings* warnings) {
  InitPlan plan;
  const oci::Spec& spec = *in.spec;
  plan.rootfs = in.rootfs;
  plan.no_pivot = in.no_pivot;
  plan.host_pseudo_fs = in.host_pseudo_fs;
  if (!in.no_new_keyring) plan.session_keyring = in.container_id;
  BERTH_TRY(PlanNamespaces(spec, plan));
  BERTH_TRY(PlanHostname(spec, plan));
  BERTH_TRY(PlanProcess(in, plan, warnings));
  BERTH_TRY(PlanMounts(in, plan, warnings));
  BERTH_TRY(PlanSysctls(spec, plan));
  BERTH_TRY(PlanHooks(spec, plan));
  BERTH_TRY(PlanSeccomp(in, plan));
  return plan;
}

Result<InitPlan> BuildExecPlan(const PlanInputs& in, PlanWarnings* warnings) {
  InitPlan plan;
  plan.exec = true;
  plan.two_stage = true;
  plan.wait_for_start = false;
  plan.rootfs = in.rootfs;
  BERTH_TRY(PlanProcess(in, plan, warnings));
  BERTH_TRY(PlanSeccomp(in, plan));
  return plan;
}

}  // namespace berth::container
