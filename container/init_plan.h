// InitPlan: everything the container's init process does between clone and
// execve, computed by the runtime BEFORE cloning. The child only reads it and
// makes syscalls (no allocation, no locks), so the library is safe to use from
// a multi-threaded shim. Built by init_plan_build.cc, executed by init_*.cc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "linux/capabilities.h"
#include "linux/sched.h"
#include "linux/seccomp.h"

namespace berth::container {

// argv/envp-style arrays that own their strings.
struct CStringArray {
  std::vector<std::string> strings;
  std::vector<const char*> pointers;  // strings' c_str(), then nullptr

  void Set(std::vector<std::string> values);
  char* const* get() const { return const_cast<char* const*>(pointers.data()); }
  bool empty() const { return strings.empty(); }
};

struct JoinedNamespace {
  std::string path;
  int clone_flag = 0;
};

struct MountStep {
  // kAttach: an id-mapped bind, made by the runtime before clone as a detached mount
  // (container/idmap.cc) and attached by init with move_mount at its place in the order.
  enum class Kind { kMount, kBind, kSymlink, kRemount, kAttach };
  Kind kind = Kind::kMount;
  std::string source;   // fs source, or absolute host path for a bind
  std::string target;   // path inside the rootfs ("/proc")
  std::string fstype;
  unsigned long flags = 0;
  std::string data;
  bool target_is_file = false;  // bind of a file: create a file, not a directory
  // One of lxcfs's files: the only mounts allowed to land on procfs (CVE-2019-16884).
  bool may_cover_procfs = false;
  // After the mount: a bind remount with these flags (ro binds, nosuid binds...).
  bool remount = false;
  unsigned long remount_flags = 0;
  unsigned long propagation = 0;
  uint64_t attr_set = 0, attr_clr = 0;  // mount_setattr(AT_RECURSIVE)
  std::string description;  // for errors: "mount proc on /proc"
  // kAttach: the maps of the mount's user namespace ("0 100000 65536\n"), whether the
  // tree is cloned with its submounts (rbind) and mapped with them (ridmap), the
  // attributes the flags ask for (set on the top mount), and the detached mount's fd,
  // inherited by init across clone.
  std::string uid_map, gid_map;
  bool clone_recursive = false, idmap_recursive = false;
  uint64_t top_attr_set = 0, top_attr_clr = 0;
  int detached_fd = -1;
};

// Init keeps at most this many detached mounts across CloseOtherFds.
inline constexpr int kMaxDetachedMounts = 32;

struct DeviceNode {
  std::string path;  // inside the rootfs
  mode_t mode = 0;   // S_IFCHR | 0666 ...
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool bind_from_host = false;  // user namespaces cannot mknod: bind the host node
};

struct HookCommand {
  std::string path;
  CStringArray argv;
  CStringArray envp;  // empty: inherit the runtime's environment
  int timeout_seconds = 0;
  std::string description;  // "createContainer hook 0 (/usr/bin/x)"
};

struct RlimitValue {
  int resource = 0;
  uint64_t soft = 0, hard = 0;
};

struct SysctlWrite {
  std::string path;  // "/proc/sys/net/ipv4/ip_forward"
  std::string value;
};

// Parent <-> init messages over a SOCK_SEQPACKET socketpair.
enum class SyncType : uint32_t {
  kGo = 1,          // parent: maps written, carry on (value = init's host pid)
  kCgroupJoined,    // parent: init is in its cgroup (waited for before forks and cgroupns)
  kNeedIdMaps,      // stage 1: write my uid/gid maps (value = my pid)
  kStage2Pid,       // stage 1: init's pid in `value`, its pidfd attached
  kRunHooks,        // init: run prestart/createRuntime hooks now
  kHooksDone,       // parent: prestart/createRuntime hooks ran
  kPtyMaster,       // init: the pty master is attached
  kSeccompListener, // init: the seccomp notify fd is my fd number `value` (pidfd_getfd it)
  kSeccompListenerTaken,  // parent: the listener is with the agent
  kCreated,         // init: set up, now waiting for `start`
  kError,           // init: failed; err = errno, text = what was being done
};

struct SyncMessage {
  SyncType type{};
  int32_t err = 0;
  int32_t value = 0;
  char text[2048] = {};
};

struct InitPlan {
  // Namespaces.
  uint64_t clone_flags = 0;            // new namespaces created by clone3
  uint64_t unshare_after_go = 0;       // CLONE_NEWCGROUP: only once inside the cgroup
  std::vector<JoinedNamespace> joins;  // setns in the child
  bool two_stage = false;              // joined pid/user ns, or time offsets: fork twice
  std::vector<JoinedNamespace> stage1_joins;
  uint64_t stage1_unshare = 0;         // namespaces stage 1 unshares before cloning init
  std::string timens_offsets;          // "monotonic 1 0\nboottime 2 0\n"
  bool user_namespace = false;         // init runs in a new user namespace
  bool become_root_in_userns = false;  // container uid 0 is mapped
  bool join_user_namespace = false;  // stage 1 joins one: it becomes root there after setns

