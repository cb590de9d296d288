#include "shim/stdio.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "linux/files.h"
#include "linux/process.h"
#include "linux/spawn.h"

namespace berth::shim {
namespace {

struct Pipe {
  linux::UniqueFd r, w;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return ErrnoError("pipe");
  return Pipe{linux::UniqueFd(fds[0]), linux::UniqueFd(fds[1])};
}

Result<void> SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return ErrnoError("fcntl O_NONBLOCK");
  return {};
}

struct Uri {
  std::string scheme;  // "fifo" (also for plain paths), "file", "binary"
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes; in a query '+' is a space too.
std::string PercentDecode(std::string_view s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (query && s[i] == '+') ? ' ' : s[i];
  }
  return out;
}

// Go's url.Parse as far as containerd's stdio strings use it.
Result<Uri> ParseUri(const std::string& text) {
  Uri u;
  size_t colon = text.find("://");
  if (colon == std::string::npos || text.find('/') < colon) {
    u.scheme = "fifo";
    u.path = text;
    return u;
  }
  u.scheme = text.substr(0, colon);
  std::string rest = text.substr(colon + 3);
  size_t q = rest.find('?');
  std::string query = q == std::string::npos ? "" : rest.substr(q + 1);
  rest = rest.substr(0, q);
  size_t slash = rest.find('/');  // the host part (normally empty) is ignored
  u.path = PercentDecode(slash == std::string::npos ? "" : rest.substr(slash), false);
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(start, amp - start);
    size_t eq = kv.find('=');
    if (!kv.empty())
      u.query.emplace_back(PercentDecode(kv.substr(0, eq), true),
                           eq == std::string::npos ? "" : PercentDecode(kv.substr(eq + 1), true));
    start = amp + 1;
  }
  if (u.scheme != "fifo" && u.scheme != "file" && u.scheme != "binary")
    return Fail("unknown STDIO scheme " + u.scheme);
  return u;
}

bool IsFifo(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

// A fifo opened read-write and non-blocking: never blocks, and stays writable while the
// client reopens its end (runc's shim holds a reader open for the same reason).
Result<linux::UniqueFd> OpenOutput(const std::string& path, bool* pollable) {
  if (IsFifo(path)) {
    *pollable = true;
    return linux::Open(path, O_RDWR | O_NONBLOCK);
  }
  *pollable = false;
  return linux::Open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
}

Result<void> Chown(int fd, const StdioOwner& owner) {
  if (owner.uid == 0 && owner.gid == 0) return {};
  if (::fchown(fd, owner.uid, owner.gid) < 0) return ErrnoError("chown the process's pipe");
  return {};
}

// Moves `fd` above 9 so that the logging binary's dup2 to 3, 4, 5 never clobbers a source.
Result<linux::UniqueFd> High(linux::UniqueFd fd) {
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10);
  if (moved < 0) return ErrnoError("dup");
  return linux::UniqueFd(moved);
}

