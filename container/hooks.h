// Hooks the runtime runs itself (prestart, createRuntime, poststart, poststop):
// the state JSON on stdin, args, env and a timeout; output captured for errors.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::container {

// Runs `hooks` in order; stops at the first failure, naming it:
// "prestart hook 1 (/usr/bin/x) exited with status 3: <its stderr>".
Result<void> RunHooks(const std::vector<oci::Hook>& hooks, const char* kind,
                      const std::string& state_json);

// poststart and poststop: a failing hook is only a warning and the rest still
// run (runtime-spec). Returns one message per failed hook.
std::vector<std::string> RunHooksReportingFailures(const std::vector<oci::Hook>& hooks,
                                                   const char* kind, const std::string& state_json);

}  // namespace berth::container
