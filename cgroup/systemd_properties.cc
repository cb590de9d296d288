#include "cgroup/systemd_properties.h"

#include <charconv>
#include <limits>

#include "cgroup/fs.h"
#include "cgroup/v2.h"

namespace berth::cgroup::systemd {
namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();

UnitProperty Prop(std::string name, PropertyValue v) {
  return {std::move(name), std::move(v)};
}

// A "c 136:* rwm" rule needs the device group's name from /proc/devices: "char-pts".
std::string DeviceGroup(const std::string& proc_devices, char type, int64_t major) {
  std::string_view text = proc_devices;
  char section = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = fs::Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line == "Character devices:") {
      section = 'c';
      continue;
    }
    if (line == "Block devices:") {
      section = 'b';
      continue;
    }
    if (section != type) continue;
    auto f = fs::Fields(line);
    if (f.size() != 2) continue;
    int64_t m = -1;
    auto [end, ec] = std::from_chars(f[0].data(), f[0].data() + f[0].size(), m);
    if (ec == std::errc() && m == major)
      return std::string(type == 'c' ? "char-" : "block-") + f[1];
  }
  return "";
}

bool AnyNumber(const std::optional<int64_t>& n) {
  return !n || *n < 0;
}

std::vector<UnitProperty> DeviceProperties(const std::vector<oci::DeviceRule>& rules,
                                           const std::string& proc_devices) {
  // A rule of type "a" without numbers resets the list, as in v1: only what follows the
  // last one counts.
  size_t start = 0;
  bool default_allow = false;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].type == "a" && AnyNumber(rules[i].major) && AnyNumber(rules[i].minor)) {
      start = i + 1;
      default_allow = rules[i].allow;
    }
  }
  std::vector<UnitProperty> out;
  if (default_allow) {
    bool denies = false;
    for (size_t i = start; i < rules.size(); ++i) denies |= !rules[i].allow;
    // systemd has no deny list. Allow-all is "auto"; allow-all-but is approximated by
    // strict (deny all) and left to the cgroupfs rules applied after the unit starts.
    out.push_back(Prop("DevicePolicy", std::string(denies ? "strict" : "auto")));
    out.push_back(Prop("DeviceAllow", DeviceAllowList{}));
    return out;
  }
  DeviceAllowList allow;
  for (size_t i = start; i < rules.size(); ++i) {
    const auto& r = rules[i];
    if (!r.allow) continue;  // deny rules after a deny-all only narrow earlier allows
    std::vector<char> types;
    if (r.type == "a")
      types = {'c', 'b'};
    else
      types = {r.type.empty() ? 'a' : r.type[0]};
    for (char t : types) {
      std::string prefix = t == 'c' ? "char" : "block";
      std::string path;
      if (AnyNumber(r.major)) {
        if (!AnyNumber(r.minor)) continue;  // "*:n" has no systemd spelling
        path = prefix + "-*";
      } else if (AnyNumber(r.minor)) {
        path = DeviceGroup(proc_devices, t, *r.major);
        if (path.empty()) continue;
      } else {
        path = "/dev/" + prefix + "/" + std::to_string(*r.major) + ":" + std::to_string(*r.minor);
      }
      allow.emplace_back(path, r.access);
    }
  }
  out.push_back(Prop("DevicePolicy", std::string("strict")));
  out.push_back(Prop("DeviceAllow", std::move(allow)));
  return out;
}

Result<void> AddCpuset(std::vector<UnitProperty>& out, const std::string& cpus,
                       const std::string& mems, int version) {
  if (version < 244) return {};
  if (!cpus.empty()) out.push_back(Prop("AllowedCPUs", BERTH_TRY_CTX(CpuMask(cpus), "cpu.cpus")));
  if (!mems.empty())
    out.push_back(Prop("AllowedMemoryNodes", BERTH_TRY_CTX(CpuMask(mems), "cpu.mems")));
  return {};
}

void AddCpuQuota(std::vector<UnitProperty>& out, int64_t quota, uint64_t period, int version) {
  if (period != 0 && version >= 242) out.push_back(Prop("CPUQuotaPeriodUSec", period));
  if (quota != 0 || period != 0)
    out.push_back(Prop("CPUQuotaPerSecUSec", CpuQuotaPerSecUSec(quota, period)));
}

Result<uint64_t> ParseNumberOrMax(const std::string& key, const std::string& value) {
  if (value == "max") return kInfinity;
  auto v = fs::ParseUint(value);
  if (!v)
    return Fail("linux.resources.unified \"" + key + "\": bad value \"" + value + "\"", EINVAL);
  return *v;
}