Result<void> StartLogger(const Uri& uri, const std::string& id, const std::string& ns,
                         StdioSetup& s, const StdioOwner& owner) {
  Pipe out = BERTH_TRY(MakePipe());
  Pipe err = BERTH_TRY(MakePipe());
  Pipe ready = BERTH_TRY(MakePipe());
  linux::UniqueFd fd3 = BERTH_TRY(High(std::move(out.r)));
  linux::UniqueFd fd4 = BERTH_TRY(High(std::move(err.r)));
  linux::UniqueFd fd5 = BERTH_TRY(High(std::move(ready.w)));
  std::vector<std::string> args{uri.path};
  for (const auto& [k, v] : uri.query) {
    args.push_back(k);
    if (!v.empty()) args.push_back(v);
  }
  auto spawned = linux::Spawn({.path = uri.path,
                                .args = args,
                                .env = {"CONTAINER_ID=" + id, "CONTAINER_NAMESPACE=" + ns},
                                .fds = {{0, -1, O_RDONLY},
                                        {1, -1, O_WRONLY},
                                        {2, -1, O_WRONLY},
                                        {3, fd3.get()},
                                        {4, fd4.get()},
                                        {5, fd5.get()}}});
  if (!spawned)
    return Fail(std::move(spawned.error()).Context("failed to start binary process " + uri.path));
  s.logger_pid = spawned->pid;
  s.logger_pidfd = std::move(spawned->pidfd);
  fd3.reset();
  fd4.reset();
  fd5.reset();
  // The binary closes (or writes to) fd 5 once it is ready to read.
  char byte;
  while (::read(ready.r.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  BERTH_TRY(Chown(out.w.get(), owner));
  BERTH_TRY(Chown(err.w.get(), owner));
  s.child[1] = std::move(out.w);
  s.child[2] = std::move(err.w);
  return {};
}

Result<void> OpenOutputs(const Uri& out_uri, const StdioPaths& p, const StdioOwner& owner,
                         StdioSetup& s) {
  // file://: both streams go into that one file.
  std::string out_path = out_uri.scheme == "file" ? out_uri.path : p.out;
  std::string err_path = out_uri.scheme == "file" ? out_uri.path : p.err;
  if (out_uri.scheme == "file") {
    size_t slash = out_path.rfind('/');
    if (slash != std::string::npos && slash > 0) BERTH_TRY(linux::MakeDirs(out_path.substr(0, slash)));
  }
  if (!out_path.empty()) {
    s.out_dst = BERTH_TRY_CTX(OpenOutput(out_path, &s.out_dst_pollable), "open stdout");
    if (!p.terminal) {
      Pipe pipe = BERTH_TRY(MakePipe());
      BERTH_TRY(Chown(pipe.w.get(), owner));
      BERTH_TRY(SetNonBlocking(pipe.r.get()));
      s.out_src = std::move(pipe.r);
      s.child[1] = std::move(pipe.w);
    }
  }
  if (!err_path.empty() && !p.terminal) {
    s.err_dst = BERTH_TRY_CTX(OpenOutput(err_path, &s.err_dst_pollable), "open stderr");
    Pipe pipe = BERTH_TRY(MakePipe());
    BERTH_TRY(Chown(pipe.w.get(), owner));
    BERTH_TRY(SetNonBlocking(pipe.r.get()));
    s.err_src = std::move(pipe.r);
    s.child[2] = std::move(pipe.w);
  }
  return {};
}

}  // namespace

Result<StdioSetup> OpenStdio(const StdioPaths& p, const StdioOwner& owner, const std::string& id,
                             const std::string& ns) {
  StdioSetup s;
  Uri out_uri = BERTH_TRY(ParseUri(p.out));
  if (out_uri.scheme == "binary" && !p.terminal) {
    BERTH_TRY(StartLogger(out_uri, id, ns, s, owner));
  } else {
    BERTH_TRY(OpenOutputs(out_uri, p, owner, s));
  }
  if (!p.in.empty()) {
    s.stdin_src = BERTH_TRY_CTX(linux::Open(p.in, O_RDONLY | O_NONBLOCK), "open stdin fifo");
    s.stdin_keep = BERTH_TRY_CTX(linux::Open(p.in, O_WRONLY | O_NONBLOCK), "open stdin fifo");
    if (!p.terminal) {
      Pipe pipe = BERTH_TRY(MakePipe());
      BERTH_TRY(Chown(pipe.r.get(), owner));
      BERTH_TRY(SetNonBlocking(pipe.w.get()));
      s.stdin_dst = std::move(pipe.w);
      s.child[0] = std::move(pipe.r);
    }
  }
  // What is not connected reads and writes /dev/null, as runc's null IO.
  if (!p.terminal) {
    for (int i = 0; i < 3; ++i) {
      if (s.child[i]) continue;
      s.child[i] = BERTH_TRY(linux::Open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY));
    }
  }
  return s;
}

void ReleaseChildEnds(StdioSetup& s, bool failed) {
  for (auto& fd : s.child) fd.reset();
  if (failed && s.logger_pidfd) (void)linux::PidfdSendSignal(s.logger_pidfd.get(), SIGKILL);
}

}  // namespace berth::shim
