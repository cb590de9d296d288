// linux.seccomp → BPF with libseccomp (before clone), loaded by hand (right before execve).
#include "linux/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "linux/seccomp_cache.h"
#include "linux/seccomp_enosys.h"

namespace berth::linux {
namespace {

// runc's default data for SCMP_ACT_ERRNO and SCMP_ACT_TRACE without errnoRet.
constexpr uint32_t kDefaultErrnoRet = EPERM;

struct ActionSpec {
  std::string_view name;
  uint32_t value;
  bool takes_errno_ret;  // errnoRet goes into SECCOMP_RET_DATA
};

// SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD, as in libseccomp and runc.
constexpr ActionSpec kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

struct NamedValue {
  std::string_view name;
  uint32_t value;  // 0: known to the runtime-spec but not to this libseccomp
};

constexpr NamedValue kArchitectures[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#else
    {"SCMP_ARCH_SH", 0},
    {"SCMP_ARCH_SHEB", 0},
#endif
};

constexpr NamedValue kOperators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

// TSYNC is accepted and ignored, as runc does: the filter is installed in a
// single-threaded child right before execve, and the kernel refuses TSYNC together
// with NEW_LISTENER.
constexpr NamedValue kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

// Syscalls a NOTIFY rule may not cover: after loading the filter the child tells the
// runtime the listener's fd number with write(2); trapping it would wait for an agent
// that never gets the listener (runc refuses notify on write for the same reason).
constexpr std::string_view kNotifyForbidden[] = {"write"};

const NamedValue* FindNamed(std::span<const NamedValue> table, std::string_view name) {
  for (const NamedValue& v : table)
    if (v.name == name) return &v;
  return nullptr;
}

// One entry of linux.seccomp.syscalls with every name-independent part resolved.
struct RulePlan {
  uint32_t action = 0;
  std::vector<scmp_arg_cmp> conditions;
  // runc: when two conditions test the same argument, each condition becomes a rule
  // of its own (they are ORed); otherwise all conditions form one rule (ANDed).
  bool rule_per_condition = false;
};

struct FilterPlan {
  uint32_t default_action = 0;
  std::vector<uint32_t> architectures;
  unsigned flags = 0;
  bool wants_listener = false;
  std::vector<RulePlan> rules;  // parallel to profile.syscalls
  size_t name_count = 0;
};

Result<uint32_t> ResolveAction(const std::string& name, const std::optional<uint32_t>& errno_ret,
                               const std::string& path, const std::string& errno_path) {
  for (const ActionSpec& a : kActions) {
    if (a.name != name) continue;
    if (!a.takes_errno_ret) return a.value;
    uint32_t data = errno_ret.value_or(kDefaultErrnoRet);
    if (data > SECCOMP_RET_DATA)
      return Fail(errno_path + ": " + std::to_string(data) + " does not fit in 16 bits");
    return a.value | data;
  }
  return Fail(path + ": unknown action " + name);
}

Result<FilterPlan> PlanFilter(const oci::Seccomp& profile) {
  const std::string root = "linux.seccomp";
  FilterPlan plan;
  plan.default_action =
      BERTH_TRY(ResolveAction(profile.default_action, profile.default_errno_ret,
                              root + ".defaultAction", root + ".defaultErrnoRet"));
  // A notifying default would trap the write that tells the runtime the listener.
  if (plan.default_action == SCMP_ACT_NOTIFY)
    return Fail(root + ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

  for (size_t i = 0; i < profile.architectures.size(); ++i) {
    const std::string& name = profile.architectures[i];
    std::string path = root + ".architectures[" + std::to_string(i) + "]";
    const NamedValue* arch = FindNamed(kArchitectures, name);
    if (!arch) return Fail(path + ": unknown architecture " + name);
    if (arch->value == 0)
      return Fail(path + ": architecture " + name + " is not supported by libseccomp " +
                  LibseccompVersion());
    plan.architectures.push_back(arch->value);
  }

  for (size_t i = 0; i < profile.flags.size(); ++i) {
    const NamedValue* flag = FindNamed(kFlags, profile.flags[i]);
    if (!flag)
      return Fail(root + ".flags[" + std::to_string(i) + "]: unknown flag " + profile.flags[i]);
    plan.flags |= flag->value;
  }

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const oci::SeccompSyscall& call = profile.syscalls[i];
    std::string path = root + ".syscalls[" + std::to_string(i) + "]";
    RulePlan rule;
    rule.action =
        BERTH_TRY(ResolveAction(call.action, call.errno_ret, path + ".action", path + ".errnoRet"));
    for (size_t n = 0; n < call.names.size(); ++n) {
      if (call.names[n].empty())
        return Fail(path + ".names[" + std::to_string(n) + "]: empty syscall name");
      if (rule.action != SCMP_ACT_NOTIFY) continue;
      for (std::string_view forbidden : kNotifyForbidden)
        if (call.names[n] == forbidden)
          return Fail(path + ": SCMP_ACT_NOTIFY cannot be used for " + std::string(forbidden) +
                      " (the runtime needs it to hand the listener over)");
    }
    plan.name_count += call.names.size();
    if (rule.action == SCMP_ACT_NOTIFY) plan.wants_listener = true;

    bool seen[6] = {};
    for (size_t a = 0; a < call.args.size(); ++a) {
      const oci::SeccompArg& arg = call.args[a];
      std::string arg_path = path + ".args[" + std::to_string(a) + "]";
      if (arg.index >= 6)
        return Fail(arg_path + ".index: " + std::to_string(arg.index) +
                    " is out of range (a syscall has 6 arguments, 0-5)");
      const NamedValue* op = FindNamed(kOperators, arg.op);
      if (!op) return Fail(arg_path + ".op: unknown operator " + arg.op);
      if (seen[arg.index]) rule.rule_per_condition = true;
      seen[arg.index] = true;
      // For SCMP_CMP_MASKED_EQ datum_a is the mask and datum_b the expected value,
      // matching the runtime-spec's value / valueTwo (Docker's clone rule).
      rule.conditions.push_back(
          scmp_arg_cmp{arg.index, static_cast<scmp_compare>(op->value), arg.value, arg.value_two});
    }
    plan.rules.push_back(std::move(rule));
  }

  if (plan.wants_listener && profile.listener_path.empty())
    return Fail(root + ".listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
  // The kernel only takes WAIT_KILLABLE_RECV together with NEW_LISTENER.
  if (!plan.wants_listener)
    plan.flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  return plan;
}

struct FilterContextRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using FilterContext = std::unique_ptr<void, FilterContextRelease>;

// libseccomp 2.5 has no in-memory export: write the program to a memfd and read it back.
Result<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx ctx) {
  UniqueFd fd(::memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return ErrnoError("memfd_create for the seccomp program");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0)
    return ErrnoError("libseccomp: export the seccomp program", -rc);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return ErrnoError("fstat the seccomp program memfd");
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0)
    return Fail("libseccomp exported a program of " + std::to_string(size) + " bytes");
  size_t count = size / sizeof(sock_filter);
  if (count > BPF_MAXINSNS)
    return Fail("the seccomp program has " + std::to_string(count) +
                    " instructions, more than the kernel's limit of " +
                    std::to_string(BPF_MAXINSNS),
                E2BIG);
  std::vector<sock_filter> filter(count);
  auto* out = reinterpret_cast<char*>(filter.data());
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read the seccomp program memfd");
    if (n == 0) return Fail("the seccomp program memfd is shorter than its size");
    done += static_cast<size_t>(n);
  }
  return filter;
}

