#include "cgroup/fs_manager.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/vfs.h>
#include <time.h>

#include <algorithm>
#include <functional>
#include <set>

#include "cgroup/fs.h"
#include "cgroup/oom.h"
#include "cgroup/path.h"
#include "cgroup/resources.h"
#include "cgroup/stats.h"
#include "cgroup/v1.h"
#include "cgroup/v2.h"
#include "linux/files.h"

namespace berth::cgroup {
namespace {

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool HasUnified(const Paths& p) {
  return p.mode != Mode::kLegacy && !p.unified.empty();
}

std::string V1Dir(const Paths& p, const std::string& controller) {
  if (p.mode == Mode::kUnified) return "";
  auto it = p.v1.find(controller);
  return it == p.v1.end() ? "" : it->second;
}

// The directory whose cgroup.procs lists the container's processes: the unified one
// where there is one (it tracks every process in hybrid mode too), else the v1
// hierarchy most likely to hold them all.
Result<std::string> ProcsDir(const Paths& p) {
  if (HasUnified(p)) return p.unified;
  for (const char* c : {"pids", "freezer", "memory", "cpu", "devices"})
    if (auto d = V1Dir(p, c); !d.empty()) return d;
  if (!p.v1.empty()) return p.v1.begin()->second;
  return Fail("the container has no cgroup directory", ENOENT);
}

void RemoveQuietly(const std::vector<std::string>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) (void)fs::RemoveDir(*it, 200);
}

}  // namespace

std::vector<std::string> ContainerDirs(const Paths& paths) {
  std::vector<std::string> out;
  if (paths.mode != Mode::kUnified)
    for (const auto& [controller, dir] : paths.v1)
      if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  if (HasUnified(paths) && std::find(out.begin(), out.end(), paths.unified) == out.end())
    out.push_back(paths.unified);
  return out;
}

void FillPaths(const Layout& layout, const std::function<std::string(const Hierarchy&)>& dir_of,
               Paths& paths) {
  paths.mode = layout.mode;
  if (layout.mode != Mode::kUnified) {
    for (const auto& h : layout.v1) {
      std::string dir = dir_of(h);
      for (const auto& c : h.controllers) paths.v1[c] = dir;
    }
  }
  if (layout.mode != Mode::kLegacy && layout.v2) paths.unified = dir_of(*layout.v2);
}

Result<void> CreateDirs(const Layout& layout, const oci::Resources* resources, bool enable_v2,
                        Paths& paths) {
  std::vector<std::string> created;
  std::vector<std::pair<std::string, std::string>> enabled;
  auto result = [&]() -> Result<void> {
    for (const auto& dir : ContainerDirs(paths)) BERTH_TRY(fs::MakeDirs(dir, created));
    if (auto dir = V1Dir(paths, "cpuset"); !dir.empty()) {
      for (const auto& h : layout.v1)
        if (std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end())
          BERTH_TRY(v1::InitCpuset(h.mountpoint, dir));
    }
    if (enable_v2 && HasUnified(paths) && layout.v2) {
      const std::string& top = layout.v2->mountpoint;
      auto available = BERTH_TRY(v2::Controllers(top));
      // On a v2 host every controller is wanted (stats need them), as far as the tree
      // allows; beside v1 hierarchies only those the resources need, and those must work.
      bool best_effort = paths.mode == Mode::kUnified && !layout.v2_shared;
      std::set<std::string> wanted = V2ControllersFor(paths, resources, available, best_effort);
      // On a v2-only host they stay on for good, as with runc (other cgroups may use
      // them); only beside v1 hierarchies are they recorded, to be switched off again.
      std::vector<std::pair<std::string, std::string>> switched_on;
      BERTH_TRY(v2::EnableControllers(top, paths.unified, wanted, best_effort, switched_on));
      if (!best_effort) enabled = std::move(switched_on);
    }
    if (resources) BERTH_TRY(ApplyResources(paths, *resources));
    return {};
  }();
  if (!result) {
    RemoveQuietly(created);
    v2::DisableControllers(enabled);
    return result;
  }
  paths.created = std::move(created);
  paths.subtree_enabled = std::move(enabled);
  return {};
}

