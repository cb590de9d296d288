// The systemd driver (--systemd-cgroup): the container's cgroup is a transient scope
// that systemd creates over D-Bus (sd-bus from libsystemd, loaded with dlopen so that
// the berth binary neither links nor loads it unless this driver is used).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "cgroup/cgroup.h"

namespace berth::cgroup {

// Fails with one line when systemd is not the init system (no `run_dir`, which tests
// point elsewhere).
Result<std::unique_ptr<Manager>> CreateSystemdManager(
    const Request& request, const std::string& run_dir = "/run/systemd/system");
Result<std::unique_ptr<Manager>> LoadSystemdManager(const Paths& paths);

// Loads libsystemd and resolves every sd-bus function the driver calls.
Result<void> LoadLibsystemd();

// sd_booted(3): /run/systemd/system is a directory. `run_dir` is for tests.
bool SystemdRunning(const std::string& run_dir = "/run/systemd/system");

}  // namespace berth::cgroup