Result<SeccompProgram> CompileWithLibseccomp(const oci::Seccomp& profile, const FilterPlan& plan) {
  const std::string root = "linux.seccomp";
  FilterContext ctx(seccomp_init(plan.default_action));
  if (!ctx) return Fail(root + ".defaultAction: libseccomp refused " + profile.default_action);
  // The runtime decides no_new_privs itself; the program is exported and loaded by hand,
  // so libseccomp's NNP attribute would not apply anyway. Said explicitly, as runc does.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return ErrnoError("libseccomp: clear the no_new_privs attribute", -rc);

  for (size_t i = 0; i < plan.architectures.size(); ++i) {
    // The native architecture is always in the filter (seccomp_init adds it).
    int rc = seccomp_arch_add(ctx.get(), plan.architectures[i]);
    if (rc < 0 && rc != -EEXIST)
      return ErrnoError(root + ".architectures[" + std::to_string(i) + "]: libseccomp: add " +
                            profile.architectures[i],
                        -rc);
  }

  // runc: a binary tree of syscall numbers for long profiles (libseccomp 2.5.4 misbehaves
  // with the tree and no rules, hence the threshold). Failure only costs speed.
  if (plan.name_count > 32) (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const oci::SeccompSyscall& call = profile.syscalls[i];
    const RulePlan& rule = plan.rules[i];
    // libseccomp refuses a rule whose action is the default one; runc skips it.
    if (rule.action == plan.default_action) continue;
    for (const std::string& name : call.names) {
      // A pseudo-number (< 0, not __NR_SCMP_ERROR) names a syscall that exists on another
      // of the filter's architectures; libseccomp translates it per architecture.
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: skipped, as runc does
      auto add = [&](std::span<const scmp_arg_cmp> conditions) -> Result<void> {
        int rc = seccomp_rule_add_array(ctx.get(), rule.action, nr,
                                        static_cast<unsigned>(conditions.size()),
                                        conditions.empty() ? nullptr : conditions.data());
        if (rc < 0)
          return ErrnoError(
              root + ".syscalls[" + std::to_string(i) + "]: libseccomp: add rule for " + name, -rc);
        return {};
      };
      if (rule.rule_per_condition) {
        for (const scmp_arg_cmp& c : rule.conditions) BERTH_TRY(add({&c, 1}));
      } else {
        BERTH_TRY(add(rule.conditions));
      }
    }
  }

  SeccompProgram program;
  program.filter = BERTH_TRY(ExportBpf(ctx.get()));
  if (WantsEnosysStub(plan.default_action)) {
    std::vector<sock_filter> stub = BERTH_TRY(EnosysStub(profile, plan.architectures));
    if (stub.size() + program.filter.size() > BPF_MAXINSNS)
      return Fail("the seccomp program with its ENOSYS stub is longer than the kernel's limit of " +
                      std::to_string(BPF_MAXINSNS) + " instructions",
                  E2BIG);
    program.filter.insert(program.filter.begin(), stub.begin(), stub.end());
  }
  program.flags = plan.flags;
  program.wants_listener = plan.wants_listener;
  return program;
}

}  // namespace

