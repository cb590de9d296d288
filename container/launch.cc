#include "container/launch.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "container/init_context.h"
#include "linux/files.h"
#include "linux/process.h"

namespace berth::container {
namespace {

struct Received {
  SyncMessage msg;
  linux::UniqueFd fd;
};

// Reads one message from init; EOF means it died.
Result<Received> Receive(int sock) {
  Received r;
  iovec iov{&r.msg, sizeof r.msg};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  bool reset_seen = false;
  for (;;) {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n >= 0 || errno == EINTR) {
      if (n >= 0) break;
      continue;
    }
    // A peer that exits with our unread message queued resets the socket, and the
    // kernel reports that before the report it queued for us: read once more.
    if (errno == ECONNRESET && !std::exchange(reset_seen, true)) continue;
    break;
  }
  if (n < 0) return ErrnoError("read from the container's init");
  if (n == 0) return Fail("the container's init exited during setup", EPIPE);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      r.fd.reset(fd);
    }
  }
  return r;
}

Result<void> Send(int sock, SyncType type, int32_t value = 0) {
  SyncMessage msg;
  msg.type = type;
  msg.value = value;
  if (::send(sock, &msg, offsetof(SyncMessage, text), MSG_NOSIGNAL) < 0)
    return ErrnoError("write to the container's init");
  return {};
}

Error InitError(const SyncMessage& msg) {
  std::string text(msg.text, strnlen(msg.text, sizeof msg.text));
  if (msg.err) text += ": " + std::string(std::strerror(msg.err));
  return Error{msg.err, text};
}

// Kills and reaps a child we started; used on every failure path.
void KillAndReap(pid_t pid, int pidfd) {
  if (pid <= 0) return;
  if (pidfd >= 0) ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  else ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void Debug(const LaunchHooks& hooks, const std::string& message) {
  if (hooks.debug) hooks.debug(message);
}

// Stage 1 joins/unshares namespaces, then hands over the init's pid and pidfd.
Result<void> DriveStage1(int sock, pid_t stage1, const IdMaps& maps, const LaunchHooks& hooks,
                         LaunchedInit& out) {
  std::string who = "stage-1[" + std::to_string(stage1) + "]: ";
  for (;;) {
    Received r = BERTH_TRY(Receive(sock));
    switch (r.msg.type) {
      case SyncType::kNeedIdMaps:
        BERTH_TRY(WriteIdMaps(stage1, maps));
        Debug(hooks, who + "unshared its user namespace; uid_map and gid_map written");
        BERTH_TRY(Send(sock, SyncType::kGo));
        break;
      case SyncType::kStage2Pid:
        out.pid = r.msg.value;
        out.pidfd = std::move(r.fd);
        Debug(hooks, who + "namespaces joined and unshared, cloned stage-2 (pid " +
                         std::to_string(out.pid) + ") and sent its pidfd; exits");
        return {};
      case SyncType::kError:
        return Fail(InitError(r.msg));
      default:
        return Fail("unexpected message from the container's init", EPROTO);
    }
  }
}

// A send that fails because init failed meanwhile: its own report says why,
// better than EPIPE.
Result<void> SendOrReport(int sock, SyncType type, int32_t value = 0) {
  auto sent = Send(sock, type, value);
  if (sent) return {};
  auto report = Receive(sock);
  if (report && report->msg.type == SyncType::kError) return Fail(InitError(report->msg));
  return sent;
}

Result<void> DriveInit(int sock, const LaunchHooks& hooks, cgroup::SelfJoined joined,
                       LaunchedInit& out) {
  // Init starts on its mounts at once; what is left of joining the cgroup overlaps
  // with that work.
  std::string who = "stage-2[" + std::to_string(out.pid) + "]: ";
  BERTH_TRY(SendOrReport(sock, SyncType::kGo, out.pid));
  Debug(hooks, who + "sent go: its setup starts");
  if (hooks.place) BERTH_TRY(hooks.place(out.pid, joined));
  BERTH_TRY(SendOrReport(sock, SyncType::kCgroupJoined));
  Debug(hooks, who + "sent cgroup-joined: in the container's cgroups");
  for (;;) {
    Received r = BERTH_TRY(Receive(sock));
    switch (r.msg.type) {
      case SyncType::kRunHooks:
        Debug(hooks, who + "asks for the prestart and createRuntime hooks");
        if (hooks.run_hooks) BERTH_TRY(hooks.run_hooks(out.pid));
        BERTH_TRY(Send(sock, SyncType::kHooksDone));
        Debug(hooks, who + "sent hooks-done");
        break;
      case SyncType::kPtyMaster:
        out.pty_master = std::move(r.fd);
        Debug(hooks, who + "sent the pty master");
        break;
      case SyncType::kSeccompListener: {
        linux::UniqueFd listener = BERTH_TRY_CTX(linux::PidfdGetFd(out.pidfd.get(), r.msg.value),
                                                 "take the seccomp listener");
        if (hooks.seccomp_listener) BERTH_TRY(hooks.seccomp_listener(out.pid, listener.get()));
        BERTH_TRY(Send(sock, SyncType::kSeccompListenerTaken));
        Debug(hooks, who + "sent the seccomp listener fd; the agent has it");
        break;
      }
      case SyncType::kCreated:
        Debug(hooks, who + "setup done (created)");
        return {};
      case SyncType::kError:
        return Fail(InitError(r.msg));
      default:
        return Fail("unexpected message from the container's init", EPROTO);
    }
  }
}

// exec: the process reports a failure before execve, or its end of the socket
// closes (O_CLOEXEC) when execve succeeds.
Result<void> WaitForExecve(int sock) {
  bool reset_seen = false;
  for (;;) {
    SyncMessage msg;
    ssize_t n = ::recv(sock, &msg, sizeof msg, 0);
    if (n < 0 && errno == EINTR) continue;
    // See Receive: the reset comes before the failure report queued with it.
    if (n < 0 && errno == ECONNRESET && !std::exchange(reset_seen, true)) continue;
    if (n < 0) return ErrnoError("read from the exec'd process");
    if (n == 0) return {};
    if (msg.type == SyncType::kError) return Fail(InitError(msg));
    return Fail("unexpected message from the exec'd process", EPROTO);
  }
}

}  // namespace

