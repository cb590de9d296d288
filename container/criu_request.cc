#include "container/criu_request.h"

#include <sched.h>

#include <cctype>
#include <charconv>
#include <set>

namespace berth::container {
namespace {

// criu logs at "debug" (4): its log is the only account of why a dump failed.
constexpr int kCriuLogLevel = 4;

// The runtime-spec's default devices (created by every container) and the
// config's own: runc names each to criu, which needs them when they are bind
// mounts (in a user namespace) and ignores the names otherwise.
constexpr const char* kDefaultDevices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                           "/dev/random", "/dev/urandom", "/dev/tty"};

const char* CriuNamespaceName(const std::string& oci_type) {
  if (oci_type == "network") return "net";
  if (oci_type == "mount") return "mnt";
  if (oci_type == "pid") return "pid";
  if (oci_type == "ipc") return "ipc";
  if (oci_type == "uts") return "uts";
  if (oci_type == "user") return "user";
  if (oci_type == "cgroup") return "cgroup";
  if (oci_type == "time") return "time";
  return nullptr;
}

bool IsExternalNamespaceType(const std::string& oci_type) {
  // criu can leave these outside the dump (--external) and take them back from
  // an fd at restore; every other joined namespace is re-joined by path.
  return oci_type == "network" || oci_type == "pid";
}

std::string CleanPath(const std::string& path) {
  std::string out = "/";
  size_t i = 0;
  while (i < path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(i, end - i);
    if (!part.empty() && part != ".") {
      if (out.size() > 1) out += '/';
      out += part;
    }
    i = end + 1;
  }
  return out;
}

std::string MountPoint(const CriuContainerFacts& c, const std::string& destination) {
  std::string clean = CleanPath(destination);
  return c.resolve_destination ? c.resolve_destination(clean) : clean;
}

criu::criu_cg_mode ToCriuMode(CriuCgroupMode mode) {
  switch (mode) {
    case CriuCgroupMode::kSoft:
      return criu::SOFT;
    case CriuCgroupMode::kFull:
      return criu::FULL;
    case CriuCgroupMode::kStrict:
      return criu::STRICT;
    case CriuCgroupMode::kIgnore:
      return criu::IGNORE;
    case CriuCgroupMode::kDefault:
      break;
  }
  return criu::DEFAULT;
}

// Adds key -> value once: the first mapping of a mount point wins, as in criu.
class ExternalMounts {
 public:
  explicit ExternalMounts(criu::criu_opts* opts) : opts_(opts) {}
  void Add(const std::string& key, const std::string& value) {
    if (!keys_.insert(key).second) return;
    auto* m = opts_->add_ext_mnt();
    m->set_key(key);
    m->set_val(value);
  }

 private:
  criu::criu_opts* opts_;
  std::set<std::string> keys_;
};

// The mounts criu must treat as external (their source is outside the
// container), as mount point -> what restore binds there. At dump the value is
// only a name, and runc uses the mount point itself.
void AddExternalMounts(const CriuContainerFacts& c, bool restore, ExternalMounts& ext) {
  const oci::Spec& spec = *c.spec;
  bool cgroupns = spec.HasNamespace("cgroup");
  for (const auto& m : spec.mounts) {
    std::string dest = MountPoint(c, m.destination);
    if (m.type == "cgroup") {
      if (c.cgroup_mode == cgroup::Mode::kUnified) {
        // With a cgroup namespace the container mounts cgroup2 itself; without
        // one berth bind-mounts the container's directory of the host's tree.
        if (!cgroupns) ext.Add(dest, restore ? c.cgroup_unified_dir : dest);
        continue;
      }
      // v1 and hybrid: a tmpfs (criu dumps it) with one bind per hierarchy.
      for (const auto& b : c.cgroup_binds) {
        std::string point = MountPoint(c, m.destination + "/" + b.name);
        ext.Add(point, restore ? b.host_dir : point);
      }
      continue;
    }
    if (!IsBindMount(m)) continue;
    std::string source = m.source;
    if (!source.empty() && source[0] != '/') source = c.bundle + "/" + source;
    ext.Add(dest, restore ? source : dest);
  }
}

void AddDevices(const CriuContainerFacts& c, ExternalMounts& ext) {
  for (const char* d : kDefaultDevices) ext.Add(d, d);
  if (!c.spec->linux) return;
  for (const auto& d : c.spec->linux->devices) {
    std::string path = CleanPath(d.path);
    ext.Add(path, path);
  }
}

void SetConfigFile(const oci::Spec& spec, criu::criu_opts* o) {
  // As runc's org.criu.config: a file of criu options that override the RPC's;
  // an empty value means no file at all.
  auto it = spec.annotations.find("org.criu.config");
  if (it == spec.annotations.end())
    o->set_config_file(std::string(kDefaultCriuConfigFile));
  else if (!it->second.empty())
    o->set_config_file(it->second);
}

void SetCommonOptions(const CriuOptions& c, uint32_t empty_ns, criu::criu_opts* o) {
  o->set_log_level(kCriuLogLevel);
  o->set_manage_cgroups(true);  // what criu before manage_cgroups_mode reads
  o->set_manage_cgroups_mode(ToCriuMode(c.manage_cgroups_mode));
  o->set_notify_scripts(true);  // post-dump, setup-namespaces, post-restore, ...
  o->set_shell_job(c.shell_job);
  o->set_ext_unix_sk(c.ext_unix_sk);
  o->set_tcp_established(c.tcp_established);
  o->set_file_locks(c.file_locks);
  o->set_empty_ns(empty_ns);
  // A container's terminal is a pty whose master is not in the container: criu
  // makes a new one at restore and hands us its master (orphan-pts-master).
  o->set_orphan_pts_master(true);
  o->set_auto_dedup(c.auto_dedup);
  o->set_lazy_pages(c.lazy_pages);
}

Result<void> SetPageServer(const std::string& spec, criu::criu_opts* o) {
  size_t colon = spec.rfind(':');
  std::string address = colon == std::string::npos ? "" : spec.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  int port = 0;
  const char* p = colon == std::string::npos ? nullptr : spec.data() + colon + 1;
  const char* end = spec.data() + spec.size();
  if (address.empty() || !p || p == end || std::from_chars(p, end, port).ptr != end || port <= 0 ||
      port > 65535)
    return Fail("--page-server \"" + spec + "\": expected ADDRESS:PORT");
  auto* ps = o->mutable_ps();
  ps->set_address(address);
  ps->set_port(port);
  return {};
}

}  // namespace

