// A process's stdio as containerd describes it (CreateTaskRequest / ExecProcessRequest
// stdin, stdout, stderr, terminal), opened the way containerd's runc shim opens it:
//
// - fifo paths (or plain paths, which ctr uses): the process gets pipes; the shim
//   copies between the pipes and the fifos on its event loop (process_io.h);
// - `file:///path`: pipes copied into the file, opened for append;
// - `binary:///path?arg=...`: a logging binary started with the read ends of the
//   stdout and stderr pipes as fds 3 and 4 and a "ready" pipe as fd 5, and only
//   CONTAINER_ID and CONTAINER_NAMESPACE in its environment;
// - an empty path: /dev/null;
// - terminal: the pty master (from the library) replaces the pipes.
//
// OpenStdio blocks (it may wait for a logging binary to be ready): call it on a worker.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::shim {

struct StdioPaths {
  std::string in, out, err;
  bool terminal = false;
};

struct StdioSetup {
  // The process's fds 0, 1, 2 (closed by the shim once the process has them).
  linux::UniqueFd child[3];
  // stdin: the fifo's read side, a writer the shim holds until CloseIO (so the
  // client may reopen the fifo), and the shim's end of the process's stdin pipe.
  linux::UniqueFd stdin_src, stdin_keep, stdin_dst;
  // stdout/stderr: the shim's ends of the process's pipes, and where they go.
  linux::UniqueFd out_src, err_src, out_dst, err_dst;
  bool out_dst_pollable = false, err_dst_pollable = false;  // fifos, not regular files
  // binary://: the logging process (a child of the shim).
  pid_t logger_pid = 0;
  linux::UniqueFd logger_pidfd;
};

struct StdioOwner {
  uint32_t uid = 0, gid = 0;  // IoUid/IoGid: owner of the process's pipe ends
};

Result<StdioSetup> OpenStdio(const StdioPaths& paths, const StdioOwner& owner,
                             const std::string& id, const std::string& ns);

// Closes the process's ends once it has them, and stops a logging binary whose
// process never came to be.
void ReleaseChildEnds(StdioSetup& s, bool failed);

}  // namespace berth::shim
