#include "linux/seccomp_enosys.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <algorithm>
#include <cstddef>
#include <map>

namespace berth::linux {
namespace {

// x32 syscalls reach the kernel as AUDIT_ARCH_X86_64 with this bit in the number.
constexpr uint32_t kX32SyscallBit = 0x40000000;

// The highest number, on `arch`, of a syscall the profile names; -1 when none is known.
int64_t LastSyscall(const oci::Seccomp& profile, uint32_t arch) {
  int64_t last = -1;
  for (const auto& call : profile.syscalls)
    for (const auto& name : call.names) {
      int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
      if (nr >= 0) last = std::max<int64_t>(last, nr);  // < 0: unknown or not on arch
    }
  return last;
}

// One architecture's section: jumps go to the ENOSYS return or to the program.
struct Section {
  enum Target { kEnosys, kProgram };
  std::vector<sock_filter> code;
  std::vector<std::pair<size_t, Target>> fixups;  // conditional: jt; BPF_JA: k

  void LoadNumber() {
    code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  }
  void Jump(uint16_t op, uint32_t k, Target t) {
    fixups.push_back({code.size(), t});
    code.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
  }
  // nr > last: ENOSYS (s390's setup(2), 0, is how an unknown large number arrives).
  void AboveLast(uint32_t arch, int64_t last) {
    if (arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X) Jump(BPF_JEQ, 0, kEnosys);
    if (last >= 0) Jump(BPF_JGT, static_cast<uint32_t>(last), kEnosys);
    Jump(BPF_JA, 0, kProgram);
  }
};

// x86_64 and x32 share AUDIT_ARCH_X86_64: the x32 bit of the number tells them apart.
Section X86_64Section(int64_t last_amd64, int64_t last_x32) {
  Section s;
  s.LoadNumber();
  size_t split = s.code.size();
  s.code.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit, 0, 0));
  s.AboveLast(SCMP_ARCH_X86_64, last_amd64);
  s.code[split].jt = static_cast<uint8_t>(s.code.size() - split - 1);
  s.AboveLast(SCMP_ARCH_X32, last_x32 >= 0 ? (last_x32 | kX32SyscallBit) : -1);
  return s;
}

}  // namespace

bool WantsEnosysStub(uint32_t default_action) {
  if (default_action == SCMP_ACT_ALLOW || default_action == SCMP_ACT_LOG) return false;
  if ((default_action & 0xffff0000u) == SCMP_ACT_TRACE(0)) return false;
  return default_action != SCMP_ACT_ERRNO(ENOSYS);
}

Result<std::vector<sock_filter>> EnosysStub(const oci::Seccomp& profile,
                                            const std::vector<uint32_t>& architectures) {
  std::vector<uint32_t> arches = architectures;
  arches.push_back(seccomp_arch_native());
  std::sort(arches.begin(), arches.end());
  arches.erase(std::unique(arches.begin(), arches.end()), arches.end());
  // Keyed by the audit arch the kernel reports; as runc, an arch whose profile names no
  // syscall gets no section.
  std::map<uint32_t, Section> sections;
  int64_t amd64 = -1, x32 = -1;
  for (uint32_t arch : arches) {
    int64_t last = LastSyscall(profile, arch);
    if (arch == SCMP_ARCH_X86_64) amd64 = last;
    else if (arch == SCMP_ARCH_X32) x32 = last;
    else if (last >= 0) {
      Section s;
      s.LoadNumber();
      s.AboveLast(arch, last);
      sections.emplace(arch, std::move(s));  // SCMP_ARCH_* values are AUDIT_ARCH_* values
    }
  }
  if (amd64 >= 0 || x32 >= 0) sections.emplace(AUDIT_ARCH_X86_64, X86_64Section(amd64, x32));

  // ld arch; jeq per section; ja program; sections...; ret ENOSYS; (program)
  std::vector<sock_filter> stub = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch))};
  size_t header = 1 + sections.size() + 1;
  size_t body = 0;
  for (const auto& [_, s] : sections) body += s.code.size();
  size_t enosys = header + body, program = enosys + 1;
  if (program > 255) return Fail("the seccomp ENOSYS stub is too long", E2BIG);
  size_t start = header;
  for (const auto& [audit_arch, s] : sections) {
    stub.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, audit_arch,
                            static_cast<uint8_t>(start - stub.size() - 1), 0));
    start += s.code.size();
  }
  stub.push_back(BPF_JUMP(BPF_JMP | BPF_JA, static_cast<uint32_t>(program - stub.size() - 1), 0, 0));
  for (const auto& [_, s] : sections) {
    size_t base = stub.size();
    stub.insert(stub.end(), s.code.begin(), s.code.end());
    for (const auto& [i, target] : s.fixups) {
      sock_filter& insn = stub[base + i];
      size_t distance = (target == Section::kEnosys ? enosys : program) - (base + i) - 1;
      if (BPF_OP(insn.code) == BPF_JA) insn.k = static_cast<uint32_t>(distance);
      else insn.jt = static_cast<uint8_t>(distance);
    }
  }
  stub.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
  return stub;
}

}  // namespace berth::linux
