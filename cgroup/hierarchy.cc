#include "cgroup/hierarchy.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <set>

#include "cgroup/fs.h"
#include "linux/files.h"

namespace berth::cgroup {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

std::string Parent(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Normalize(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool IsFsType(const std::string& path, int64_t magic) {
  struct statfs st;
  return ::statfs(path.c_str(), &st) == 0 && static_cast<int64_t>(st.f_type) == magic;
}

}  // namespace

std::vector<std::string> ControllersFromOptions(std::string_view super_options) {
  static constexpr std::string_view kNotControllers[] = {"rw",           "ro",
                                                         "noprefix",     "clone_children",
                                                         "xattr",        "cpuset_v2_mode",
                                                         "favordynmods", "nofavordynmods",
                                                         "none"};
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= super_options.size()) {
    size_t comma = super_options.find(',', start);
    std::string_view opt = super_options.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? super_options.size() + 1 : comma + 1;
    if (opt.empty()) continue;
    if (std::find(std::begin(kNotControllers), std::end(kNotControllers), opt) !=
        std::end(kNotControllers))
      continue;
    if (opt.find('=') != std::string_view::npos && !opt.starts_with("name=")) continue;
    out.emplace_back(opt);
  }
  return out;
}

std::vector<Hierarchy> ParseMountinfo(std::string_view text) {
  std::vector<Hierarchy> out;
  std::set<std::string> seen;  // a hierarchy bind-mounted twice: keep the first
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto pre = fs::Fields(line.substr(0, sep));
    auto post = fs::Fields(line.substr(sep + 3));
    if (pre.size() < 5 || post.size() < 3) continue;
    Hierarchy h;
    h.root = Unescape(pre[3]);
    h.mountpoint = Unescape(pre[4]);
    std::string key;
    if (post[0] == "cgroup2") {
      h.unified = true;
      key = "cgroup2";
    } else if (post[0] == "cgroup") {
      h.controllers = ControllersFromOptions(post[2]);
      if (h.controllers.empty()) continue;
      std::vector<std::string> sorted = h.controllers;
      std::sort(sorted.begin(), sorted.end());
      for (auto& c : sorted) key += c + ",";
    } else {
      continue;
    }
    // The same hierarchy may be mounted in several places; keep one per mountpoint
    // parent (the host's /sys/fs/cgroup and, say, a container's bind mount differ).
    key += "@" + Parent(h.mountpoint);
    if (!seen.insert(key).second) continue;
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<Hierarchy>> ReadHierarchies() {
  std::string text = BERTH_TRY(linux::ReadFile("/proc/self/mountinfo"));
  return ParseMountinfo(text);
}

std::string HierarchyName(const Hierarchy& h) {
  std::string name;
  for (const auto& c : h.controllers) name += (name.empty() ? "" : ",") + c;
  return name;
}

Result<Mode> DetectMode(const std::string& root_in) {
  std::string root = Normalize(root_in);
  if (IsFsType(root, CGROUP2_SUPER_MAGIC)) return Mode::kUnified;
  if (IsFsType(fs::Join(root, "unified"), CGROUP2_SUPER_MAGIC)) return Mode::kHybrid;
  auto hierarchies = BERTH_TRY(ReadHierarchies());
  for (const auto& h : hierarchies)
    if (!h.unified && Parent(h.mountpoint) == root) return Mode::kLegacy;
  // A plain directory tree shaped like a v2 hierarchy: the tests' fake root.
  if (fs::Exists(root, "cgroup.controllers")) return Mode::kUnified;
  return Fail("no cgroup filesystem mounted at " + root);
}

Result<Layout> ReadLayout(const std::string& root_in) {
  std::string root = Normalize(root_in);
  Layout layout;
  layout.mode = BERTH_TRY(DetectMode(root));
  auto hierarchies = BERTH_TRY(ReadHierarchies());
  std::string v2_mountpoint = layout.mode == Mode::kHybrid ? fs::Join(root, "unified") : root;
  for (auto& h : hierarchies) {
    if (h.unified) {
      if (layout.mode != Mode::kLegacy && h.mountpoint == v2_mountpoint && !layout.v2)
        layout.v2 = h;
    } else if (layout.mode != Mode::kUnified && Parent(h.mountpoint) == root) {
      layout.v1.push_back(h);
    }
  }
  if (layout.mode == Mode::kUnified && !layout.v2) {
    // Not a mount point: a fake tree, or a v2 hierarchy seen through a bind mount.
    layout.v2 = Hierarchy{root, "/", {}, true};
  }
  if (layout.mode == Mode::kHybrid && !layout.v2)
    return Fail("cgroup v2 hierarchy at " + v2_mountpoint + " is not in /proc/self/mountinfo");
  if (layout.v2) {
    std::string v2_parent = Parent(layout.v2->mountpoint);
    for (const auto& h : hierarchies)
      if (!h.unified && Parent(h.mountpoint) == v2_parent) layout.v2_shared = true;
  }
  return layout;
}

std::map<std::string, std::string> ParseProcCgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view ids = line.substr(0, c1);
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (ids == "0" && controllers.empty()) {
      out[""] = path;
      continue;
    }
    size_t start = 0;
    while (start <= controllers.size()) {
      size_t comma = controllers.find(',', start);
      auto c = controllers.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (!c.empty()) out[std::string(c)] = path;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> ReadProcCgroup(pid_t pid) {
  std::string path = pid == 0 ? "/proc/self/cgroup" : "/proc/" + std::to_string(pid) + "/cgroup";
  std::string text = BERTH_TRY(linux::ReadFile(path));
  return ParseProcCgroup(text);
}

}  // namespace berth::cgroup
