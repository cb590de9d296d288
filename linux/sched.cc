#include "linux/sched.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <string>

namespace berth::linux {
namespace {

constexpr unsigned kBitsPerWord = sizeof(unsigned long) * CHAR_BIT;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Result<unsigned> ParseId(std::string_view text, std::string_view list) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return Fail("\"" + std::string(list) + "\": \"" + std::string(text) + "\" is not a number");
  if (v >= kMaxListIds)
    return Fail("\"" + std::string(list) + "\": values larger than " +
                std::to_string(kMaxListIds - 1) + " are not supported");
  return v;
}

}  // namespace

Result<IdMask> ParseIdList(std::string_view list) {
  IdMask mask;
  if (list.empty()) return mask;
  mask.assign(kMaxListIds / kBitsPerWord, 0);
  bool any = false;
  std::string_view rest = list;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (!item.empty()) {
      size_t dash = item.find('-');
      unsigned first = BERTH_TRY(ParseId(item.substr(0, dash), list));
      unsigned last = dash == std::string_view::npos
                          ? first
                          : BERTH_TRY(ParseId(item.substr(dash + 1), list));
      if (first > last)
        return Fail("\"" + std::string(list) + "\": invalid range " + std::string(item));
      for (unsigned i = first; i <= last; ++i) mask[i / kBitsPerWord] |= 1UL << (i % kBitsPerWord);
      any = true;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!any) return Fail("\"" + std::string(list) + "\": no members found in the set");
  return mask;
}

int ApplySchedAttr(const SchedAttr& attr) noexcept {
  return ::syscall(SYS_sched_setattr, 0, &attr, 0) < 0 ? -errno : 0;
}

int ApplyMemoryPolicy(int mode_and_flags, const IdMask& nodes) noexcept {
  long r;
  do {
    r = ::syscall(SYS_set_mempolicy, mode_and_flags, nodes.empty() ? nullptr : nodes.data(),
                  nodes.empty() ? 0UL : static_cast<unsigned long>(kMaxListIds));
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

Result<void> SetAffinity(pid_t pid, const IdMask& cpus) {
  if (::sched_setaffinity(pid, cpus.size() * sizeof(unsigned long),
                          reinterpret_cast<const cpu_set_t*>(cpus.data())) < 0)
    return ErrnoError("sched_setaffinity of pid " + std::to_string(pid));
  return {};
}

Result<IdMask> GetAffinity(pid_t pid) {
  IdMask cpus(kMaxListIds / kBitsPerWord, 0);
  if (::sched_getaffinity(pid, cpus.size() * sizeof(unsigned long),
                          reinterpret_cast<cpu_set_t*>(cpus.data())) < 0)
    return ErrnoError("sched_getaffinity of pid " + std::to_string(pid));
  return cpus;
}

Result<void> ResetAffinity(pid_t pid) {
  // The kernel clamps the mask to the CPUs it supports and to the task's cpuset; a
  // mask this wide also keeps CPUs that are added to the cpuset later (runc's reasoning).
  constexpr unsigned kAllCpus = 64 * 1024;
  return SetAffinity(pid, IdMask(kAllCpus / kBitsPerWord, ~0UL));
}

}  // namespace berth::linux
