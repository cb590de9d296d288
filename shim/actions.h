// The binary's two actions besides the daemon, as containerd runs them:
// `start` (print the socket address; the daemon already serving and detached) and
// `delete` (clean up after a shim that is gone; print a DeleteResponse).
#pragma once

#include "shim/flags.h"

namespace berth::shim {

int RunStart(const Flags& flags);
int RunDelete(const Flags& flags);

}  // namespace berth::shim