// runc's unifiedResToSystemdProps: the unified keys systemd has properties for.
Result<void> AddUnified(std::vector<UnitProperty>& out, const std::map<std::string, std::string>& u,
                        int version) {
  for (const auto& [key, value] : u) {
    if (key == "cpu.weight") {
      out.push_back(Prop("CPUWeight", BERTH_TRY(ParseNumberOrMax(key, value))));
    } else if (key == "cpu.max") {
      auto f = fs::Fields(value);
      if (f.empty() || f.size() > 2)
        return Fail("linux.resources.unified \"cpu.max\": bad value \"" + value + "\"", EINVAL);
      int64_t quota = -1;
      if (f[0] != "max") quota = static_cast<int64_t>(BERTH_TRY(ParseNumberOrMax(key, f[0])));
      uint64_t period = f.size() == 2 ? BERTH_TRY(ParseNumberOrMax(key, f[1])) : 0;
      AddCpuQuota(out, quota, period, version);
    } else if (key == "cpuset.cpus" || key == "cpuset.mems") {
      BERTH_TRY(AddCpuset(out, key == "cpuset.cpus" ? value : "", key == "cpuset.mems" ? value : "",
                          version));
    } else if (key == "memory.min" || key == "memory.low" || key == "memory.high" ||
               key == "memory.max" || key == "memory.swap.max") {
      static const std::map<std::string, std::string> names = {
          {"memory.min", "MemoryMin"},
          {"memory.low", "MemoryLow"},
          {"memory.high", "MemoryHigh"},
          {"memory.max", "MemoryMax"},
          {"memory.swap.max", "MemorySwapMax"}};
      out.push_back(Prop(names.at(key), BERTH_TRY(ParseNumberOrMax(key, value))));
    } else if (key == "pids.max") {
      out.push_back(Prop("TasksMax", BERTH_TRY(ParseNumberOrMax(key, value))));
    }
    // Other keys are written to cgroupfs after the unit starts.
  }
  return {};
}

}  // namespace

Result<std::string> ExpandSlice(const std::string& slice) {
  constexpr std::string_view kSuffix = ".slice";
  if (slice.size() <= kSuffix.size() || !slice.ends_with(kSuffix) ||
      slice.find('/') != std::string::npos)
    return Fail("invalid slice name \"" + slice + "\"", EINVAL);
  std::string name = slice.substr(0, slice.size() - kSuffix.size());
  if (name == "-") return std::string("/");
  std::string path, prefix;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dash = name.find('-', start);
    std::string part =
        name.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (part.empty()) return Fail("invalid slice name \"" + slice + "\"", EINVAL);
    path += "/" + prefix + part + std::string(kSuffix);
    prefix += part + "-";
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return path;
}

