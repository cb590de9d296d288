// The requests berth sends criu, built from configs without criu: mounts become
// external mounts, joined namespaces external ones, cgroups criu's roots, the
// options criu's fields (container/criu_request.h).
#include <gtest/gtest.h>
#include <sched.h>

#include <map>

#include "container/criu_request.h"
#include "container/criu_swrk.h"

namespace berth::container {
namespace {

oci::Spec DefaultSpec(bool rootless = false) {
  auto spec = oci::ParseSpec(oci::DefaultSpecJson(rootless));
  EXPECT_TRUE(spec) << spec.error().message;
  return *spec;
}

void AddBind(oci::Spec& spec, const std::string& source, const std::string& dest) {
  spec.mounts.push_back(
      {.destination = dest, .type = "bind", .source = source, .options = {"rbind", "rw"}});
}

std::map<std::string, std::string> ExtMounts(const criu::criu_req& req) {
  std::map<std::string, std::string> out;
  for (const auto& m : req.opts().ext_mnt()) {
    EXPECT_FALSE(out.count(m.key())) << "external mount named twice: " << m.key();
    out[m.key()] = m.val();
  }
  return out;
}

// A hybrid host: the container's cgroups are bind-mounted under /sys/fs/cgroup.
CriuContainerFacts HybridFacts(const oci::Spec& spec) {
  CriuContainerFacts c;
  c.spec = &spec;
  c.bundle = "/bundles/b1";
  c.cgroup_mode = cgroup::Mode::kHybrid;
  c.cgroup_unified_dir = "/sys/fs/cgroup/unified/c1";
  c.cgroup_binds = {{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/c1"},
                    {"freezer", "/sys/fs/cgroup/freezer/c1"},
                    {"unified", "/sys/fs/cgroup/unified/c1"}};
  return c;
}

DumpInputs Dump(const oci::Spec& spec) {
  DumpInputs in;
  in.container = HybridFacts(spec);
  in.rootfs = "/bundles/b1/rootfs";
  in.pid = 4242;
  in.images_dir_fd = 7;
  in.work_dir_fd = 8;
  in.freezer_dir = "/sys/fs/cgroup/freezer/c1";
  return in;
}

RestoreInputs Restore(const oci::Spec& spec) {
  RestoreInputs in;
  in.container = HybridFacts(spec);
  in.root = "/run/berth/c1/criu-root";
  in.images_dir_fd = 9;
  return in;
}

TEST(CriuDumpRequest, CarriesTheContainerAndTheOptions) {
  oci::Spec spec = DefaultSpec();
  CheckpointOptions o;
  o.criu.tcp_established = true;
  o.criu.ext_unix_sk = true;
  o.criu.shell_job = true;
  o.criu.file_locks = true;
  o.criu.auto_dedup = true;
  o.criu.manage_cgroups_mode = CriuCgroupMode::kStrict;
  o.leave_running = true;
  auto req = BuildDumpRequest(Dump(spec), o);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->type(), criu::DUMP);
  const auto& opts = req->opts();
  EXPECT_EQ(opts.pid(), 4242);
  EXPECT_EQ(opts.root(), "/bundles/b1/rootfs");
  EXPECT_EQ(opts.images_dir_fd(), 7);
  EXPECT_EQ(opts.work_dir_fd(), 8);
  EXPECT_EQ(opts.log_file(), "dump.log");
  EXPECT_EQ(opts.log_level(), 4);
  EXPECT_EQ(opts.freeze_cgroup(), "/sys/fs/cgroup/freezer/c1");
  EXPECT_TRUE(opts.manage_cgroups());
  EXPECT_EQ(opts.manage_cgroups_mode(), criu::STRICT);
  EXPECT_TRUE(opts.notify_scripts());
  EXPECT_TRUE(opts.leave_running());
  EXPECT_TRUE(opts.tcp_established());
  EXPECT_TRUE(opts.ext_unix_sk());
  EXPECT_TRUE(opts.shell_job());
  EXPECT_TRUE(opts.file_locks());
  EXPECT_TRUE(opts.auto_dedup());
  EXPECT_FALSE(opts.lazy_pages());
  EXPECT_TRUE(opts.orphan_pts_master());
  EXPECT_EQ(opts.empty_ns(), static_cast<uint32_t>(CLONE_NEWNET));
  EXPECT_EQ(opts.config_file(), "/etc/criu/berth.conf");
  EXPECT_FALSE(opts.has_parent_img());
  EXPECT_FALSE(opts.has_ps());
  EXPECT_FALSE(opts.rst_sibling());
  EXPECT_EQ(opts.external_size(), 0);  // no joined namespaces
}

TEST(CriuDumpRequest, DefaultsLeaveCriuItsOwnChoices) {
  oci::Spec spec = DefaultSpec();
  auto req = BuildDumpRequest(Dump(spec), CheckpointOptions{});
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->opts().manage_cgroups_mode(), criu::DEFAULT);
  EXPECT_FALSE(req->opts().leave_running());
  EXPECT_FALSE(req->opts().tcp_established());
  EXPECT_FALSE(req->opts().shell_job());
}

TEST(CriuDumpRequest, MountsFromOutsideAreExternal) {
  oci::Spec spec = DefaultSpec();
  AddBind(spec, "/srv/data", "/data");
  AddBind(spec, "relative", "/rel/");  // trailing slash: the same mount point
  spec.mounts.push_back({.destination = "/tmp", .type = "tmpfs", .source = "tmpfs"});
  DumpInputs in = Dump(spec);
  in.masked_files = {"/proc/kcore", "/proc/keys"};
  auto req = BuildDumpRequest(in, CheckpointOptions{});
  ASSERT_TRUE(req) << req.error().message;
  auto ext = ExtMounts(*req);
  // At dump criu only needs a name for each: runc uses the mount point itself.
  EXPECT_EQ(ext["/data"], "/data");
  EXPECT_EQ(ext["/rel"], "/rel");
  EXPECT_FALSE(ext.count("/tmp"));   // criu dumps a tmpfs itself
  EXPECT_FALSE(ext.count("/proc"));  // and procfs, sysfs, devpts, mqueue
  EXPECT_FALSE(ext.count("/sys"));
  // Each cgroup hierarchy bound below /sys/fs/cgroup (a tmpfs criu dumps).
  EXPECT_EQ(ext["/sys/fs/cgroup/cpu,cpuacct"], "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(ext["/sys/fs/cgroup/freezer"], "/sys/fs/cgroup/freezer");
  EXPECT_EQ(ext["/sys/fs/cgroup/unified"], "/sys/fs/cgroup/unified");
  EXPECT_FALSE(ext.count("/sys/fs/cgroup"));
  // Masked files are binds of /dev/null: named so, restore binds the host's.
  EXPECT_EQ(ext["/proc/kcore"], "/dev/null");
  EXPECT_EQ(ext["/proc/keys"], "/dev/null");
  EXPECT_FALSE(ext.count("/proc/acpi"));  // a masked directory is a tmpfs
  // Devices, by their own path (binds in a user namespace).
  EXPECT_EQ(ext["/dev/null"], "/dev/null");
  EXPECT_EQ(ext["/dev/tty"], "/dev/tty");
}

TEST(CriuDumpRequest, MountPointsAreWhereCreateResolvedThem) {
  oci::Spec spec = DefaultSpec();
  AddBind(spec, "/srv/data", "/var/link/data");
  DumpInputs in = Dump(spec);
  in.container.resolve_destination = [](const std::string& d) {
    return d.rfind("/var/link/", 0) == 0 ? "/var/real/" + d.substr(10) : d;
  };
  auto req = BuildDumpRequest(in, CheckpointOptions{});
  ASSERT_TRUE(req) << req.error().message;
  auto ext = ExtMounts(*req);
  EXPECT_EQ(ext["/var/real/data"], "/var/real/data");
  EXPECT_FALSE(ext.count("/var/link/data"));
}

TEST(CriuDumpRequest, UnifiedHostBindsTheCgroupDirectoryWithoutACgroupNamespace) {
  oci::Spec spec = DefaultSpec();
  DumpInputs in = Dump(spec);
  in.container.cgroup_mode = cgroup::Mode::kUnified;
  in.container.cgroup_binds.clear();
  in.container.cgroup_unified_dir = "/sys/fs/cgroup/c1";
  auto req = BuildDumpRequest(in, CheckpointOptions{});
  ASSERT_TRUE(req);
  EXPECT_EQ(ExtMounts(*req)["/sys/fs/cgroup"], "/sys/fs/cgroup");

  // With a cgroup namespace the container mounts cgroup2 itself: nothing external.
  spec.linux->namespaces.push_back({"cgroup", ""});
  req = BuildDumpRequest(in, CheckpointOptions{});
  ASSERT_TRUE(req);
  EXPECT_FALSE(ExtMounts(*req).count("/sys/fs/cgroup"));
}

TEST(CriuDumpRequest, JoinedNetworkAndPidNamespacesAreExternal) {
  oci::Spec spec = DefaultSpec();
  for (auto& ns : spec.linux->namespaces) {
    if (ns.type == "network") ns.path = "/run/netns/n1";
    if (ns.type == "pid") ns.path = "/proc/77/ns/pid";
    if (ns.type == "ipc") ns.path = "/proc/77/ns/ipc";  // re-joined by path at restore
  }
  DumpInputs in = Dump(spec);
  in.external_ns_inodes = {{"network", 4026532001}, {"pid", 4026532002}};
  auto req = BuildDumpRequest(in, CheckpointOptions{});
  ASSERT_TRUE(req) << req.error().message;
  ASSERT_EQ(req->opts().external_size(), 2);
  EXPECT_EQ(req->opts().external(0), "net[4026532001]:extRootNetNS");
  EXPECT_EQ(req->opts().external(1), "pid[4026532002]:extRootPidNS");

  in.external_ns_inodes.erase("pid");
  auto missing = BuildDumpRequest(in, CheckpointOptions{});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/proc/77/ns/pid"), std::string::npos);
}

TEST(CriuDumpRequest, PreDumpSavesMemoryOnly) {
  oci::Spec spec = DefaultSpec();
  AddBind(spec, "/srv/data", "/data");
  CheckpointOptions o;
  o.pre_dump = true;
  o.parent_path = "../pre1";
  auto req = BuildDumpRequest(Dump(spec), o);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->type(), criu::PRE_DUMP);
  EXPECT_EQ(req->opts().parent_img(), "../pre1");
  EXPECT_TRUE(req->opts().track_mem());
  EXPECT_EQ(req->opts().ext_mnt_size(), 0);
}

TEST(CriuDumpRequest, LazyPagesAndPageServer) {
  oci::Spec spec = DefaultSpec();
  CheckpointOptions o;
  o.criu.lazy_pages = true;
  o.page_server = "192.168.1.2:27";
  auto req = BuildDumpRequest(Dump(spec), o);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_TRUE(req->opts().lazy_pages());
  EXPECT_EQ(req->opts().ps().address(), "192.168.1.2");
  EXPECT_EQ(req->opts().ps().port(), 27);

  o.page_server = "[::1]:9000";
  req = BuildDumpRequest(Dump(spec), o);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->opts().ps().address(), "::1");
  for (const char* bad : {"host", "host:", ":80", "host:0", "host:70000", "host:8x"}) {
    o.page_server = bad;
    EXPECT_FALSE(BuildDumpRequest(Dump(spec), o)) << bad;
  }
}

