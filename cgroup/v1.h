// cgroup v1: one directory per controller hierarchy. File names and value conversions
// follow runc's libcontainer/cgroups/fs; a value of 0 means "not set" where it does
// there (shares, quota, period, realtime, memory sizes, pids, blkio weights).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::cgroup::v1 {

Result<void> SetCpu(const std::string& dir, const oci::Cpu& cpu);
Result<void> SetCpuset(const std::string& dir, const oci::Cpu& cpu);
Result<void> SetMemory(const std::string& dir, const oci::Memory& memory);
Result<void> SetPids(const std::string& dir, const oci::Pids& pids);
Result<void> SetBlkio(const std::string& dir, const oci::BlockIo& blkio);
Result<void> SetNetCls(const std::string& dir, const oci::Network& network);
Result<void> SetNetPrio(const std::string& dir, const oci::Network& network);
Result<void> SetRdma(const std::string& dir, const std::map<std::string, oci::Rdma>& rdma);
// Writes the rules in order to devices.allow / devices.deny.
Result<void> SetDevices(const std::string& dir, const std::vector<oci::DeviceRule>& rules);

// A new cpuset cgroup has empty cpuset.cpus and cpuset.mems, and no task may join it
// until they are set: copies each empty one from the parent, from `mountpoint` down to
// `dir`.
Result<void> InitCpuset(const std::string& mountpoint, const std::string& dir);

// freezer.state: writes FROZEN / THAWED and waits until the kernel reports it.
Result<void> Freeze(const std::string& dir);
Result<void> Thaw(const std::string& dir);
Result<bool> IsFrozen(const std::string& dir);

}  // namespace berth::cgroup::v1
