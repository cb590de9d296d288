// AppArmor and SELinux: whether the host enforces them, checking a label before
// clone, and applying it in the child right before execve.
//
// libapparmor and libselinux are loaded with dlopen only when a label is asked
// for (or by `features`), so `berth` starts without them; the host answers
// "not enabled" when the library is missing too. The labels themselves are
// written by berth (async-signal-safe, through linux/procfs.h), not by the
// libraries, which allocate and resolve /proc by path.
#pragma once

#include <string>

#include "base/result.h"

namespace berth::linux {

// aa_is_enabled(): the AppArmor module is loaded and enforcing.
bool AppArmorEnabled();
// is_selinux_enabled() == 1.
bool SelinuxEnabled();

// Fails with a one-line reason when the host cannot apply the label. `what` is
// the config field ("process.apparmorProfile", "--process-label").
Result<void> CheckAppArmorProfile(const std::string& profile, const std::string& what);
// Also checks the context with security_check_context(3).
Result<void> CheckSelinuxLabel(const std::string& label, const std::string& what);

// Async-signal-safe, for the child. Both take the verified procfs root
// (OpenProcRoot) and return 0 or -errno.
// Writes "exec <profile>" to attr/apparmor/exec (attr/exec on older kernels).
int SetAppArmorExecProfile(int proc_root, const char* profile) noexcept;
// Writes the label to attr/exec: the SELinux context of the next execve.
int SetSelinuxExecLabel(int proc_root, const char* label) noexcept;

}  // namespace berth::linux
