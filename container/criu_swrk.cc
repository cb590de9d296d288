#include "container/criu_swrk.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "container/criu_request.h"
#include "linux/files.h"
#include "linux/process.h"

extern char** environ;

namespace berth::container {
namespace {

// criu_resp messages are small; a NOTIFY carries at most one fd.
constexpr size_t kMaxMessage = 64 * 1024;
// Parent-side copies of the child's fds go this high, above any target number.
constexpr int kHighFd = 100;

// Sources for the child's fds, duplicated above every target number so that no
// dup2 in the child overwrites a source it still needs.
struct SpawnFds {
  std::vector<linux::UniqueFd> owned;
  std::vector<std::pair<int, int>> moves;  // (source, target)
};

Result<void> AddMove(SpawnFds& fds, int source, int target) {
  int high = ::fcntl(source, F_DUPFD_CLOEXEC, kHighFd);
  if (high < 0) return ErrnoError("dup fd " + std::to_string(source) + " for criu");
  fds.owned.emplace_back(high);
  fds.moves.emplace_back(high, target);
  return {};
}

Result<pid_t> SpawnCriu(const CriuSpawn& spawn, int rpc_fd) {
  SpawnFds fds;
  linux::UniqueFd dev_null = BERTH_TRY(linux::Open("/dev/null", O_RDWR));
  for (int i = 0; i < 3; ++i)
    BERTH_TRY(AddMove(fds, spawn.stdio[i] >= 0 ? spawn.stdio[i] : dev_null.get(), i));
  BERTH_TRY(AddMove(fds, rpc_fd, 3));
  for (size_t i = 0; i < spawn.extra_fds.size(); ++i)
    BERTH_TRY(AddMove(fds, spawn.extra_fds[i], static_cast<int>(4 + i)));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 to another number clears FD_CLOEXEC on the copy; everything else of
  // ours is O_CLOEXEC, so criu gets exactly these.
  for (auto [from, to] : fds.moves) posix_spawn_file_actions_adddup2(&actions, from, to);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A caller that blocks signals to forward them (restore in the foreground)
  // must not hand that mask, or its handlers, to criu.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::string fd_arg = "3";
  char* argv[] = {const_cast<char*>(spawn.criu_path.c_str()), const_cast<char*>("swrk"),
                  fd_arg.data(), nullptr};
  pid_t pid = -1;
  int err = spawn.criu_path.find('/') == std::string::npos
                ? posix_spawnp(&pid, argv[0], &actions, &attr, argv, environ)
                : posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err == ENOENT)
    return Fail("criu is not installed (" + spawn.criu_path + " not found)", ENOENT);
  if (err != 0) return ErrnoError("run " + spawn.criu_path, err);
  return pid;
}

std::string TrimErrorLine(std::string_view line) {
  // "(00.050959) Error (criu/vdso.c:613): vdso: Failed ..." -> "vdso: Failed ..."
  size_t at = line.find("Error (");
  if (at != std::string_view::npos) {
    size_t close = line.find("): ", at);
    if (close != std::string_view::npos) return std::string(line.substr(close + 3));
  }
  at = line.find("Error");
  return std::string(line.substr(at == std::string_view::npos ? 0 : at));
}

}  // namespace

Result<CriuSession> CriuSession::Start(const CriuSpawn& spawn) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return ErrnoError("socketpair for criu");
  linux::UniqueFd ours(sv[0]), theirs(sv[1]);
  pid_t pid = BERTH_TRY(SpawnCriu(spawn, theirs.get()));
  // Only criu holds its end now: if it dies, our reads end instead of hanging.
  theirs.reset();
  return CriuSession(pid, std::move(ours));
}

CriuSession::CriuSession(CriuSession&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), socket_(std::move(other.socket_)) {}

CriuSession::~CriuSession() {
  if (pid_ <= 0) return;
  socket_.reset();
  // criu undoes an unfinished dump or restore when its client goes away; give
  // it time to, then make sure it is gone.
  auto pidfd = linux::PidfdOpen(pid_);
  if (pidfd) {
    pollfd p{pidfd->get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) == 0)
      ::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
  }
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Result<void> CriuSession::Send(const criu::criu_req& request) {
  std::string data;
  if (!request.SerializeToString(&data)) return Fail("encode the criu request");
  ssize_t n;
  do {
    n = ::send(socket_.get(), data.data(), data.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("send to criu");
  return {};
}

Result<criu::criu_resp> CriuSession::Receive(linux::UniqueFd* fd) {
  std::string buf(kMaxMessage, '\0');
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("receive from criu");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (fd && !*fd)
        fd->reset(received);
      else
        ::close(received);
    }
  }
  if (n == 0) return Fail("criu exited without answering", EPIPE);
  if (msg.msg_flags & MSG_TRUNC)
    return Fail("criu's answer is larger than " + std::to_string(kMaxMessage) + " bytes");
  criu::criu_resp resp;
  if (!resp.ParseFromArray(buf.data(), static_cast<int>(n)))
    return Fail("criu's answer does not decode");
  return resp;
}

