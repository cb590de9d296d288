// Talking to criu over its RPC interface: `criu swrk 3` with one end of a
// SOCK_SEQPACKET socketpair as its fd 3; one criu_req per message, criu_resp
// back, with NOTIFY messages (criu's "action scripts") answered in between.
// Safe in a multi-threaded process: criu is started with posix_spawn and gets
// only the fds named here.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "container/container.h"
#include "criu/rpc.pb.h"
#include "linux/unique_fd.h"

namespace berth::container {

struct CriuSpawn {
  std::string criu_path = "criu";
  int stdio[3] = {-1, -1, -1};  // -1: /dev/null
  std::vector<int> extra_fds;   // criu's fds 4, 5, ... (fd 3 is the RPC socket)
};

// A NOTIFY from criu: the script name ("post-dump", "setup-namespaces",
// "post-restore", "orphan-pts-master", ...), its pid and an fd it carried.
// An error makes the request fail: criu is told so and undoes its work.
using CriuNotifyHandler =
    std::function<Result<void>(const std::string& script, pid_t pid, linux::UniqueFd fd)>;

class CriuSession {
 public:
  // ENOENT: criu is not installed (or not at criu_path).
  static Result<CriuSession> Start(const CriuSpawn& spawn);
  CriuSession(CriuSession&&) noexcept;
  CriuSession& operator=(CriuSession&&) = delete;
  ~CriuSession();  // closes the socket, waits for criu (SIGKILL after 10 s)

  pid_t pid() const { return pid_; }

  // Sends `request` and returns criu's final answer to it (success or not). A
  // broken connection (criu died) is an error.
  Result<criu::criu_resp> Call(const criu::criu_req& request,
                               const CriuNotifyHandler& on_notify = nullptr);
  // Closes the socket (criu exits after its last answer) and reaps criu;
  // returns its exit status, or 128 + signal; -1 if someone else reaped it.
  Result<int> Finish();

 private:
  CriuSession(pid_t pid, linux::UniqueFd socket) : pid_(pid), socket_(std::move(socket)) {}
  Result<void> Send(const criu::criu_req& request);
  Result<criu::criu_resp> Receive(linux::UniqueFd* fd);

  pid_t pid_ = -1;
  linux::UniqueFd socket_;
};

// The last few "Error" lines of a criu log, without their timestamps and
// source locations, joined on one line; "" when there are none.
std::string CriuLogErrors(const std::string& log_text);

// criu's request type as its man page names it: "dump", "restore", "check".
std::string CriuRequestName(int type);

// Can criu checkpoint and restore here at all? Runs the swrk CHECK request
// (what `criu check` does) with its log in a temporary directory under
// rt.root. The error, on one line, says what criu reported.
Result<void> CheckCriuWorks(const Runtime& rt);

// The error for a failed request: criu's own message, else the Error lines of
// its log in `log_dir_fd`, and the log's path.
Error CriuFailure(const criu::criu_resp& resp, int log_dir_fd, const std::string& log_dir,
                  std::string_view log_file);

}  // namespace berth::container