bool IsBindMount(const oci::Mount& m) {
  if (m.type == "bind") return true;
  for (const auto& o : m.options)
    if (o == "bind" || o == "rbind") return true;
  return false;
}

Result<CriuCgroupMode> ParseCriuCgroupMode(const std::string& name) {
  if (name.empty()) return CriuCgroupMode::kDefault;
  if (name == "soft") return CriuCgroupMode::kSoft;
  if (name == "full") return CriuCgroupMode::kFull;
  if (name == "strict") return CriuCgroupMode::kStrict;
  if (name == "ignore") return CriuCgroupMode::kIgnore;
  return Fail("invalid --manage-cgroups-mode \"" + name +
              "\": expected soft, full, strict or ignore");
}

Result<uint32_t> EmptyNamespaceMask(const std::vector<std::string>& names) {
  uint32_t mask = CLONE_NEWNET;
  for (const auto& n : names) {
    if (n != "network") return Fail("--empty-ns: namespace \"" + n + "\" is not supported");
    mask |= CLONE_NEWNET;
  }
  return mask;
}

std::string CriuExternalNamespaceKey(const std::string& oci_type) {
  std::string name = CriuNamespaceName(oci_type) ? CriuNamespaceName(oci_type) : oci_type;
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return "extRoot" + name + "NS";
}

std::vector<std::pair<std::string, std::string>> ParseCgroupRoots(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t eol = text.find('\n', i);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(i, eol - i);
    i = eol + 1;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (controllers.empty()) {  // the v2 hierarchy
      out.emplace_back("", path);
      continue;
    }
    size_t s = 0;
    while (s <= controllers.size()) {
      size_t comma = controllers.find(',', s);
      if (comma == std::string_view::npos) comma = controllers.size();
      if (comma > s) out.emplace_back(std::string(controllers.substr(s, comma - s)), path);
      s = comma + 1;
    }
  }
  return out;
}

criu::criu_req BuildCheckRequest(int log_dir_fd) {
  criu::criu_req req;
  req.set_type(criu::CHECK);
  auto* o = req.mutable_opts();
  o->set_images_dir_fd(log_dir_fd);
  o->set_log_level(kCriuLogLevel);
  o->set_log_file(std::string(kCriuCheckLog));
  return req;
}

criu::criu_req BuildFeatureCheckRequest(bool lazy_pages, bool mem_track) {
  criu::criu_req req;
  req.set_type(criu::FEATURE_CHECK);
  auto* f = req.mutable_features();
  if (lazy_pages) f->set_lazy_pages(true);
  if (mem_track) f->set_mem_track(true);
  return req;
}