TEST(CriuDumpRequest, ConfigFileFromTheAnnotation) {
  oci::Spec spec = DefaultSpec();
  spec.annotations["org.criu.config"] = "/etc/criu/special.conf";
  auto req = BuildDumpRequest(Dump(spec), CheckpointOptions{});
  ASSERT_TRUE(req);
  EXPECT_EQ(req->opts().config_file(), "/etc/criu/special.conf");
  spec.annotations["org.criu.config"] = "";  // none at all
  req = BuildDumpRequest(Dump(spec), CheckpointOptions{});
  ASSERT_TRUE(req);
  EXPECT_FALSE(req->opts().has_config_file());
}

TEST(CriuDumpRequest, EmptyNamespaces) {
  oci::Spec spec = DefaultSpec();
  CheckpointOptions o;
  o.criu.empty_ns = {"network"};
  auto req = BuildDumpRequest(Dump(spec), o);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->opts().empty_ns(), static_cast<uint32_t>(CLONE_NEWNET));
  o.criu.empty_ns = {"pid"};
  auto bad = BuildDumpRequest(Dump(spec), o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--empty-ns: namespace \"pid\" is not supported");
}

TEST(CriuRestoreRequest, BindsSourcesBackAndBecomesOurChild) {
  oci::Spec spec = DefaultSpec();
  AddBind(spec, "/srv/data", "/data");
  AddBind(spec, "relative/dir", "/rel");
  RestoreOptions o;
  o.criu.shell_job = true;
  o.criu.manage_cgroups_mode = CriuCgroupMode::kIgnore;
  o.lsm_profile = "apparmor:berth-default";
  RestoreInputs in = Restore(spec);
  in.work_dir_fd = 10;
  auto req = BuildRestoreRequest(in, o);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->type(), criu::RESTORE);
  const auto& opts = req->opts();
  EXPECT_EQ(opts.root(), "/run/berth/c1/criu-root");
  EXPECT_EQ(opts.images_dir_fd(), 9);
  EXPECT_EQ(opts.work_dir_fd(), 10);
  EXPECT_EQ(opts.log_file(), "restore.log");
  EXPECT_TRUE(opts.rst_sibling());
  EXPECT_TRUE(opts.evasive_devices());
  EXPECT_TRUE(opts.shell_job());
  EXPECT_TRUE(opts.orphan_pts_master());
  EXPECT_TRUE(opts.notify_scripts());
  EXPECT_EQ(opts.manage_cgroups_mode(), criu::IGNORE);
  EXPECT_EQ(opts.lsm_profile(), "apparmor:berth-default");
  EXPECT_FALSE(opts.has_lsm_mount_context());
  EXPECT_FALSE(opts.has_pid());
  auto ext = ExtMounts(*req);
  EXPECT_EQ(ext["/data"], "/srv/data");
  EXPECT_EQ(ext["/rel"], "/bundles/b1/relative/dir");
  // The new container's cgroup directories, where the dump had its own.
  EXPECT_EQ(ext["/sys/fs/cgroup/cpu,cpuacct"], "/sys/fs/cgroup/cpu,cpuacct/c1");
  EXPECT_EQ(ext["/sys/fs/cgroup/unified"], "/sys/fs/cgroup/unified/c1");
  // Masked files were named "/dev/null" at dump.
  EXPECT_EQ(ext["/dev/null"], "/dev/null");
  EXPECT_EQ(ext["/dev/urandom"], "/dev/urandom");
}