Result<UnitPath> ParseCgroupsPath(const std::string& cgroups_path, const std::string& id) {
  std::string raw = cgroups_path.empty() ? "system.slice:berth:" + id : cgroups_path;
  auto c1 = raw.find(':');
  auto c2 = c1 == std::string::npos ? std::string::npos : raw.find(':', c1 + 1);
  if (c2 == std::string::npos || raw.find(':', c2 + 1) != std::string::npos)
    return Fail("cgroupsPath \"" + raw + "\": the systemd driver wants \"slice:prefix:name\"",
                EINVAL);
  std::string slice = raw.substr(0, c1), prefix = raw.substr(c1 + 1, c2 - c1 - 1),
              name = raw.substr(c2 + 1);
  if (name.empty()) return Fail("cgroupsPath \"" + raw + "\": empty name", EINVAL);
  for (const auto& part : {slice, prefix, name})
    if (part.find('/') != std::string::npos || part == "..")
      return Fail("cgroupsPath \"" + raw + "\": \"/\" and \"..\" are not allowed", EINVAL);
  UnitPath out;
  out.slice = slice.empty() ? "system.slice" : slice;
  std::string slice_dir = BERTH_TRY_CTX(ExpandSlice(out.slice), "cgroupsPath \"" + raw + "\"");
  if (name.ends_with(".slice")) {
    // The container gets a slice of its own; its directory is the expanded name.
    out.unit = name;
    out.cgroup_dir = BERTH_TRY_CTX(ExpandSlice(name), "cgroupsPath \"" + raw + "\"");
    return out;
  }
  out.unit = (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  out.cgroup_dir = (slice_dir == "/" ? "" : slice_dir) + "/" + out.unit;
  return out;
}

const char* Signature(const PropertyValue& v) {
  switch (v.index()) {
    case 0:
      return "b";
    case 1:
      return "s";
    case 2:
      return "t";
    case 3:
      return "au";
    case 4:
      return "ay";
    default:
      return "a(ss)";
  }
}

std::vector<UnitProperty> ScopeProperties(const UnitPath& path, const std::string& id, pid_t pid,
                                          Mode mode) {
  std::vector<UnitProperty> out;
  out.push_back(Prop("Description", "berth container " + id));
  if (path.unit.ends_with(".scope")) out.push_back(Prop("Slice", path.slice));
  out.push_back(Prop("Delegate", true));
  if (pid > 0) out.push_back(Prop("PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}));
  out.push_back(Prop("MemoryAccounting", true));
  out.push_back(Prop("CPUAccounting", true));
  out.push_back(Prop(mode == Mode::kUnified ? "IOAccounting" : "BlockIOAccounting", true));
  out.push_back(Prop("TasksAccounting", true));
  out.push_back(Prop("DefaultDependencies", false));
  return out;
}

uint64_t CpuQuotaPerSecUSec(int64_t quota, uint64_t period) {
  if (quota <= 0) return kInfinity;
  if (period == 0) period = 100000;
  uint64_t per_sec = static_cast<uint64_t>(quota) * 1000000 / period;
  if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
  return per_sec;
}

Result<std::vector<uint8_t>> CpuMask(const std::string& list) {
  std::vector<uint8_t> mask;
  size_t start = 0;
  bool any = false;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    std::string part(fs::Trim(
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    start = comma == std::string::npos ? list.size() : comma + 1;
    if (part.empty()) continue;
    auto dash = part.find('-');
    auto lo = fs::ParseUint(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : fs::ParseUint(part.substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *hi >= 8192)
      return Fail("bad CPU list \"" + list + "\"", EINVAL);
    for (uint64_t i = *lo; i <= *hi; ++i) {
      if (mask.size() <= i / 8) mask.resize(i / 8 + 1, 0);
      mask[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
      any = true;
    }
  }
  if (!any) return Fail("empty CPU list \"" + list + "\"", EINVAL);
  return mask;
}

int ParseSystemdVersion(const std::string& version) {
  std::string_view v = version;
  if (v.starts_with("v")) v.remove_prefix(1);
  int out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() ? out : 0;
}

Result<std::vector<UnitProperty>> ResourceProperties(const oci::Resources& r, Mode mode,
                                                     int version, const std::string& proc_devices) {
  std::vector<UnitProperty> out;
  if (!r.devices.empty()) {
    auto d = DeviceProperties(r.devices, proc_devices);
    out.insert(out.end(), d.begin(), d.end());
  }
  int64_t limit = r.memory ? r.memory->limit.value_or(0) : 0;
  int64_t pids = r.pids ? r.pids->limit : 0;
  uint64_t shares = r.cpu ? r.cpu->shares.value_or(0) : 0;
  int64_t quota = r.cpu ? r.cpu->quota.value_or(0) : 0;
  uint64_t period = r.cpu ? r.cpu->period.value_or(0) : 0;
  if (mode == Mode::kUnified) {
    if (limit != 0) out.push_back(Prop("MemoryMax", static_cast<uint64_t>(limit)));
    int64_t reservation = r.memory ? r.memory->reservation.value_or(0) : 0;
    if (reservation != 0) out.push_back(Prop("MemoryLow", static_cast<uint64_t>(reservation)));
    if (r.memory) {
      int64_t swap = BERTH_TRY(v2::SwapToV2(r.memory->swap.value_or(0), limit));
      if (swap != 0) out.push_back(Prop("MemorySwapMax", static_cast<uint64_t>(swap)));
    }
    if (shares != 0) out.push_back(Prop("CPUWeight", v2::SharesToWeight(shares)));
  } else {
    if (limit != 0) out.push_back(Prop("MemoryLimit", static_cast<uint64_t>(limit)));
    if (shares != 0) out.push_back(Prop("CPUShares", shares));
    if (r.block_io && r.block_io->weight && *r.block_io->weight != 0)
      out.push_back(Prop("BlockIOWeight", uint64_t{*r.block_io->weight}));
  }
  AddCpuQuota(out, quota, period, version);
  // -1 (unlimited) becomes UINT64_MAX, systemd's "infinity".
  if (pids > 0 || pids == -1) out.push_back(Prop("TasksMax", static_cast<uint64_t>(pids)));
  if (r.cpu) BERTH_TRY(AddCpuset(out, r.cpu->cpus, r.cpu->mems, version));
  if (mode == Mode::kUnified) BERTH_TRY(AddUnified(out, r.unified, version));
  return out;
}

}  // namespace berth::cgroup::systemd