// A process cloned into a frozen cgroup never runs, and create would wait for it for
// good: an existing frozen target is refused before anything is made (runc refuses it
// too: "container's cgroup unexpectedly frozen").
static Result<void> RefuseFrozen(const Paths& paths) {
  std::string dir = V1Dir(paths, "freezer");
  if (!dir.empty() && linux::PathExists(dir) && BERTH_TRY(v1::IsFrozen(dir)))
    return Fail("cgroup " + dir + " is frozen: thaw it or choose another cgroupsPath", EBUSY);
  if (HasUnified(paths) && linux::PathExists(paths.unified) && BERTH_TRY(v2::IsFrozen(paths.unified)))
    return Fail("cgroup " + paths.unified + " is frozen: thaw it or choose another cgroupsPath",
                EBUSY);
  return {};
}

Result<std::unique_ptr<FsManager>> FsManager::Create(const Request& request) {
  CgroupsPath path = BERTH_TRY(ParseCgroupsPath(request.cgroups_path, request.container_id));
  Layout layout = BERTH_TRY(ReadLayout(request.root));
  if (request.resources) BERTH_TRY(ValidateResources(layout.mode, *request.resources));
  auto own = path.absolute ? std::map<std::string, std::string>{} : BERTH_TRY(ReadProcCgroup());
  Paths paths;
  paths.root = request.root;
  FillPaths(
      layout, [&](const Hierarchy& h) { return HierarchyDir(h, path, OwnPath(h, own)); }, paths);
  BERTH_TRY(RefuseFrozen(paths));
  BERTH_TRY(CreateDirs(layout, request.resources, /*enable_v2=*/true, paths));
  return std::make_unique<FsManager>(std::move(paths));
}

Result<void> FsManager::AddProcess(pid_t pid) {
  for (const auto& dir : ContainerDirs(paths_))
    BERTH_TRY(fs::Write(dir, "cgroup.procs", std::to_string(pid)));
  return {};
}

// Only a real cgroupfs moves a process: tests run managers over plain directories.
bool OnCgroupFs(int fd) {
  struct statfs st;
  return ::fstatfs(fd, &st) == 0 &&
         (st.f_type == CGROUP_SUPER_MAGIC || st.f_type == CGROUP2_SUPER_MAGIC);
}

Result<SelfJoin> FsManager::PrepareSelfJoin() {
  SelfJoin join;
  for (const auto& dir : ContainerDirs(paths_)) {
    if (HasUnified(paths_) && dir == paths_.unified) {
      join.unified_dir = BERTH_TRY(linux::Open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!OnCgroupFs(join.unified_dir.get())) return SelfJoin{};
    } else {
      join.v1_tasks.push_back(BERTH_TRY(linux::Open(fs::Join(dir, "tasks"), O_WRONLY | O_CLOEXEC)));
      if (!OnCgroupFs(join.v1_tasks.back().get())) return SelfJoin{};
      join.v1_dirs.push_back(dir);
    }
  }
  return join;
}

Result<void> FsManager::CompleteJoin(pid_t pid, SelfJoined joined) {
  for (const auto& dir : ContainerDirs(paths_)) {
    bool unified = HasUnified(paths_) && dir == paths_.unified;
    if (unified ? joined.unified : joined.v1) continue;
    BERTH_TRY(fs::Write(dir, "cgroup.procs", std::to_string(pid)));
  }
  return {};
}

Result<void> FsManager::Update(const oci::Resources& resources) {
  BERTH_TRY(ValidateResources(paths_.mode, resources));
  if (!resources.cpu) return UpdateResources(paths_, resources);
  oci::Resources r = resources;
  KeepCurrentCpuBandwidth(paths_, *r.cpu);
  return UpdateResources(paths_, r);
}

Result<void> FsManager::Freeze() {
  if (auto d = V1Dir(paths_, "freezer"); !d.empty()) return v1::Freeze(d);
  if (HasUnified(paths_)) return v2::SetFrozen(paths_.unified, true);
  return Fail("freeze: the freezer cgroup controller is not mounted", ENOTSUP);
}

Result<void> FsManager::Thaw() {
  if (auto d = V1Dir(paths_, "freezer"); !d.empty()) return v1::Thaw(d);
  if (HasUnified(paths_)) return v2::SetFrozen(paths_.unified, false);
  return Fail("thaw: the freezer cgroup controller is not mounted", ENOTSUP);
}

Result<bool> FsManager::IsFrozen() {
  if (auto d = V1Dir(paths_, "freezer"); !d.empty()) return v1::IsFrozen(d);
  if (HasUnified(paths_)) return v2::IsFrozen(paths_.unified);
  return false;
}

