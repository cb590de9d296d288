// `start`: lets the init waiting on exec.fifo go on to execve, and waits until
// it did (the fifo's write end closes on exec) or reports why it could not.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "container/container.h"
#include "container/hooks.h"
#include "container/status.h"
#include "linux/files.h"
#include "linux/process.h"

namespace berth::container {
namespace {

// Reads what init writes on exec.fifo: "0" when released, then "E<errno> <text>"
// if it failed before execve; end of file once it exec'd (or died).
Result<std::string> ReadUntilExec(int fifo, int pidfd) {
  std::string data;
  bool init_gone = false;
  for (;;) {
    pollfd fds[2] = {{fifo, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int r = ::poll(fds, init_gone ? 1 : 2, init_gone ? 0 : -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("poll exec.fifo");
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t n = ::read(fifo, buf, sizeof buf);
      if (n > 0) {
        data.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return ErrnoError("read exec.fifo");
      // POLLHUP with nothing to read: every writer is gone.
      if (n == 0 && !data.empty()) return data;
    }
    if (r == 0 && init_gone) return data;  // drained after the init died
    if (!init_gone && (fds[1].revents & POLLIN)) init_gone = true;
  }
}

Error StartError(const std::string& data) {
  if (data.empty()) return Error{0, "the container's init exited before it could start"};
  size_t e = data.find('E');
  if (e == std::string::npos) return Error{0, "the container's init exited before exec"};
  int err = 0;
  auto [p, ec] = std::from_chars(data.data() + e + 1, data.data() + data.size(), err);
  std::string text = (p < data.data() + data.size() && *p == ' ') ? std::string(p + 1, data.data() + data.size()) : "";
  if (err) text += ": " + std::string(std::strerror(err));
  return Error{err, text};
}

}  // namespace

Result<void> Start(const Runtime& rt, const std::string& id) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status != oci::Status::kCreated)
    return Fail("cannot start container \"" + id + "\": it is " +
                std::string(oci::StatusName(status)) + ", not created");
  linux::UniqueFd pidfd = BERTH_TRY(linux::PidfdOpen(record.pid));
  if (!linux::ProcessIsAlive(record.pid, record.start_time))
    return Fail("cannot start container \"" + id + "\": its init has exited");
  // Non-blocking open: succeeds with no writer yet, and counts as the reader init waits for.
  linux::UniqueFd fifo = BERTH_TRY(linux::OpenAt(dir.fd(), "exec.fifo", O_RDONLY | O_NONBLOCK));
  std::string data = BERTH_TRY(ReadUntilExec(fifo.get(), pidfd.get()));
  ::unlinkat(dir.fd(), "exec.fifo", 0);
  record.started = true;
  BERTH_TRY(dir.Save(record));
  if (data != "0") return Fail(StartError(data).Context("start container \"" + id + "\""));
  rt.Log(LogLevel::kDebug, "start " + id + ": exec.fifo read, init " +
                               std::to_string(record.pid) + " goes on to execve");

  auto config = oci::LoadSpec(dir.path());
  if (config && !config->hooks.poststart.empty()) {
    oci::State s = ToOciState(record, oci::Status::kRunning);
    // The spec: a failing poststart hook is a warning; the rest run, the container keeps running.
    for (const auto& failure :
         RunHooksReportingFailures(config->hooks.poststart, "poststart", oci::HookStateJson(s)))
      rt.Log(LogLevel::kWarning, failure);
  }
  return {};
}

}  // namespace berth::container