std::string SelfJoinedText(cgroup::SelfJoined joined) {
  return std::string("v2 at clone: ") + (joined.unified ? "yes" : "no") +
         ", v1 by itself: " + (joined.v1 ? "yes" : "no");
}

Result<void> PlanSelfJoin(InitPlan& plan, cgroup::SelfJoin& join) {
  // Above the fds the process is to receive, as the sync socket.
  int lowest = 3 + plan.preserve_fds;
  auto above = [lowest](linux::UniqueFd& fd) -> Result<void> {
    if (fd.get() >= lowest) return {};
    int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, lowest);
    if (moved < 0) return ErrnoError("move a cgroup fd");
    fd.reset(moved);
    return {};
  };
  if (join.unified_dir) {
    BERTH_TRY(above(join.unified_dir));
    plan.cgroup_dir_fd = join.unified_dir.get();
  }
  plan.cgroup_tasks_fds.clear();
  for (auto& fd : join.v1_tasks) {
    BERTH_TRY(above(fd));
    plan.cgroup_tasks_fds.push_back(fd.get());
  }
  plan.cgroup_tasks_dirs = join.v1_dirs;
  return {};
}

// The first child was killed (SIGKILL) during setup, as the kernel does right after
// a CLONE_INTO_CGROUP into a v2 cgroup that once had cgroup.kill written (seen on 6.x
// kernels).
static bool KilledAtClone(int pidfd) {
  // Killed, it may still be exiting: its pidfd turns readable when it is gone. A child
  // alive after 100 ms failed for another reason (only an error path waits).
  pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, 100) <= 0) return false;
  siginfo_t info{};
  return ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0 && info.si_code == CLD_KILLED && info.si_status == SIGKILL;
}