TEST(CriuRestoreRequest, UnifiedHostRebindsTheNewCgroupDirectory) {
  oci::Spec spec = DefaultSpec();
  RestoreInputs in = Restore(spec);
  in.container.cgroup_mode = cgroup::Mode::kUnified;
  in.container.cgroup_binds.clear();
  in.container.cgroup_unified_dir = "/sys/fs/cgroup/c2";
  auto req = BuildRestoreRequest(in, RestoreOptions{});
  ASSERT_TRUE(req);
  EXPECT_EQ(ExtMounts(*req)["/sys/fs/cgroup"], "/sys/fs/cgroup/c2");
}

TEST(CriuRestoreRequest, PipesOfTheOldInitAreReplacedByCriusStdio) {
  oci::Spec spec = DefaultSpec();
  RestoreInputs in = Restore(spec);
  in.descriptors = {"/dev/null", "pipe:[1001]", "pipe:[1002]"};
  auto req = BuildRestoreRequest(in, RestoreOptions{});
  ASSERT_TRUE(req);
  ASSERT_EQ(req->opts().inherit_fd_size(), 2);
  EXPECT_EQ(req->opts().inherit_fd(0).key(), "pipe:[1001]");
  EXPECT_EQ(req->opts().inherit_fd(0).fd(), 1);
  EXPECT_EQ(req->opts().inherit_fd(1).key(), "pipe:[1002]");
  EXPECT_EQ(req->opts().inherit_fd(1).fd(), 2);
}

