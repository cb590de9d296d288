// libFuzzer target: a linux.seccomp object (oci::ParseSeccomp) compiled to BPF with
// libseccomp (linux::CompileSeccomp), as `create` does before cloning. Nothing is
// loaded; the on-disk cache is off.
//
// Besides "no crash, no UB": a profile that compiles gives a non-empty program that
// the kernel would take (at most BPF_MAXINSNS instructions), or an error says why; and
// every filter context berth opens is released, whatever the outcome.
#include <linux/filter.h>
#include <seccomp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "linux/seccomp.h"
#include "oci/spec.h"
#include "tests/fuzz/fuzz_check.h"

// libseccomp 2.5.4 itself leaks rule memory for some x86 socketcall rule sets, after
// seccomp_release (reproducer with libseccomp's API alone:
// tests/fuzz/findings/libseccomp-x86-socketcall-leak.c). Its frames have no frame
// pointers, so a leak's recorded stack ends inside libseccomp and only the module can
// be named. A context berth itself fails to release is caught by the count below.
extern "C" const char* __lsan_default_suppressions() { return "leak:libseccomp.so.2\n"; }

namespace {
long open_contexts = 0;  // the fuzzer runs one input at a time, on one thread
}

extern "C" scmp_filter_ctx __real_seccomp_init(uint32_t def_action);
extern "C" void __real_seccomp_release(scmp_filter_ctx ctx);
extern "C" scmp_filter_ctx __wrap_seccomp_init(uint32_t def_action) {
  scmp_filter_ctx ctx = __real_seccomp_init(def_action);
  if (ctx != nullptr) ++open_contexts;
  return ctx;
}
extern "C" void __wrap_seccomp_release(scmp_filter_ctx ctx) {
  if (ctx != nullptr) --open_contexts;
  __real_seccomp_release(ctx);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using berth::fuzz::Check;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto profile = berth::oci::ParseSeccomp(input);
  if (!profile) return 0;
  {
    auto program = berth::linux::CompileSeccomp(*profile);
    if (!program) {
      Check(!program.error().message.empty());
    } else {
      Check(!program->filter.empty());
      Check(program->filter.size() <= BPF_MAXINSNS);
    }
  }
  Check(open_contexts == 0);
  return 0;
}