Result<SeccompProgram> CompileSeccomp(const oci::Seccomp& profile,
                                      const SeccompCompileOptions& options) {
  // Validation is cheap and never cached: an invalid profile fails the same way every time.
  FilterPlan plan = BERTH_TRY(PlanFilter(profile));
  if (options.cache_dir.empty()) return CompileWithLibseccomp(profile, plan);

  std::string key = seccomp_cache::Key(profile);
  if (std::optional<SeccompProgram> hit = seccomp_cache::Lookup(options.cache_dir, key))
    return *std::move(hit);
  SeccompProgram program = BERTH_TRY(CompileWithLibseccomp(profile, plan));
  // Best effort: a read-only or untrusted cache directory only costs the next compile.
  (void)seccomp_cache::Store(options.cache_dir, key, program);
  return program;
}

int LoadSeccompProgram(const SeccompProgram& program) noexcept {
  size_t count = program.filter.size();
  if (count == 0 || count > BPF_MAXINSNS) return -EINVAL;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(count);
  prog.filter = const_cast<sock_filter*>(program.filter.data());
  unsigned long flags = program.flags;
  if (program.wants_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  // The kernel opens the listener O_CLOEXEC: it never reaches the container's program.
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return -errno;
  return program.wants_listener ? static_cast<int>(rc) : 0;
}

SeccompSupport SeccompSupported() {
  SeccompSupport out;
  for (const ActionSpec& a : kActions) out.actions.emplace_back(a.name);
  for (const NamedValue& o : kOperators) out.operators.emplace_back(o.name);
  for (const NamedValue& a : kArchitectures)
    if (a.value != 0) out.architectures.emplace_back(a.name);
  for (const NamedValue& f : kFlags) {
    out.known_flags.emplace_back(f.name);
    if (f.value == 0) continue;
    // With a NULL program the kernel checks the flags first: EFAULT means it
    // knows them, EINVAL that it does not. WAIT_KILLABLE_RECV is only valid
    // with a listener, which is the only way berth passes it.
    unsigned flags = f.value;
    if (flags == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    errno = 0;
    long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, nullptr);
    if (r < 0 && errno == EFAULT) out.supported_flags.emplace_back(f.name);
  }
  return out;
}

std::string LibseccompVersion() {
  const scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

}  // namespace berth::linux
