// The attacker's half of the CVE tests, run inside containers (static, so the
// busybox rootfs needs nothing more). It only ever OPENS the runtime's binary
// for writing, to prove that it could; it never writes a byte.
//
//   attacker exe-watch DIR   forever: when DIR/req holds a pid, try to open
//                            /proc/<pid>/exe and answer in DIR/res
//   attacker exe-scan TEXT FIFO
//                            wait (10 s at most) for a process whose command
//                            line has the argument TEXT and try to open its
//                            /proc/<pid>/exe; then, as the original exploit,
//                            keep an O_PATH fd of it, let the process finish
//                            (by writing to FIFO, which it reads), and reopen
//                            that fd for writing once the binary is no longer
//                            running (a running one is ETXTBSY)
//
// An answer line: "pid=N path=<OK|errno> write=<OK|errno> [reopen=<OK|errno>]",
// where path is the O_PATH open, write an O_WRONLY one while the binary runs,
// reopen the O_WRONLY open of /proc/self/fd/<the O_PATH fd> after it exited.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string ErrnoName(int e) {
  switch (e) {
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case EROFS:
      return "EROFS";
    case ENOENT:
      return "ENOENT";
    case ETXTBSY:
      return "ETXTBSY";
    case ESRCH:
      return "ESRCH";
    default:
      return "errno" + std::to_string(e);
  }
}

std::string TryOpen(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoName(errno);
  ::close(fd);
  return "OK";
}

std::string Probe(const std::string& pid) {
  std::string exe = "/proc/" + pid + "/exe";
  return "pid=" + pid + " path=" + TryOpen(exe, O_PATH) + " write=" + TryOpen(exe, O_WRONLY);
}

std::string ReadAll(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

int ExeWatch(const std::string& dir) {
  std::string req = dir + "/req", res = dir + "/res", tmp = dir + "/res.tmp";
  for (;;) {
    std::string pid = ReadAll(req);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (pid.empty()) {
      ::usleep(1000);
      continue;
    }
    std::string answer = Probe(pid) + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!::write(fd, answer.data(), answer.size());
      ::close(fd);
      ::unlink(req.c_str());
      ::rename(tmp.c_str(), res.c_str());
    }
  }
}

// The pid of a process (not us) with the argument `text`, or "".
std::string FindProcess(const std::string& text) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return "";
  std::string self = std::to_string(::getpid()), found;
  // Arguments are NUL-separated: match whole arguments only.
  std::string wanted = std::string(1, '\0') + text + std::string(1, '\0');
  while (dirent* e = ::readdir(proc)) {
    std::string pid = e->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid == self)
      continue;
    std::string cmdline = ReadAll("/proc/" + pid + "/cmdline");
    if ((std::string(1, '\0') + cmdline).find(wanted) != std::string::npos) {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

int ExeScan(const std::string& text, const std::string& fifo) {
  std::string pid;
  for (int i = 0; i < 1000 && pid.empty(); ++i) {
    pid = FindProcess(text);
    if (pid.empty()) ::usleep(10000);
  }
  if (pid.empty()) {
    std::printf("none\n");
    return 0;
  }
  std::string answer = Probe(pid);
  int held = ::open(("/proc/" + pid + "/exe").c_str(), O_PATH | O_CLOEXEC);
  if (held >= 0) {
    int w = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
      (void)!::write(w, "{}", 2);
      ::close(w);
    }
    for (int i = 0; i < 1000 && ::access(("/proc/" + pid).c_str(), F_OK) == 0; ++i) ::usleep(10000);
    answer += " reopen=" + TryOpen("/proc/self/fd/" + std::to_string(held), O_WRONLY);
  }
  std::printf("%s\n", answer.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "exe-watch") == 0) return ExeWatch(argv[2]);
  if (argc == 4 && std::strcmp(argv[1], "exe-scan") == 0) return ExeScan(argv[2], argv[3]);
  std::fprintf(stderr, "usage: attacker exe-watch DIR | exe-scan TEXT FIFO\n");
  return 2;
}
