// libFuzzer target: a linux.seccomp object (oci::ParseSeccomp) compiled to BPF with
// libseccomp (linux::CompileSeccomp), as `create` does before cloning. Nothing is
// loaded; the on-disk cache is off.
//
// Besides "no crash, no UB": a profile that compiles gives a non-empty program that
// the kernel would take (at most BPF_MAXINSNS instructions), or an error says why.
#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "linux/seccomp.h"
#include "oci/spec.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using berth::fuzz::Check;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto profile = berth::oci::ParseSeccomp(input);
  if (!profile) return 0;
  auto program = berth::linux::CompileSeccomp(*profile);
  if (!program) {
    Check(!program.error().message.empty());
    return 0;
  }
  Check(!program->filter.empty());
  Check(program->filter.size() <= BPF_MAXINSNS);
  return 0;
}
