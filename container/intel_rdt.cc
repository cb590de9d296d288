#include "container/intel_rdt.h"

#include <cerrno>
#include <sstream>

#include "linux/files.h"

namespace berth::container {

bool ResctrlMounted() {
  auto mountinfo = linux::ReadFile("/proc/self/mountinfo");
  if (!mountinfo) return false;
  std::istringstream in(*mountinfo);
  for (std::string line; std::getline(in, line);) {
    size_t dash = line.find(" - ");
    if (dash != std::string::npos && line.compare(dash + 3, 8, "resctrl ") == 0) return true;
  }
  return false;
}

Result<void> CheckIntelRdt(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->intel_rdt) return {};
  if (!ResctrlMounted())
    return Fail("linux.intelRdt: no resctrl filesystem is mounted (Intel RDT is not enabled)",
                ENODEV);
  return Fail("linux.intelRdt: resctrl is mounted, but berth does not support Intel RDT",
              EOPNOTSUPP);
}

}  // namespace berth::container