Result<criu::criu_req> BuildDumpRequest(const DumpInputs& in, const CheckpointOptions& options) {
  if (!in.container.spec) return Fail("BuildDumpRequest: no config");
  const oci::Spec& spec = *in.container.spec;
  criu::criu_req req;
  req.set_type(options.pre_dump ? criu::PRE_DUMP : criu::DUMP);
  auto* o = req.mutable_opts();
  o->set_images_dir_fd(in.images_dir_fd);
  if (in.work_dir_fd >= 0) o->set_work_dir_fd(in.work_dir_fd);
  o->set_log_file(std::string(kCriuDumpLog));
  o->set_root(in.rootfs);
  o->set_pid(in.pid);
  o->set_leave_running(options.leave_running);
  SetCommonOptions(options.criu, BERTH_TRY(EmptyNamespaceMask(options.criu.empty_ns)), o);
  SetConfigFile(spec, o);

  // A joined network or pid namespace is not the container's to dump: criu
  // records it by inode under a key, and restore hands it back by that key.
  for (const char* type : {"network", "pid"}) {
    const oci::Namespace* ns = spec.FindNamespace(type);
    if (!ns || ns->path.empty()) continue;
    auto it = in.external_ns_inodes.find(type);
    if (it == in.external_ns_inodes.end())
      return Fail(std::string("no inode for the joined ") + type + " namespace " + ns->path);
    o->add_external(std::string(CriuNamespaceName(type)) + "[" + std::to_string(it->second) +
                    "]:" + CriuExternalNamespaceKey(type));
  }
  // criu freezes through the cgroup (not ptrace alone), so a concurrent fork
  // cannot escape the dump.
  if (!in.freezer_dir.empty()) o->set_freeze_cgroup(in.freezer_dir);
  if (!options.page_server.empty()) BERTH_TRY(SetPageServer(options.page_server, o));
  if (!options.parent_path.empty()) {
    o->set_parent_img(options.parent_path);
    o->set_track_mem(true);
  }
  // A pre-dump saves memory only: no mounts or files to describe.
  if (options.pre_dump) return req;
  ExternalMounts ext(o);
  AddExternalMounts(in.container, /*restore=*/false, ext);
  // Masked files are binds of the container's /dev/null: named "/dev/null" so
  // that restore binds the host's there.
  for (const auto& path : in.masked_files) ext.Add(CleanPath(path), "/dev/null");
  AddDevices(in.container, ext);
  return req;
}

Result<criu::criu_req> BuildRestoreRequest(const RestoreInputs& in, const RestoreOptions& options) {
  if (!in.container.spec) return Fail("BuildRestoreRequest: no config");
  const oci::Spec& spec = *in.container.spec;
  criu::criu_req req;
  req.set_type(criu::RESTORE);
  auto* o = req.mutable_opts();
  o->set_images_dir_fd(in.images_dir_fd);
  if (in.work_dir_fd >= 0) o->set_work_dir_fd(in.work_dir_fd);
  o->set_log_file(std::string(kCriuRestoreLog));
  o->set_root(in.root);
  // The restored init becomes our child (criu forks it with CLONE_PARENT), as a
  // created init is: we can wait for it, and the shim reaps it.
  o->set_rst_sibling(true);
  // Device files are reopened by device number, not by path.
  o->set_evasive_devices(true);
  SetCommonOptions(options.criu, BERTH_TRY(EmptyNamespaceMask(options.criu.empty_ns)), o);
  SetConfigFile(spec, o);
  if (!options.lsm_profile.empty()) o->set_lsm_profile(options.lsm_profile);
  if (!options.lsm_mount_context.empty()) o->set_lsm_mount_context(options.lsm_mount_context);

  if (spec.linux) {
    for (const auto& ns : spec.linux->namespaces) {
      if (ns.path.empty()) continue;
      if (IsExternalNamespaceType(ns.type)) {
        auto it = in.external_ns_fds.find(ns.type);
        if (it == in.external_ns_fds.end())
          return Fail("no fd for the joined " + ns.type + " namespace " + ns.path);
        auto* fd = o->add_inherit_fd();
        fd->set_key(CriuExternalNamespaceKey(ns.type));
        fd->set_fd(it->second);
        continue;
      }
      if (ns.type == "cgroup")
        return Fail("criu cannot restore into a cgroup namespace given by path (" + ns.path + ")");
      const char* name = CriuNamespaceName(ns.type);
      if (!name) return Fail("unknown namespace type \"" + ns.type + "\"");
      auto* join = o->add_join_ns();
      join->set_ns(name);
      join->set_ns_file(ns.path);
    }
  }

  ExternalMounts ext(o);
  AddExternalMounts(in.container, /*restore=*/true, ext);
  if (spec.linux && !spec.linux->masked_paths.empty()) ext.Add("/dev/null", "/dev/null");
  AddDevices(in.container, ext);

  // The init's pipes at checkpoint are gone; criu connects whatever its own fd
  // of the same number is (the restored process's stdio) in their place.
  for (size_t i = 0; i < in.descriptors.size(); ++i) {
    if (in.descriptors[i].find("pipe:") == std::string::npos) continue;
    auto* fd = o->add_inherit_fd();
    fd->set_key(in.descriptors[i]);
    fd->set_fd(static_cast<int>(i));
  }
  // As runc, the v2 hierarchy too, with an empty controller name.
  for (const auto& [controller, path] : in.cgroup_roots) {
    auto* root = o->add_cg_root();
    root->set_ctrl(controller);
    root->set_path(path);
  }
  return req;
}

}  // namespace berth::container