TEST(CriuRestoreRequest, JoinedNamespaces) {
  oci::Spec spec = DefaultSpec();
  for (auto& ns : spec.linux->namespaces) {
    if (ns.type == "network") ns.path = "/run/netns/n1";
    if (ns.type == "ipc") ns.path = "/proc/77/ns/ipc";
    if (ns.type == "uts") ns.path = "/proc/77/ns/uts";
  }
  RestoreInputs in = Restore(spec);
  in.external_ns_fds = {{"network", 4}};
  auto req = BuildRestoreRequest(in, RestoreOptions{});
  ASSERT_TRUE(req) << req.error().message;
  // network: criu takes the namespace from its fd 4, by the key of the dump.
  ASSERT_EQ(req->opts().inherit_fd_size(), 1);
  EXPECT_EQ(req->opts().inherit_fd(0).key(), "extRootNetNS");
  EXPECT_EQ(req->opts().inherit_fd(0).fd(), 4);
  // others: joined by path.
  ASSERT_EQ(req->opts().join_ns_size(), 2);
  EXPECT_EQ(req->opts().join_ns(0).ns(), "ipc");
  EXPECT_EQ(req->opts().join_ns(0).ns_file(), "/proc/77/ns/ipc");
  EXPECT_EQ(req->opts().join_ns(1).ns(), "uts");

  spec.linux->namespaces.push_back({"cgroup", "/proc/77/ns/cgroup"});
  auto cgroupns = BuildRestoreRequest(in, RestoreOptions{});
  ASSERT_FALSE(cgroupns);
  EXPECT_NE(cgroupns.error().message.find("cgroup namespace"), std::string::npos);
}