  // A new session keyring named after the container ("" with --no-new-keyring),
  // so that keys of the caller's session are not reachable from the container.
  std::string session_keyring;

  // UTS.
  std::string hostname, domainname;
  bool set_hostname = false, set_domainname = false;

  // Rootfs.
  bool mount_namespace = false;
  std::string rootfs;                  // absolute host path
  unsigned long root_propagation_before = 0;  // applied to "/" before mounting
  // With a shared "/": the mount that holds the rootfs, made private (only it) before
  // the rootfs is bound onto itself, so that pivot_root accepts it.
  std::string rootfs_parent_private;
  unsigned long root_propagation_after = 0;   // applied to the new "/" after pivot_root
  std::vector<MountStep> mounts;
  bool setup_dev = false;              // /dev is not a bind from the host: make nodes
  std::vector<DeviceNode> devices;
  std::vector<MountStep> dev_links;    // /dev/fd, /dev/stdin, ..., /dev/ptmx
  bool no_pivot = false;
  std::vector<std::string> host_pseudo_fs;  // hidden before the MS_MOVE of no_pivot
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  bool readonly_root = false;
  // tmpfs mounts (and /dev) asked ro: mounted rw, remounted ro at the end of the setup.
  std::vector<MountStep> late_readonly;
  std::vector<SysctlWrite> sysctls;

  // Process.
  int stdio[3] = {-1, -1, -1};  // -1: keep the fd the runtime was given
  bool terminal = false;
  unsigned short console_rows = 0, console_cols = 0;
  CStringArray argv;
  CStringArray envp;
  std::vector<std::string> path_dirs;  // $PATH of the container, for argv[0] lookup
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  bool set_groups = true;  // false in a user namespace whose setgroups is denied
  mode_t umask = 022;
  bool has_capabilities = false;
  linux::CapabilitySets caps;
  int last_cap = 0;
  bool no_new_privileges = false;
  std::vector<RlimitValue> rlimits;
  std::string apparmor_profile;  // only set when the host enforces AppArmor
  std::string selinux_label;     // only set when the host enforces SELinux
  bool has_personality = false;
  unsigned long personality = 0;
  bool has_io_priority = false;
  int io_priority = 0;
  int preserve_fds = 0;  // fds 3 .. 3+n-1 pass through to the process
  // process.scheduler and linux.memoryPolicy, set before kCreated as runc does: with
  // the runtime's privileges still held (SCHED_FIFO needs CAP_SYS_NICE).
  bool has_scheduler = false;
  linux::SchedAttr sched_attr;
  bool has_memory_policy = false;
  int memory_policy_mode = 0;  // mode | MPOL_F_* flags
  linux::IdMask memory_policy_nodes;

  // seccomp, compiled before clone.
  bool has_seccomp = false;
  linux::SeccompProgram seccomp;
  bool seccomp_before_start = false;  // listener wanted: load at create time, send the fd
  bool seccomp_early = false;  // no NNP and no CAP_SYS_ADMIN later: load before setuid/capset

  // `exec`: the process joins a running container instead of making one. Always
  // two stages: stage 1 does setns(join_pidfd, join_flags) (every namespace of the
  // container's init at once, so a recycled pid cannot swap them), then clones the
  // process into the joined pid and time namespaces. No rootfs, hooks or exec.fifo.
  bool exec = false;
  int join_pidfd = -1;
  uint64_t join_flags = 0;
  bool exec_chroot = false;  // the container shares our mount namespace: chroot to rootfs

  // prestart/createRuntime hooks exist: init stops for the runtime to run them.
  bool parent_hooks = false;
  // Hooks run by init itself, in the container's namespaces.
  std::vector<HookCommand> create_container_hooks;
  std::vector<HookCommand> start_container_hooks;

  // The first process joins the container's cgroups by itself (cgroup::SelfJoin):
  // it is cloned into the v2 one, then writes "0" to each v1 "tasks" file and closes it.
  int cgroup_dir_fd = -1;
  std::vector<int> cgroup_tasks_fds;
  std::vector<std::string> cgroup_tasks_dirs;

  // Communication.
  int sync_fd = -1;       // init's end of the socketpair (for exec, open until execve)
  int state_dir_fd = -1;  // O_PATH fd of the state dir, for exec.fifo
  bool wait_for_start = true;  // false for `exec`-like immediate start
  // exec: the process joins a running container whose rootfs is already set up, so no
  // mounts, hostname or create hooks. The sync socket stays open until execve (it is
  // O_CLOEXEC), so the runtime learns of a failure after kCreated too.
  bool join_container = false;
  // The hooks' state JSON is hook_state_prefix + <init's host pid> + hook_state_suffix.
  std::string hook_state_prefix, hook_state_suffix;
};

}  // namespace berth::container