Result<criu::criu_resp> CriuSession::Call(const criu::criu_req& request,
                                          const CriuNotifyHandler& on_notify) {
  BERTH_TRY(Send(request));
  std::optional<Error> notify_error;
  for (;;) {
    linux::UniqueFd fd;
    criu::criu_resp resp = BERTH_TRY(Receive(&fd));
    if (resp.type() != criu::NOTIFY) {
      // criu fails the request when a notification was refused; ours says why.
      if (notify_error) return Fail(std::move(*notify_error));
      return resp;
    }
    Result<void> handled;
    if (on_notify && !notify_error)
      handled = on_notify(resp.notify().script(), resp.notify().pid(), std::move(fd));
    if (!handled) notify_error = std::move(handled.error());
    criu::criu_req ack;
    ack.set_type(criu::NOTIFY);
    ack.set_notify_success(!notify_error);
    BERTH_TRY(Send(ack));
  }
}

Result<int> CriuSession::Finish() {
  socket_.reset();
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  // A process-wide reaper (the shim's) may have taken criu's status first: its
  // answer on the socket is then all there is to go by.
  if (r < 0 && errno == ECHILD) return -1;
  if (r < 0) return ErrnoError("wait for criu");
  return linux::ExitCodeFromWaitStatus(status);
}

std::string CriuLogErrors(const std::string& log_text) {
  // The last lines carry the cause; earlier ones are often probes criu expects
  // to fail ("exited, status=1"), so at most three are kept.
  std::vector<std::string> errors;
  size_t i = 0;
  while (i < log_text.size()) {
    size_t eol = log_text.find('\n', i);
    if (eol == std::string::npos) eol = log_text.size();
    std::string_view line(log_text.data() + i, eol - i);
    i = eol + 1;
    if (line.find("Error") == std::string_view::npos) continue;
    std::string text = TrimErrorLine(line);
    if (text.empty() || text.rfind("exited, status=", 0) == 0) continue;
    if (!errors.empty() && errors.back() == text) continue;
    errors.push_back(std::move(text));
  }
  std::string out;
  size_t first = errors.size() > 3 ? errors.size() - 3 : 0;
  for (size_t k = first; k < errors.size(); ++k) {
    if (!out.empty()) out += "; ";
    out += errors[k];
  }
  return out;
}

std::string CriuRequestName(int type) {
  switch (type) {
    case criu::DUMP:
      return "dump";
    case criu::PRE_DUMP:
      return "pre-dump";
    case criu::RESTORE:
      return "restore";
    case criu::CHECK:
      return "check";
    case criu::FEATURE_CHECK:
      return "feature check";
    case criu::VERSION:
      return "version";
    default:
      return "request " + std::to_string(type);
  }
}

Error CriuFailure(const criu::criu_resp& resp, int log_dir_fd, const std::string& log_dir,
                  std::string_view log_file) {
  std::string why = resp.has_cr_errmsg() ? resp.cr_errmsg() : "";
  if (why.empty() && log_dir_fd >= 0) {
    auto text = linux::ReadFileAt(log_dir_fd, std::string(log_file));
    if (text) why = CriuLogErrors(*text);
  }
  if (why.empty() && resp.cr_errno() != 0) why = std::strerror(resp.cr_errno());
  if (why.empty()) why = "criu gave no reason";
  std::string message = "criu " + CriuRequestName(resp.type()) + " failed: " + why;
  if (!log_dir.empty()) message += " (log: " + log_dir + "/" + std::string(log_file) + ")";
  return Error{resp.cr_errno(), message};
}

Result<void> CheckCriuWorks(const Runtime& rt) {
  BERTH_TRY(linux::MakeDirs(rt.root, 0711));
  std::string tmpl = rt.root + "/.criu-check-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    return ErrnoError("make a directory for criu's check log in " + rt.root);
  std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)linux::RemoveTree(dir); }
  } cleanup{dir};
  linux::UniqueFd dir_fd = BERTH_TRY(linux::Open(dir, O_RDONLY | O_DIRECTORY));
  CriuSpawn spawn;
  spawn.criu_path = rt.criu_path;
  auto session = CriuSession::Start(spawn);
  if (!session) return Fail(std::move(session.error()));
  auto resp = session->Call(BuildCheckRequest(dir_fd.get()));
  if (!resp) return Fail(std::move(resp.error()).Context("criu check"));
  (void)session->Finish();
  if (resp->success()) return {};
  // The log dies with its directory: the reason goes in the message itself.
  Error e = CriuFailure(*resp, dir_fd.get(), "", kCriuCheckLog);
  return Fail(Error{e.code ? e.code : EOPNOTSUPP, "criu cannot work on this system: " + e.message});
}

}  // namespace berth::container
