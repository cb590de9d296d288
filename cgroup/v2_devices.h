// Device access on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
// container's cgroup (BPF_CGROUP_DEVICE), as runc and crun do. The instructions are
// written here directly (no libbpf): the program is a chain of compare-and-return blocks.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"

namespace berth::cgroup::v2 {

// The program for `rules`. The kernel passes struct bpf_cgroup_dev_ctx {access_type =
// access << 16 | type, major, minor}. The last rule that matches a request decides it
// (the order devices.allow/deny writes take effect in v1); with no match the request is
// denied. A rule with type "a" and no numbers and "rwm" matches everything, so the rules
// before it are not emitted.
Result<std::vector<struct bpf_insn>> DeviceProgram(const std::vector<oci::DeviceRule>& rules);

// Loads the program into the kernel (the verifier checks it). The error carries the
// verifier's log.
Result<linux::UniqueFd> LoadDeviceProgram(const std::vector<struct bpf_insn>& program);

// Loads the program for `rules`, attaches it to the cgroup at `dir` and then detaches
// the device programs that were attached before, so that there is never a moment
// without a filter. Empty rules: nothing is attached.
Result<void> SetDevices(const std::string& dir, const std::vector<oci::DeviceRule>& rules);

// The ids of the device programs attached to `dir`.
Result<std::vector<uint32_t>> AttachedDevicePrograms(const std::string& dir);

}  // namespace berth::cgroup::v2
