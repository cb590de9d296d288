// Device access rules (linux.resources.devices): validation, the v1 devices.allow /
// devices.deny syntax, and the rules every container gets.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::cgroup {

// Type is a, b or c; access a non-empty subset of "rwm"; major/minor not negative
// (other than the spec's -1 "any").
Result<void> ValidateDeviceRule(const oci::DeviceRule& rule);

// "c 1:3 rwm", "b 8:* r", "a *:* rwm": one line for devices.allow / devices.deny.
std::string V1DeviceRule(const oci::DeviceRule& rule);

// runc's default allow list (mknod of any char/block device, /dev/null, zero, full,
// random, urandom, tty, console, ptmx, pts/*, net/tun). The container layer appends it
// after the config's rules, as crun does, so the config's rules come first in
// devices.list (the conformance suite checks that order).
std::vector<oci::DeviceRule> DefaultDeviceRules();

}  // namespace berth::cgroup
