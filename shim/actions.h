// The binary's two actions besides the daemon, as containerd runs them:
// `start` (print the socket address; the daemon already serving and detached) and
// `delete` (clean up after a shim that is gone; print a DeleteResponse), and `-info`.
#pragma once

#include "shim/flags.h"

namespace berth::shim {

int RunStart(const Flags& flags);
int RunDelete(const Flags& flags);
// `-info`: the runtime options on stdin, a containerd.types.RuntimeInfo on stdout.
int RunInfo(const char* runtime_name, const char* version);

}  // namespace berth::shim
