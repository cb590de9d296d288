#include "container/rollback.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "linux/unique_fd.h"

namespace berth::container {

void Rollback::AddKillChild(pid_t pid, int pidfd) {
  auto own = std::make_shared<linux::UniqueFd>(::fcntl(pidfd, F_DUPFD_CLOEXEC, 0));
  Add([pid, own] {
    // Without a dup (EMFILE) the pid itself: an unreaped child's pid is not reused.
    if (*own) ::syscall(SYS_pidfd_send_signal, own->get(), SIGKILL, nullptr, 0);
    else ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
}

}  // namespace berth::container
