// The container's init process, from clone to execve. Async-signal-safe only:
// the runtime may be a multi-threaded shim, so nothing here allocates or locks.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/ioprio.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "container/init_context.h"
#include "linux/async_safe.h"
#include "linux/fd_passing.h"
#include "linux/in_root.h"
#include "linux/lsm.h"
#include "linux/process.h"
#include "linux/procfs.h"
#include "linux/terminal.h"

namespace berth::container {
namespace {

using linux::FixedText;

// Exit status of an init that failed before exec, as a shell would report it.
constexpr int kInitFailedExit = 127;

void ResetSignals() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);
  }
  // Writing a hook's stdin must not kill us if the hook never reads it.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void RestoreSigpipe() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
}

// Raw syscalls: glibc's set*id wrappers broadcast to the threads of the process
// we were cloned from, which do not exist here.
int SetResGid(gid_t g) noexcept { return ::syscall(SYS_setresgid, g, g, g) < 0 ? -errno : 0; }
int SetResUid(uid_t u) noexcept { return ::syscall(SYS_setresuid, u, u, u) < 0 ? -errno : 0; }
int SetGroups(size_t n, const gid_t* gids) noexcept {
  return ::syscall(SYS_setgroups, n, gids) < 0 ? -errno : 0;
}

// Closes every fd but stdio, the preserved ones and our own: fds other threads
// of the runtime opened (and their locks, pipe ends) must not live on in here.
void CloseOtherFds(const InitPlan& plan) noexcept {
  constexpr int kMaxKeep = 8 + kMaxDetachedMounts;
  int keep[kMaxKeep];
  int n = 0;
  auto add = [&](int fd) {
    if (fd > 2 + plan.preserve_fds && n < kMaxKeep) keep[n++] = fd;
  };
  add(plan.sync_fd);
  add(plan.state_dir_fd);
  add(plan.join_pidfd);
  for (int fd : plan.stdio) add(fd);
  for (const auto& step : plan.mounts) add(step.detached_fd);  // id-mapped binds to attach
  for (int i = 1; i < n; ++i)  // insertion sort: a few dozen fds at most
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) std::swap(keep[j - 1], keep[j]);
  unsigned first = 3 + static_cast<unsigned>(plan.preserve_fds);
  for (int i = 0; i < n; ++i) {
    if (static_cast<unsigned>(keep[i]) > first)
      ::syscall(SYS_close_range, first, static_cast<unsigned>(keep[i]) - 1, 0);
    first = static_cast<unsigned>(keep[i]) + 1;
  }
  ::syscall(SYS_close_range, first, ~0U, 0);
}

// Joins a fresh session keyring and lets its user search it (as runc does).
void JoinSessionKeyring(InitContext& ctx) noexcept {
  constexpr int kJoinSessionKeyring = 1, kSetPerm = 5, kDescribe = 6;
  long key = ::syscall(SYS_keyctl, kJoinSessionKeyring, ctx.plan.session_keyring.c_str());
  if (key < 0) {
    if (errno == ENOSYS) return;  // kernel without keys
    ctx.Fail(errno, "join a session keyring");
  }
  // "type;uid;gid;perm;description": perm is the 4th field, in hex.
  char desc[256] = {};
  long n = ::syscall(SYS_keyctl, kDescribe, key, desc, sizeof desc - 1);
  if (n < 0) ctx.Fail(errno, "describe the session keyring");
  const char* p = desc;
  for (int field = 0; field < 3 && p; ++field) {
    p = std::strchr(p, ';');
    if (p) ++p;
  }
  unsigned long perm = 0;
  for (; p && *p && *p != ';'; ++p) {
    int digit = (*p >= '0' && *p <= '9') ? *p - '0' : (*p | 0x20) - 'a' + 10;
    perm = perm * 16 + static_cast<unsigned long>(digit);
  }
  constexpr unsigned long kUserSearch = 0x00080000;
  if (::syscall(SYS_keyctl, kSetPerm, key, perm | kUserSearch) < 0)
    ctx.Fail(errno, "set the session keyring's permissions");
}

void BecomeRootInUserNamespace(InitContext& ctx) noexcept {
  ctx.Check(SetResGid(0), "setresgid 0 in the user namespace");
  ctx.Check(SetResUid(0), "setresuid 0 in the user namespace");
}

