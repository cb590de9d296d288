// syscall-probe NR...: makes each raw syscall NR with zero arguments and prints the
// errno name it failed with ("ENOSYS", "EPERM") or "OK": busybox has no way to make
// an arbitrary syscall. Linked statically to run in the busybox rootfs.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    long rc = syscall(std::strtol(argv[i], nullptr, 0), 0, 0, 0, 0, 0, 0);
    const char* name = rc < 0 ? strerrorname_np(errno) : "OK";
    std::printf("%s\n", name ? name : "?");
  }
  return 0;
}
