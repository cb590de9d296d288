// libseccomp 2.5.4 (Debian 12) leaks 192 bytes in 2 objects here, with nothing but its
// own API and a seccomp_release at the end; found by the seccomp_profile fuzz target
// (inputs: tests/fuzz/corpus/seccomp_profile/libseccomp-x86-socketcall-leak*.json).
// On x86 the three calls are socketcall multiplexes; each alone, or any two, do not leak.
//   gcc -fsanitize=address -g libseccomp-x86-socketcall-leak.c -lseccomp && ./a.out
// LeakSanitizer reports the leak allocated under seccomp_rule_add_array.
#include <seccomp.h>
#include <stddef.h>

int main(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(1));
  if (ctx == NULL) return 1;
  if (seccomp_arch_add(ctx, SCMP_ARCH_X86) != 0) return 1;
  const char* names[] = {"accept", "shutdown", "socketcall"};
  struct scmp_arg_cmp arg = SCMP_A5(SCMP_CMP_EQ, 131080);
  for (int i = 0; i < 3; i++)
    if (seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(names[i]), 1,
                               &arg) != 0)
      return 1;
  seccomp_release(ctx);
  return 0;
}