void JoinNamespaces(InitContext& ctx, const std::vector<JoinedNamespace>& joins) noexcept {
  for (const auto& ns : joins) {
    int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ctx.Fail(errno, "open namespace ", ns.path.c_str());
    if (::setns(fd, ns.clone_flag) < 0) ctx.Fail(errno, "join namespace ", ns.path.c_str());
    ::close(fd);
  }
}

void SetupStdio(InitContext& ctx) noexcept {
  for (int i = 0; i < 3; ++i) {
    int fd = ctx.plan.stdio[i];
    if (fd < 0 || fd == i) continue;
    ctx.CheckErrno(::dup2(fd, i), "dup2 stdio");
  }
}

// CVE-2025-52565: /dev/console gets the pty we hold (by fd, never by a /dev/pts/N
// path), on a target reached inside the root that is a plain file or a device,
// never a symlink.
void BindConsole(InitContext& ctx, int root, int slave) noexcept {
  int target = linux::OpenInRoot(root, "/dev/console", linux::CreateAs::kFile, O_NOFOLLOW);
  ctx.Check(target, "create /dev/console");
  struct stat st;
  ctx.CheckErrno(::fstat(target, &st), "stat /dev/console");
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    ctx.Fail(EPERM, "/dev/console is not a regular file or a device");
  int tree = static_cast<int>(::syscall(SYS_open_tree, slave, "",
                                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  ctx.CheckErrno(tree, "clone a mount of the console pty");
  ctx.CheckErrno(static_cast<int>(::syscall(SYS_move_mount, tree, "", target, "",
                                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)),
                 "bind the pty on /dev/console");
  ::close(tree);
  ::close(target);
}

void SetupTerminal(InitContext& ctx) noexcept {
  int master, slave;
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) ctx.Fail(errno, "open /");
  ctx.Check(linux::OpenPtyInRoot(root, &master, &slave), "open /dev/ptmx in the container");
  if (!ctx.plan.exec) BindConsole(ctx, root, slave);
  ::close(root);
  if (ctx.plan.console_rows || ctx.plan.console_cols)
    ctx.Check(linux::SetWindowSize(slave, ctx.plan.console_rows, ctx.plan.console_cols),
              "set the console size");
  ctx.Send(SyncType::kPtyMaster, 0, master);
  ::close(master);
  ctx.Check(linux::AttachTerminal(slave), "make the pty the controlling terminal");
  if (slave > 2) ::close(slave);
}

// stat(2) of `path` resolved inside "/" with magic links refused: a
// /proc/self/fd/N path cannot name a host file through one of our fds
// (CVE-2024-21626), even while the state directory's fd is still open.
int StatInRoot(int root, const char* path, struct stat* st) noexcept {
  int fd = linux::OpenInRoot(root, path, linux::CreateAs::kNothing);
  if (fd < 0) return fd;
  int r = ::fstat(fd, st) < 0 ? -errno : 0;
  ::close(fd);
  return r;
}

// exec's $PATH lookup, done at create so a missing binary fails `create` (as runc).
void ResolveExecutable(InitContext& ctx) noexcept {
  const char* name = ctx.plan.argv.strings.empty() ? nullptr : ctx.plan.argv.strings[0].c_str();
  if (!name || !*name) ctx.Fail(EINVAL, "process.args is empty");
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) ctx.Fail(errno, "open /");
  FixedText out(ctx.resolved_exe, sizeof ctx.resolved_exe);
  struct stat st;
  if (std::strchr(name, '/')) {
    out.Add(name);
    ctx.Check(StatInRoot(root, ctx.resolved_exe, &st), "exec \"", name, "\"");
    if (S_ISDIR(st.st_mode)) ctx.Fail(EISDIR, "exec \"", name, "\"");
    ::close(root);
    return;
  }
  for (const auto& dir : ctx.plan.path_dirs) {
    out.clear();
    out.Add(dir.empty() ? "." : dir.c_str()).Add("/").Add(name);
    if (StatInRoot(root, ctx.resolved_exe, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
      ::close(root);
      return;
    }
  }
  ctx.Fail(ENOENT, "exec: \"", name, "\": executable file not found in $PATH");
}

void WaitForStart(InitContext& ctx) noexcept {
  // Blocks until `start` opens the other end for reading.
  int fd;
  do {
    fd = ::openat(ctx.plan.state_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) ctx.Fail(errno, "open exec.fifo");
  int lowest = 3 + ctx.plan.preserve_fds;
  if (fd < lowest) {  // keep the preserved fd numbers free for the process
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, lowest);
    if (moved < 0) ctx.Fail(errno, "move exec.fifo fd");
    ::close(fd);
    fd = moved;
  }
  ctx.fifo_fd = fd;
  ::close(ctx.plan.state_dir_fd);
  if (linux::WriteFully(fd, "0", 1) < 0) ctx.Fail(errno, "write exec.fifo");
}

void DropBoundingSet(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  if (p.has_capabilities)
    ctx.Check(linux::DropBoundingSet(p.caps.bounding, p.last_cap), "drop bounding capabilities");
}

bool IsDevNull(const struct stat& st) noexcept {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

// As runc's fixStdioPermissions: stdio (the pty slave above all) becomes the user's, so
// the process can use its own terminal; the gid stays the one devpts' gid= option gave.
// EPERM (an owner not mapped in our user namespace) and EROFS leave the fd as it is.
void GiveStdioToUser(InitContext& ctx) noexcept {
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st;
    if (::fstat(fd, &st) < 0) {
      if (errno == EBADF) continue;  // a closed stdio stays closed
      ctx.Fail(errno, "fstat stdio");
    }
    if (st.st_uid == ctx.plan.uid || IsDevNull(st)) continue;
    if (::fchown(fd, ctx.plan.uid, static_cast<gid_t>(-1)) < 0 && errno != EPERM && errno != EROFS)
      ctx.Fail(errno, "chown stdio to process.user.uid");
  }
}

void SwitchUserAndCapabilities(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  GiveStdioToUser(ctx);
  if (p.set_groups)
    ctx.Check(SetGroups(p.additional_gids.size(), p.additional_gids.data()),
              "setgroups (process.user.additionalGids)");
  if (p.has_capabilities) ctx.Check(linux::KeepCapabilitiesAcrossSetuid(true), "PR_SET_KEEPCAPS");
  ctx.Check(SetResGid(p.gid), "setresgid (process.user.gid)");
  ctx.Check(SetResUid(p.uid), "setresuid (process.user.uid)");
  if (p.has_capabilities) {
    ctx.Check(linux::KeepCapabilitiesAcrossSetuid(false), "PR_SET_KEEPCAPS");
    ctx.Check(linux::ApplyCapabilitySets(p.caps, p.last_cap), "set capabilities");
  }
  if (p.no_new_privileges)
    ctx.CheckErrno(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
}

// CVE-2024-21626: the cwd is resolved inside "/" with magic links refused, so
// "/proc/self/fd/N" of a leaked host directory can never become the cwd. As runc, a
// first try comes before the user switch (root may enter a directory the user cannot)
// and, denied, a second after it (one the user may enter but root not, as on
// root-squashed storage): `may_retry` says a denial is not final yet.
bool EnterWorkingDirectory(InitContext& ctx, bool may_retry) noexcept {
  const char* cwd = ctx.plan.cwd.c_str();
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) ctx.Fail(errno, "open /");
  int dir = linux::OpenInRoot(root, cwd, linux::CreateAs::kNothing, O_DIRECTORY);
  int r = dir < 0 ? dir : (::fchdir(dir) < 0 ? -errno : 0);
  if (dir >= 0) ::close(dir);
  ::close(root);
  if (r == 0) return true;
  if (may_retry && (r == -EACCES || r == -EPERM)) return false;
  ctx.Check(r, "chdir to process.cwd ", cwd);
  return true;
}

void ApplyProcessAttributes(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  ::umask(p.umask);
  if (p.has_personality)
    if (::personality(p.personality) < 0) ctx.Fail(errno, "personality");
  if (p.has_io_priority)
    ctx.CheckErrno(static_cast<int>(::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
                                              p.io_priority)),
                   "ioprio_set (process.ioPriority)");
  // Late, so that our own setup was not limited by them.
  for (const auto& r : p.rlimits) {
    rlimit lim{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    ctx.CheckErrno(::setrlimit(r.resource, &lim), "setrlimit (process.rlimits)");
  }
}

// At create time, still privileged, as runc's init (setupScheduler, setupMemoryPolicy).
void ApplyScheduling(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  if (p.has_scheduler)
    ctx.Check(linux::ApplySchedAttr(p.sched_attr), "sched_setattr (process.scheduler)");
  if (p.has_memory_policy)
    ctx.Check(linux::ApplyMemoryPolicy(p.memory_policy_mode, p.memory_policy_nodes),
              "set_mempolicy (linux.memoryPolicy)");
}

// CVE-2019-16884 / CVE-2025-52881: the labels go through the verified procfs
// root to this thread's own attr files, with mounts and symlinks refused.
void ApplyLabels(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  if (p.apparmor_profile.empty() && p.selinux_label.empty()) return;
  int proc = linux::OpenProcRoot();
  ctx.Check(proc, "open /proc for the LSM label (is procfs mounted on /proc?)");
  if (!p.apparmor_profile.empty())
    ctx.Check(linux::SetAppArmorExecProfile(proc, p.apparmor_profile.c_str()),
              "apply AppArmor profile ", p.apparmor_profile.c_str());
  if (!p.selinux_label.empty())
    ctx.Check(linux::SetSelinuxExecLabel(proc, p.selinux_label.c_str()), "apply SELinux label ",
              p.selinux_label.c_str());
  ::close(proc);
}

// Everything but stdio and the preserved fds is closed by execve.
void MarkFdsCloseOnExec(InitContext& ctx) noexcept {
  unsigned first_closed = 3 + static_cast<unsigned>(ctx.plan.preserve_fds);
  if (::syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    ctx.Fail(errno, "close_range");
  for (unsigned fd = 3; fd < first_closed; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, 0);
}

[[noreturn]] void Exec(InitContext& ctx) noexcept {
  ::execve(ctx.resolved_exe, ctx.plan.argv.get(), ctx.plan.envp.get());
  ctx.Fail(errno, "exec ", ctx.resolved_exe);
}

void LoadSeccomp(InitContext& ctx) noexcept {
  int r = linux::LoadSeccompProgram(ctx.plan.seccomp);
  if (r < 0) ctx.Fail(-r, "load the seccomp filter");
  if (r > 0) ::close(r);
}

// From `start` to execve. The seccomp filter goes in as late as it can: right
// before execve, or, when the process will lack both no_new_privs and
// CAP_SYS_ADMIN (which seccomp(2) needs), right before the user switch.
[[noreturn]] void FinishProcess(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  bool filter_pending = p.has_seccomp && !p.seccomp_before_start;
  bool filter_before_user = filter_pending && p.seccomp_early;
  DropBoundingSet(ctx);
  bool in_cwd = EnterWorkingDirectory(ctx, true);
  if (!filter_before_user) SwitchUserAndCapabilities(ctx);
  if (!in_cwd && !filter_before_user) in_cwd = EnterWorkingDirectory(ctx, false);
  RunContainerHooks(ctx, p.start_container_hooks);
  ApplyProcessAttributes(ctx);
  ApplyLabels(ctx);
  RestoreSigpipe();
  MarkFdsCloseOnExec(ctx);
  if (filter_pending) LoadSeccomp(ctx);
  if (filter_before_user) SwitchUserAndCapabilities(ctx);
  if (!in_cwd) EnterWorkingDirectory(ctx, false);
  Exec(ctx);
}

// Once the filter is in, any syscall but write(2) may be notified (runc's rule,
// checked by CompileSeccomp), and a notified one blocks until the agent has the
// listener. So one write tells the runtime the listener's number; the runtime takes
// it with pidfd_getfd and hands it to the agent before it answers, and all that
// follows (the answer's recv, close, the runtime's sync, execve...) is answerable.
void LoadSeccompAtCreate(InitContext& ctx) noexcept {
  int fd = linux::LoadSeccompProgram(ctx.plan.seccomp);
  if (fd < 0) ctx.Fail(-fd, "load the seccomp filter");
  if (!ctx.plan.seccomp.wants_listener || fd == 0 || ctx.sync_fd < 0) return;
  SyncMessage msg;
  msg.type = SyncType::kSeccompListener;
  msg.value = fd;
  if (::write(ctx.sync_fd, &msg, offsetof(SyncMessage, text)) < 0) ::_exit(kInitFailedExit);
  ctx.Expect(SyncType::kSeccompListenerTaken);
  ::close(fd);
}

}  // namespace

void InitContext::Fail(int err, const char* what, const char* detail, const char* more) noexcept {
  SyncMessage msg;
  msg.type = SyncType::kError;
  msg.err = err;
  FixedText text(msg.text, sizeof msg.text);
  text.Add(what);
  if (detail) text.Add(detail);
  if (more) text.Add(more);
  if (sync_fd >= 0) {
    ::send(sync_fd, &msg, sizeof msg, MSG_NOSIGNAL);
  } else if (fifo_fd >= 0) {
    // After `start` opened exec.fifo: "E<errno> <text>" tells it why we never exec'd.
    char record[sizeof msg.text + 32];
    FixedText r(record, sizeof record);
    r.Add("E").Add(err).Add(" ").Add(msg.text);
    linux::WriteFully(fifo_fd, record, r.size());
  }
  ::_exit(kInitFailedExit);
}

void InitContext::Send(SyncType type, int32_t value, int fd) noexcept {
  SyncMessage msg;
  msg.type = type;
  msg.value = value;
  // Only the header matters for these messages; send it alone.
  size_t len = offsetof(SyncMessage, text);
  long r = fd >= 0 ? linux::SendFdNoAlloc(sync_fd, fd, &msg, len)
                   : (::send(sync_fd, &msg, len, MSG_NOSIGNAL) < 0 ? -errno : 0);
  if (r < 0) ::_exit(kInitFailedExit);  // the runtime is gone: nobody to tell
}

void InitContext::WaitForCgroup() noexcept {
  if (in_cgroup) return;
  Expect(SyncType::kCgroupJoined);
  in_cgroup = true;
}

int32_t InitContext::Expect(SyncType type) noexcept {
  SyncMessage msg;
  ssize_t n;
  do {
    n = ::recv(sync_fd, &msg, sizeof msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) ::_exit(kInitFailedExit);  // the runtime died or gave up: stop quietly
  if (msg.type != type) Fail(EPROTO, "unexpected message from the runtime");
  return msg.value;
}

// exec: every namespace of the container's init in one setns(2) on its pidfd
// (the kernel joins the user namespace first), so none can come from another
// process that reused the pid.
void JoinContainer(InitContext& ctx) noexcept {
  InitPlan& plan = ctx.plan;
  if (plan.join_flags)
    ctx.CheckErrno(::setns(plan.join_pidfd, static_cast<int>(plan.join_flags)),
                   "join the namespaces of the container's init");
  ::close(plan.join_pidfd);
  plan.join_pidfd = -1;
}

// The first process moves itself into each v1 hierarchy while it is single-threaded,
// and before any namespace changes who it is (cgroup::SelfJoin says why).
void JoinCgroupsByItself(InitContext& ctx) noexcept {
  InitPlan& plan = ctx.plan;
  for (size_t i = 0; i < plan.cgroup_tasks_fds.size(); ++i) {
    if (::write(plan.cgroup_tasks_fds[i], "0", 1) < 0)
      ctx.Fail(errno, "join the container's cgroup ", plan.cgroup_tasks_dirs[i].c_str());
    ::close(plan.cgroup_tasks_fds[i]);
  }
  plan.cgroup_tasks_fds.clear();  // a second stage inherits the cgroups
}

void RunStage1(InitPlan& plan) noexcept {
  InitContext ctx(plan);
  JoinCgroupsByItself(ctx);
  CloseOtherFds(plan);
  ResetSignals();
  // Not dumpable while in the container's namespaces (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (plan.exec) JoinContainer(ctx);
  JoinNamespaces(ctx, plan.stage1_joins);
  if (plan.join_user_namespace) BecomeRootInUserNamespace(ctx);
  if (plan.stage1_unshare & CLONE_NEWUSER) {
    ctx.CheckErrno(::unshare(CLONE_NEWUSER), "unshare the user namespace");
    ctx.Send(SyncType::kNeedIdMaps, static_cast<int32_t>(::getpid()));
    ctx.Expect(SyncType::kGo);
    if (plan.become_root_in_userns) BecomeRootInUserNamespace(ctx);
  }
  uint64_t rest = plan.stage1_unshare & ~static_cast<uint64_t>(CLONE_NEWUSER);
  if (rest) ctx.CheckErrno(::unshare(static_cast<int>(rest)), "unshare namespaces");
  if (!plan.timens_offsets.empty()) {
    int fd = ::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0) ctx.Fail(errno, "open /proc/self/timens_offsets");
    if (::write(fd, plan.timens_offsets.data(), plan.timens_offsets.size()) < 0)
      ctx.Fail(errno, "write linux.timeOffsets");
    ::close(fd);
  }
  int pidfd = -1;
  pid_t pid = linux::Clone3(plan.clone_flags | CLONE_PARENT | CLONE_PIDFD, &pidfd);
  if (pid == 0) {
    plan.become_root_in_userns = false;  // stage 1 already did, for both of us
    if (plan.exec) RunExec(plan);
    RunInit(plan);
  }
  if (pid < 0) ctx.Fail(-pid, "clone the container's init");
  ctx.Send(SyncType::kStage2Pid, pid, pidfd);
  ::_exit(0);
}

void RunInit(InitPlan& plan) noexcept {
  InitContext ctx(plan);
  JoinCgroupsByItself(ctx);
  CloseOtherFds(plan);
  ResetSignals();
  // Not dumpable until execve: nothing in the container may ptrace us or open
  // our /proc/<pid>/exe or fds while we hold host resources (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ctx.host_pid = ctx.Expect(SyncType::kGo);
  if (plan.user_namespace && plan.become_root_in_userns) BecomeRootInUserNamespace(ctx);
  JoinNamespaces(ctx, plan.joins);
  if (!plan.session_keyring.empty()) JoinSessionKeyring(ctx);
  if (plan.unshare_after_go) {
    // The new cgroup namespace's root is the cgroup we are in: be in ours first.
    ctx.WaitForCgroup();
    ctx.CheckErrno(::unshare(static_cast<int>(plan.unshare_after_go)), "unshare namespaces");
  }
  if (plan.set_hostname)
    ctx.CheckErrno(::sethostname(plan.hostname.data(), plan.hostname.size()), "sethostname ",
                   plan.hostname.c_str());
  if (plan.set_domainname)
    ctx.CheckErrno(::setdomainname(plan.domainname.data(), plan.domainname.size()),
                   "setdomainname ", plan.domainname.c_str());
  SetupStdio(ctx);
  if (!plan.join_container) {
    PrepareRootfs(ctx);
    EnterRootfs(ctx);
  }
  if (plan.terminal) SetupTerminal(ctx);
  if (!plan.join_container) FinishRootfs(ctx);
  ResolveExecutable(ctx);
  ctx.WaitForCgroup();
  ApplyScheduling(ctx);
  if (plan.has_seccomp && plan.seccomp_before_start) LoadSeccompAtCreate(ctx);
  ctx.Send(SyncType::kCreated);
  if (!plan.join_container) {
    ::close(ctx.sync_fd);
    ctx.sync_fd = -1;
  }
  if (plan.wait_for_start) WaitForStart(ctx);
  FinishProcess(ctx);
}

void RunExec(InitPlan& plan) noexcept {
  InitContext ctx(plan);
  CloseOtherFds(plan);
  ResetSignals();
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // until execve (CVE-2019-5736)
  ctx.host_pid = ctx.Expect(SyncType::kGo);
  if (plan.exec_chroot) {
    ctx.CheckErrno(::chdir(plan.rootfs.c_str()), "chdir to the rootfs");
    ctx.CheckErrno(::chroot("."), "chroot to the rootfs");
  }
  SetupStdio(ctx);
  if (plan.terminal) SetupTerminal(ctx);
  ResolveExecutable(ctx);
  ctx.WaitForCgroup();
  ApplyScheduling(ctx);
  if (plan.has_seccomp && plan.seccomp_before_start) LoadSeccompAtCreate(ctx);
  ctx.Send(SyncType::kCreated);
  // The sync socket stays open (O_CLOEXEC): a failure from here on still reaches
  // the runtime, and its end of file tells the runtime that execve succeeded.
  FinishProcess(ctx);
}

}  // namespace berth::container
