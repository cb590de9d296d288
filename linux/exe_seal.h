// CVE-2019-5736: the runtime's own binary must not be writable through
// /proc/<pid>/exe by the container.
//
// Every process berth starts in a container is a clone of the runtime, so until
// its execve its /proc/self/exe is the runtime's binary; a container binary whose
// interpreter is "/proc/self/exe" (a "#!/proc/self/exe" script) then runs the
// runtime's binary inside the container, dumpable, where any process of the
// container can hold an O_PATH fd of /proc/<pid>/exe and reopen it for writing
// once that process has exited (ETXTBSY only protects a running binary). The
// defence, as runc 1.2: the runtime re-executes itself from a copy nothing can
// write (a read-only overlayfs mount made with fsopen(2) that belongs to no mount
// namespace, or failing that a sealed memfd) before it starts any container
// process. The shim must call this at startup too.
#pragma once

#include <string>

#include "base/result.h"

namespace berth::linux {

// True when /proc/self/exe is on a read-only overlayfs or is a write-sealed memfd.
bool ExecutableIsSealed();

// Returns at once when the executable is already sealed (or this process is the
// re-executed copy); otherwise re-executes `argv` (and our environment) from a
// sealed copy and does not return. `scratch_dir` is an empty directory berth owns
// (created if missing): overlayfs needs a second lower layer. Fails only when no
// sealed copy could be made or executed.
Result<void> ReexecSealed(char** argv, const std::string& scratch_dir);

}  // namespace berth::linux
