// config.json mount options -> mount(2) flags, propagation, mount_setattr(2)
// recursive attributes and the filesystem data string, with runc's table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace berth::linux {

struct MountOptions {
  unsigned long flags = 0;        // MS_* to set
  unsigned long clear = 0;        // MS_* named with their negation ("rw", "suid", "dev")
  unsigned long propagation = 0;  // MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE [| MS_REC]
  uint64_t attr_set = 0;          // MOUNT_ATTR_* for "rro", "rnosuid", ... (recursive)
  uint64_t attr_clr = 0;
  std::string data;               // everything else, comma separated ("mode=755,size=65536k")
  bool tmpcopyup = false;         // runc extension: copy the directory's content into a tmpfs
  bool idmap = false;             // id-mapped bind, only the top mount mapped
  bool ridmap = false;            // id-mapped bind, every mount of the tree mapped

  bool IsBind() const;
  bool IsReadonly() const;
};

MountOptions ParseMountOptions(const std::vector<std::string>& options);

// Reads one propagation name ("rslave", "shared", ...); 0 when unknown.
unsigned long ParsePropagation(const std::string& name);

// The mount point of the mount that holds `path` (absolute, resolved) in MOUNTINFO
// (the text of /proc/<pid>/mountinfo): the longest mount point that is `path` or one
// of its parents. "/" when nothing longer matches.
std::string MountPointOf(const std::string& path, std::string_view mountinfo);

// The mount points, in MOUNTINFO's order, of the proc and sysfs mounts that show
// their whole filesystem (root "/"), except those under `except_under`.
std::vector<std::string> FullProcAndSysfsMounts(std::string_view mountinfo,
                                                const std::string& except_under);

}  // namespace berth::linux
