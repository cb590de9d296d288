#include "cgroup/devices.h"

namespace berth::cgroup {

Result<void> ValidateDeviceRule(const oci::DeviceRule& r) {
  std::string what = "device rule \"" + V1DeviceRule(r) + "\"";
  if (r.type != "a" && r.type != "b" && r.type != "c")
    return Fail(what + ": type must be a, b or c", EINVAL);
  if (r.access.empty()) return Fail(what + ": empty access", EINVAL);
  for (char c : r.access)
    if (c != 'r' && c != 'w' && c != 'm')
      return Fail(what + ": access may only hold r, w and m", EINVAL);
  if ((r.major && *r.major < -1) || (r.minor && *r.minor < -1) ||
      (r.major && *r.major > 0xffffffffLL) || (r.minor && *r.minor > 0xffffffffLL))
    return Fail(what + ": bad device number", EINVAL);
  return {};
}

std::string V1DeviceRule(const oci::DeviceRule& r) {
  auto num = [](const std::optional<int64_t>& n) {
    return n && *n >= 0 ? std::to_string(*n) : std::string("*");
  };
  std::string type = r.type.empty() ? "a" : r.type;
  return type + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

std::vector<oci::DeviceRule> DefaultDeviceRules() {
  auto rule = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                 const char* access) {
    oci::DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    return r;
  };
  return {
      rule("c", std::nullopt, std::nullopt, "m"),  // mknod any char device
      rule("b", std::nullopt, std::nullopt, "m"),  // mknod any block device
      rule("c", 1, 3, "rwm"),                      // /dev/null
      rule("c", 1, 8, "rwm"),                      // /dev/random
      rule("c", 1, 7, "rwm"),                      // /dev/full
      rule("c", 5, 0, "rwm"),                      // /dev/tty
      rule("c", 1, 5, "rwm"),                      // /dev/zero
      rule("c", 1, 9, "rwm"),                      // /dev/urandom
      rule("c", 5, 1, "rwm"),                      // /dev/console
      rule("c", 136, std::nullopt, "rwm"),         // /dev/pts/*
      rule("c", 5, 2, "rwm"),                      // /dev/ptmx
      rule("c", 10, 200, "rwm"),                   // /dev/net/tun
  };
}

}  // namespace berth::cgroup
