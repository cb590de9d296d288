// The shim daemon: what `start` leaves running. It serves the Task API on the
// listening socket it inherits as fd 3 (or -socket), publishes events to
// TTRPC_ADDRESS, logs to the bundle's `log` fifo, reaps as a child subreaper, and
// exits after a Shutdown that finds no container left (or on SIGTERM/SIGINT).
#pragma once

#include "shim/flags.h"

namespace berth::shim {

int RunDaemon(const Flags& flags);

}  // namespace berth::shim
