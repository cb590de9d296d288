#include "container/bundle.h"

#include <sys/stat.h>

#include <cstdlib>

#include "cgroup/devices.h"

namespace berth::container {

Result<std::string> RealDirectory(const std::string& path, const std::string& what) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return ErrnoError(what + " " + path);
  std::string out(real);
  std::free(real);
  struct stat st;
  if (::stat(out.c_str(), &st) < 0) return ErrnoError(what + " " + out);
  if (!S_ISDIR(st.st_mode)) return Fail(what + " " + out + " is not a directory", ENOTDIR);
  return out;
}

oci::Resources CgroupResources(const oci::Spec& spec) {
  oci::Resources r;
  if (spec.linux && spec.linux->resources) r = *spec.linux->resources;
  for (auto& rule : cgroup::DefaultDeviceRules()) r.devices.push_back(std::move(rule));
  if (spec.linux) {
    for (const auto& d : spec.linux->devices) {
      if (d.type != "c" && d.type != "b" && d.type != "u") continue;
      r.devices.push_back({.allow = true,
                           .type = d.type == "b" ? "b" : "c",
                           .major = d.major,
                           .minor = d.minor,
                           .access = "rwm"});
    }
  }
  return r;
}

}  // namespace berth::container
