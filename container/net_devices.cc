#include "container/net_devices.h"

#include <fcntl.h>
#include <unistd.h>

#include "linux/files.h"
#include "linux/netlink.h"

namespace berth::container {

Result<void> CheckNetDevices(const oci::Spec& spec) {
  if (!spec.linux || spec.linux->net_devices.empty()) return {};
  if (!spec.HasNamespace("network"))
    return Fail("linux.netDevices: moving network devices needs a network namespace of the container");
  if (::geteuid() != 0)
    return Fail("linux.netDevices: network devices are not supported for rootless containers");
  for (const auto& [name, device] : spec.linux->net_devices) {
    if (!linux::ValidInterfaceName(name))
      return Fail("linux.netDevices: invalid network device name \"" + name + "\"");
    if (!device.name.empty() && !linux::ValidInterfaceName(device.name))
      return Fail("linux.netDevices." + name + ".name: invalid network device name \"" +
                  device.name + "\"");
  }
  return {};
}

Result<void> MoveNetDevices(const oci::Spec& spec, pid_t init) {
  if (!spec.linux || spec.linux->net_devices.empty()) return {};
  // A joined namespace may not be init's yet (it joins after it is told to go on).
  const oci::Namespace* ns = spec.FindNamespace("network");
  std::string path = ns->path.empty() ? "/proc/" + std::to_string(init) + "/ns/net" : ns->path;
  linux::UniqueFd netns = BERTH_TRY_CTX(linux::Open(path, O_RDONLY), "linux.netDevices");
  for (const auto& [name, device] : spec.linux->net_devices)
    BERTH_TRY_CTX(linux::MoveInterface(name, device.name.empty() ? name : device.name, netns.get()),
                  "linux.netDevices");
  return {};
}

}  // namespace berth::container