static Result<LaunchedInit> LaunchOnce(InitPlan& plan, const IdMaps& maps, const LaunchHooks& hooks,
                                bool into_cgroup, bool& killed_at_clone) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
    return ErrnoError("socketpair");
  linux::UniqueFd ours(pair[0]);
  linux::UniqueFd theirs(pair[1]);
  // Above the fds the process is to receive (3 .. 3+preserve_fds-1), which are left
  // open across execve: the sync socket must never be among them.
  int lowest = 3 + plan.preserve_fds;
  if (theirs.get() < lowest) {
    int moved = ::fcntl(theirs.get(), F_DUPFD_CLOEXEC, lowest);
    if (moved < 0) return ErrnoError("move the sync socket");
    theirs.reset(moved);
  }
  plan.sync_fd = theirs.get();

  int pidfd = -1;
  uint64_t flags = CLONE_PIDFD | (plan.two_stage ? 0 : plan.clone_flags);
  cgroup::SelfJoined joined{.unified = into_cgroup && plan.cgroup_dir_fd >= 0,
                            .v1 = !plan.cgroup_tasks_fds.empty()};
  pid_t pid = linux::Clone3(flags | (joined.unified ? CLONE_INTO_CGROUP : 0), &pidfd,
                            SIGCHLD, plan.cgroup_dir_fd);
  if (pid < 0 && joined.unified) {
    // The kernel refused the v2 cgroup at clone time; a move by pid says why, or works.
    joined.unified = false;
    pid = linux::Clone3(flags, &pidfd);
  }
  if (pid == 0) {
    ::close(ours.get());
    if (plan.two_stage) RunStage1(plan);
    RunInit(plan);
  }
  if (pid < 0) return ErrnoError("clone the container's init", -pid);
  Debug(hooks, std::string("cloned ") + (plan.two_stage ? "stage-1" : "stage-2 (the init)") +
                   " as pid " + std::to_string(pid) +
                   (joined.unified ? " into its v2 cgroup" : "") +
                   (plan.exec ? ": exec joins the container's namespaces" : ""));
  linux::UniqueFd first_pidfd(pidfd);
  theirs.reset();  // so that init's death reads as end of file

  LaunchedInit out;
  int first = first_pidfd.get();
  bool cloned_into_cgroup = joined.unified;
  auto fail = [&](Error e) -> Result<LaunchedInit> {
    killed_at_clone = cloned_into_cgroup && KilledAtClone(first);
    KillAndReap(out.pid, out.pidfd.get());
    if (plan.two_stage) KillAndReap(pid, first_pidfd.get());
    return Fail(std::move(e));
  };
  if (plan.two_stage) {
    auto r = DriveStage1(ours.get(), pid, maps, hooks, out);
    if (!r) return fail(std::move(r.error()));
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid = 0;  // reaped
  } else {
    out.pid = pid;
    out.pidfd = std::move(first_pidfd);
    if (plan.user_namespace) {
      auto r = WriteIdMaps(out.pid, maps);
      if (!r) return fail(std::move(r.error()));
      Debug(hooks, "uid_map and gid_map of " + std::to_string(out.pid) + " written");
    }
  }
  auto r = DriveInit(ours.get(), hooks, joined, out);
  if (!r) return fail(std::move(r.error()));
  if (plan.exec) {
    auto w = WaitForExecve(ours.get());
    if (!w) return fail(std::move(w.error()));
    Debug(hooks, "stage-2[" + std::to_string(out.pid) + "]: sync socket closed: execve done");
  }
  return out;
}

Result<LaunchedInit> LaunchInit(InitPlan& plan, const IdMaps& maps, const LaunchHooks& hooks) {
  bool killed_at_clone = false;
  auto out = LaunchOnce(plan, maps, hooks, /*into_cgroup=*/true, killed_at_clone);
  if (out || !killed_at_clone) return out;
  // Once more, moved into its v2 cgroup by pid after the clone.
  killed_at_clone = false;
  out = LaunchOnce(plan, maps, hooks, /*into_cgroup=*/false, killed_at_clone);
  if (out) out->cloned_into_cgroup_refused = true;
  return out;
}

}  // namespace berth::container
