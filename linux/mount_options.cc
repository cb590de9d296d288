#include "linux/mount_options.h"

#include <linux/mount.h>
#include <sys/mount.h>

#include <cctype>
#include <string_view>

namespace berth::linux {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option turns the flag off
  unsigned long flag;
};

// runc's libcontainer/specconv mount option table.
constexpr FlagOption kFlags[] = {
    {"async", true, MS_SYNCHRONOUS},   {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},          {"defaults", false, 0},
    {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION}, {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},         {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME}, {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION}, {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},     {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC}, {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},           {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},        {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},          {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},            {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},  {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
  std::string_view name;
  bool clear;
  uint64_t attr;
};

// Recursive mount attributes (runc 1.1+), applied with mount_setattr(AT_RECURSIVE).
constexpr AttrOption kAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},       {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},   {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},     {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},   {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

}  // namespace

bool MountOptions::IsBind() const { return (flags & MS_BIND) != 0; }
bool MountOptions::IsReadonly() const { return (flags & MS_RDONLY) != 0; }

unsigned long ParsePropagation(const std::string& name) {
  for (const auto& p : kPropagation)
    if (p.name == name) return p.flags;
  return 0;
}

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  for (const std::string& opt : options) {
    bool matched = false;
    for (const auto& f : kFlags) {
      if (f.name != opt) continue;
      if (f.clear) {
        out.flags &= ~f.flag;
        out.clear |= f.flag;
      } else {
        out.flags |= f.flag;
        out.clear &= ~f.flag;
      }
      matched = true;
      break;
    }
    if (matched) continue;
    if (unsigned long p = ParsePropagation(opt)) {
      out.propagation = p;
      continue;
    }
    for (const auto& a : kAttrs) {
      if (a.name != opt) continue;
      if (a.clear) {
        out.attr_clr |= a.attr;
        out.attr_set &= ~a.attr;
      } else {
        out.attr_set |= a.attr;
        out.attr_clr &= ~a.attr;
      }
      matched = true;
      break;
    }
    if (matched) continue;
    if (opt == "tmpcopyup") {
      out.tmpcopyup = true;
      continue;
    }
    if (opt == "idmap" || opt == "ridmap") {
      (opt == "idmap" ? out.idmap : out.ridmap) = true;
      continue;
    }
    if (!out.data.empty()) out.data += ',';
    out.data += opt;
  }
  return out;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountinfo(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::isdigit(static_cast<unsigned char>(field[i + 1]))) {
      out += static_cast<char>(std::stoi(std::string(field.substr(i + 1, 3)), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

struct MountinfoLine {
  std::string root, mount_point, fstype;
};

// id parent major:minor ROOT MOUNT-POINT options [optional...] - FSTYPE source super
template <typename Visit>
void ForEachMount(std::string_view mountinfo, Visit visit) {
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t end = mountinfo.find('\n', pos);
    if (end == std::string_view::npos) end = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, end - pos);
    pos = end + 1;
    MountinfoLine m;
    size_t field = 0, start = 0;
    for (size_t i = 0; i <= line.size() && field < 5; ++i) {
      if (i < line.size() && line[i] != ' ') continue;
      if (field == 3) m.root = UnescapeMountinfo(line.substr(start, i - start));
      if (field == 4) m.mount_point = UnescapeMountinfo(line.substr(start, i - start));
      ++field;
      start = i + 1;
    }
    if (size_t dash = line.find(" - "); dash != std::string_view::npos) {
      std::string_view rest = line.substr(dash + 3);
      m.fstype = std::string(rest.substr(0, rest.find(' ')));
    }
    if (field == 5) visit(m);
  }
}

}  // namespace

std::string MountPointOf(const std::string& path, std::string_view mountinfo) {
  std::string best = "/";
  ForEachMount(mountinfo, [&](MountinfoLine& m) {
    if (m.mount_point.size() > best.size() && IsUnder(path, m.mount_point))
      best = std::move(m.mount_point);
  });
  return best;
}

std::vector<std::string> FullProcAndSysfsMounts(std::string_view mountinfo,
                                                const std::string& except_under) {
  std::vector<std::string> out;
  ForEachMount(mountinfo, [&](MountinfoLine& m) {
    if (m.root == "/" && (m.fstype == "proc" || m.fstype == "sysfs") &&
        !IsUnder(m.mount_point, except_under))
      out.push_back(std::move(m.mount_point));
  });
  return out;
}

}  // namespace berth::linux