Result<std::vector<pid_t>> FsManager::Pids() {
  std::string dir = BERTH_TRY(ProcsDir(paths_));
  return fs::ReadProcs(dir, true);
}

Result<std::vector<pid_t>> FsManager::AllPids() {
  std::set<pid_t> all;
  for (const auto& dir : ContainerDirs(paths_)) {
    auto pids = fs::ReadProcs(dir, true);
    if (!pids) {
      if (pids.error().code == ENOENT) continue;
      return std::unexpected(pids.error());
    }
    all.insert(pids->begin(), pids->end());
  }
  return std::vector<pid_t>(all.begin(), all.end());
}

Result<void> FsManager::Kill(int signal) {
  if (signal == SIGKILL && HasUnified(paths_) && fs::Exists(paths_.unified, "cgroup.kill"))
    return fs::Write(paths_.unified, "cgroup.kill", "1");
  auto pids = BERTH_TRY(Pids());
  for (pid_t pid : pids)
    if (::kill(pid, signal) < 0 && errno != ESRCH)
      return ErrnoError("kill " + std::to_string(pid) + " with signal " + std::to_string(signal));
  return {};
}

// The unified hierarchy tracks every process of the container (AddProcess puts
// the init there; children inherit it): "populated 0" answers "empty?" with
// one read instead of a walk of every hierarchy.
bool KnownEmpty(const Paths& p) {
  if (!HasUnified(p)) return false;
  auto events = fs::Read(p.unified, "cgroup.events");
  return events && events->find("populated 0") != std::string::npos;
}

Result<void> FsManager::KillAll(int timeout_ms) {
  if (KnownEmpty(paths_)) return {};
  int64_t deadline = NowMs() + timeout_ms;
  bool can_kill_cgroup = HasUnified(paths_) && fs::Exists(paths_.unified, "cgroup.kill");
  int step = 1;
  for (;;) {
    auto pids = BERTH_TRY(AllPids());
    if (pids.empty()) return {};
    if (NowMs() > deadline) {
      std::string list;
      for (pid_t p : pids) list += " " + std::to_string(p);
      return Fail("processes still in the container's cgroups after " +
                      std::to_string(timeout_ms / 1000) + "s:" + list,
                  EBUSY);
    }
    if (can_kill_cgroup) (void)fs::Write(paths_.unified, "cgroup.kill", "1");
    // Freeze first so that nothing forks between listing and killing.
    bool frozen = !can_kill_cgroup && Freeze().has_value();
    for (pid_t p : pids) ::kill(p, SIGKILL);
    // A task frozen by the v1 freezer (a paused container) only dies once thawed.
    if (frozen || IsFrozen().value_or(false)) (void)Thaw();
    fs::SleepMs(step);
    step = std::min(step * 2, 20);
  }
}

Result<void> FsManager::RemoveDirs() {
  Result<void> result;
  auto keep_first = [&](Result<void> r) {
    if (!r && result) result = std::move(r);
  };
  auto leaves = ContainerDirs(paths_);
  std::set<std::string> created(paths_.created.begin(), paths_.created.end());
  // Cgroups the container made below its own go first, deepest first.
  for (const auto& leaf : leaves) {
    if (!created.contains(leaf)) continue;
    // Usually the leaf has no children and goes at once; only then list them.
    if (fs::RemoveDir(leaf, 0)) continue;
    auto sub = fs::SubDirs(leaf);
    if (!sub) continue;
    for (auto it = sub->rbegin(); it != sub->rend(); ++it) keep_first(fs::RemoveDir(*it, 2000));
  }
  for (auto it = paths_.created.rbegin(); it != paths_.created.rend(); ++it) {
    bool leaf = std::find(leaves.begin(), leaves.end(), *it) != leaves.end();
    auto r = fs::RemoveDir(*it, leaf ? 2000 : 0);
    // A parent we made may have gained another container meanwhile: it stays.
    if (!r && !leaf && (r.error().code == EBUSY || r.error().code == ENOTEMPTY)) continue;
    keep_first(std::move(r));
  }
  v2::DisableControllers(paths_.subtree_enabled);
  return result;
}

Result<void> FsManager::Destroy() {
  auto killed = KillAll(10000);
  auto removed = RemoveDirs();
  if (!killed) return killed;
  return removed;
}

Result<linux::UniqueFd> FsManager::OpenOomNotifier() {
  return cgroup::OpenOomNotifier(paths_);
}

Result<Stats> FsManager::GetStats() {
  return ReadStats(paths_);
}

}  // namespace berth::cgroup