TEST(CriuRestoreRequest, CgroupRootsOfTheCriuProcess) {
  oci::Spec spec = DefaultSpec();
  RestoreInputs in = Restore(spec);
  in.cgroup_roots =
      ParseCgroupRoots("12:freezer:/c1\n4:cpu,cpuacct:/c1\n1:name=systemd:/c1\n0::/c1\n");
  auto req = BuildRestoreRequest(in, RestoreOptions{});
  ASSERT_TRUE(req);
  std::vector<std::pair<std::string, std::string>> roots;
  for (const auto& r : req->opts().cg_root()) roots.emplace_back(r.ctrl(), r.path());
  std::vector<std::pair<std::string, std::string>> want = {
      {"freezer", "/c1"}, {"cpu", "/c1"}, {"cpuacct", "/c1"}, {"name=systemd", "/c1"}, {"", "/c1"}};
  EXPECT_EQ(roots, want);
  EXPECT_TRUE(req->opts().cg_root(4).has_ctrl());  // v2: an empty controller, as runc
}

TEST(CriuRequest, ParseCgroupRootsSkipsJunk) {
  auto roots = ParseCgroupRoots("garbage\n3:pids:/a/b\n\n");
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0], (std::pair<std::string, std::string>{"pids", "/a/b"}));
}

TEST(CriuRequest, CgroupModeNames) {
  EXPECT_EQ(*ParseCriuCgroupMode(""), CriuCgroupMode::kDefault);
  EXPECT_EQ(*ParseCriuCgroupMode("soft"), CriuCgroupMode::kSoft);
  EXPECT_EQ(*ParseCriuCgroupMode("full"), CriuCgroupMode::kFull);
  EXPECT_EQ(*ParseCriuCgroupMode("strict"), CriuCgroupMode::kStrict);
  EXPECT_EQ(*ParseCriuCgroupMode("ignore"), CriuCgroupMode::kIgnore);
  EXPECT_FALSE(ParseCriuCgroupMode("props"));
}

TEST(CriuRequest, ExternalNamespaceKeys) {
  EXPECT_EQ(CriuExternalNamespaceKey("network"), "extRootNetNS");
  EXPECT_EQ(CriuExternalNamespaceKey("pid"), "extRootPidNS");
}

// The package berth gives rpc.proto at build time is not on the wire: the bytes
// are those criu's own clients send (checked against criu 3.17 by hand).
TEST(CriuRequest, CheckRequestOnTheWire) {
  std::string bytes = BuildCheckRequest(5).SerializeAsString();
  std::string want = std::string("\x08\x03\x12\x0f\x08\x05\x48\x04\x52\x09", 10) + "check.log";
  EXPECT_EQ(bytes, want);
  criu::criu_resp resp;
  ASSERT_TRUE(resp.ParseFromString(std::string("\x08\x03\x10\x00", 4)));  // criu 3.17's "no"
  EXPECT_EQ(resp.type(), criu::CHECK);
  EXPECT_FALSE(resp.success());
}

TEST(CriuLog, QuotesTheLastErrors) {
  const char* log =
      "(00.000090) Version: 3.17.1 (gitid 0)\n"
      "(00.001041) Error (criu/util.c:642): exited, status=1\n"
      "(00.003747) Pagemap is fully functional\n"
      "(00.050956) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n"
      "(00.050959) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n"
      "(00.050961) Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when "
      "initializing kerndat.\n"
      "(00.050996) Adjust mmap_min_addr 0x1000 -> 0x10000\n";
  EXPECT_EQ(CriuLogErrors(log),
            "vdso: Unexpected rt vDSO area bounds; vdso: Failed to fill self vdso symtable; "
            "kerndat_vdso_fill_symtable failed when initializing kerndat.");
  EXPECT_EQ(CriuLogErrors("(0.1) all good\n"), "");
  EXPECT_EQ(CriuLogErrors("(0.1) Error (a.c:1): one\n(0.2) Error (a.c:2): two\n(0.3) Error "
                          "(a.c:3): three\n(0.4) Error (a.c:4): four"),
            "two; three; four");
}

}  // namespace
}  // namespace berth::container
