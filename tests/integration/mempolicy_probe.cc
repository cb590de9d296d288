// mempolicy-probe: prints the calling thread's NUMA memory policy as get_mempolicy(2)
// returns it, "mode=<mode with its MPOL_F_* flags> nodes=<mask in hex>": busybox has no
// way to read it. Linked statically to run in the busybox rootfs.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

int main() {
  int mode = -1;
  unsigned long nodes[16] = {};
  if (syscall(SYS_get_mempolicy, &mode, nodes, 1024UL, nullptr, 0UL) < 0) {
    std::printf("get_mempolicy: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("mode=%d nodes=%lx\n", mode, nodes[0]);
  return 0;
}
