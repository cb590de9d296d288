// sd-bus calls of the systemd driver. libsystemd is dlopen'ed on first use, with
// RTLD_NODELETE so that no later dlclose unloads it under another thread: `berth`
// itself starts without it (no DT_NEEDED), and only --systemd-cgroup pays the load.
#include "cgroup/systemd.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include <map>
#include <optional>

#include "cgroup/fs.h"
#include "cgroup/fs_manager.h"
#include "cgroup/path.h"
#include "cgroup/resources.h"
#include "cgroup/systemd_properties.h"
#include "linux/files.h"

namespace berth::cgroup {
namespace {

constexpr const char* kService = "org.freedesktop.systemd1";
constexpr const char* kObject = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr uint64_t kJobTimeoutUsec = 30ULL * 1000 * 1000;

// The few sd-bus entry points used, resolved with dlsym.
struct SdBus {
  int (*open_system)(sd_bus**);
  sd_bus* (*flush_close_unref)(sd_bus*);
  int (*message_new_method_call)(sd_bus*, sd_bus_message**, const char*, const char*, const char*,
                                 const char*);
  int (*message_append)(sd_bus_message*, const char*, ...);
  int (*message_append_array)(sd_bus_message*, char, const void*, size_t);
  int (*message_open_container)(sd_bus_message*, char, const char*);
  int (*message_close_container)(sd_bus_message*);
  int (*message_read)(sd_bus_message*, const char*, ...);
  sd_bus_message* (*message_unref)(sd_bus_message*);
  int (*call)(sd_bus*, sd_bus_message*, uint64_t, sd_bus_error*, sd_bus_message**);
  int (*call_method)(sd_bus*, const char*, const char*, const char*, const char*, sd_bus_error*,
                     sd_bus_message**, const char*, ...);
  void (*free_memory)(void*);
  int (*get_property_string)(sd_bus*, const char*, const char*, const char*, const char*,
                             sd_bus_error*, char**);
  int (*match_signal)(sd_bus*, sd_bus_slot**, const char*, const char*, const char*, const char*,
                      sd_bus_message_handler_t, void*);
  sd_bus_slot* (*slot_unref)(sd_bus_slot*);
  int (*process)(sd_bus*, sd_bus_message**);
  int (*wait)(sd_bus*, uint64_t);
  void (*error_free)(sd_bus_error*);
  int (*error_has_name)(const sd_bus_error*, const char*);
};

template <class F>
bool Resolve(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(::dlsym(lib, name));
  return fn != nullptr;
}

Result<SdBus> LoadSdBus() {
  void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!lib) {
    const char* why = ::dlerror();
    return Fail(std::string("--systemd-cgroup: load libsystemd.so.0: ") + (why ? why : "failed"),
                ENOENT);
  }
  SdBus a;
  bool ok = Resolve(lib, "sd_bus_open_system", a.open_system) &&
            Resolve(lib, "sd_bus_flush_close_unref", a.flush_close_unref) &&
            Resolve(lib, "sd_bus_message_new_method_call", a.message_new_method_call) &&
            Resolve(lib, "sd_bus_message_append", a.message_append) &&
            Resolve(lib, "sd_bus_message_append_array", a.message_append_array) &&
            Resolve(lib, "sd_bus_message_open_container", a.message_open_container) &&
            Resolve(lib, "sd_bus_message_close_container", a.message_close_container) &&
            Resolve(lib, "sd_bus_message_read", a.message_read) &&
            Resolve(lib, "sd_bus_message_unref", a.message_unref) &&
            Resolve(lib, "sd_bus_call", a.call) &&
            Resolve(lib, "sd_bus_call_method", a.call_method) &&
            Resolve(lib, "sd_bus_get_property_string", a.get_property_string) &&
            Resolve(lib, "sd_bus_match_signal", a.match_signal) &&
            Resolve(lib, "sd_bus_slot_unref", a.slot_unref) &&
            Resolve(lib, "sd_bus_process", a.process) && Resolve(lib, "sd_bus_wait", a.wait) &&
            Resolve(lib, "sd_bus_error_free", a.error_free) &&
            Resolve(lib, "sd_bus_error_has_name", a.error_has_name) &&
            // The C library libsystemd allocates with: in a static berth it is a
            // second libc, so what libsystemd mallocs must go back to its free.
            Resolve(lib, "free", a.free_memory);
  if (!ok) return Fail("--systemd-cgroup: libsystemd.so.0 lacks sd-bus (systemd < 237?)", ENOSYS);
  return a;
}

std::unexpected<Error> BusError(std::string_view what, int r, const sd_bus_error* e) {
  std::string msg(what);
  msg += ": ";
  msg += e && e->message ? e->message : std::strerror(-r);
  return std::unexpected(Error{-r, msg});
}

int64_t NowUsec() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

// One connection to systemd's manager; sd-bus objects are not shared between threads,
// so each operation opens its own.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open() {
    auto api = BERTH_TRY(LoadSdBus());
    auto c = std::unique_ptr<Connection>(new Connection(api));
    int r = api.open_system(&c->bus_);
    if (r < 0) return BusError("--systemd-cgroup: connect to the system bus", r, nullptr);
    return c;
  }
  ~Connection() {
    if (bus_) api_.flush_close_unref(bus_);
  }

  Result<int> Version() {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    char* v = nullptr;
    int r = api_.get_property_string(bus_, kService, kObject, kManager, "Version", &err, &v);
    if (r < 0) {
      auto e = BusError("systemd: read Manager.Version", r, &err);
      api_.error_free(&err);
      return e;
    }
    int version = systemd::ParseSystemdVersion(v);
    api_.free_memory(v);
    return version;
  }

  Result<void> StartUnit(const std::string& unit, const std::vector<systemd::UnitProperty>& props) {
    return RunJob(
        "start " + unit,
        [&](sd_bus_message* m) -> int {
          int r = api_.message_append(m, "ss", unit.c_str(), "replace");
          if (r < 0) return r;
          if ((r = AppendProperties(m, props)) < 0) return r;
          // aux: a(sa(sv)), unused
          if ((r = api_.message_open_container(m, 'a', "(sa(sv))")) < 0) return r;
          return api_.message_close_container(m);
        },
        "StartTransientUnit", unit);
  }

  Result<void> StopUnit(const std::string& unit) {
    auto r = RunJob(
        "stop " + unit,
        [&](sd_bus_message* m) { return api_.message_append(m, "ss", unit.c_str(), "replace"); },
        "StopUnit", unit);
    if (!r && r.error().code == -1) return {};  // NoSuchUnit: already gone
    return r;
  }

  Result<void> SetProperties(const std::string& unit,
                             const std::vector<systemd::UnitProperty>& props) {
    sd_bus_message* m = nullptr;
    int r =
        api_.message_new_method_call(bus_, &m, kService, kObject, kManager, "SetUnitProperties");
    if (r >= 0) r = api_.message_append(m, "sb", unit.c_str(), 1);
    if (r >= 0) r = AppendProperties(m, props);
    if (r < 0) {
      if (m) api_.message_unref(m);
      return BusError("systemd: build SetUnitProperties", r, nullptr);
    }
    sd_bus_error err = SD_BUS_ERROR_NULL;
    r = api_.call(bus_, m, 0, &err, nullptr);
    api_.message_unref(m);
    if (r < 0) {
      auto e = BusError("systemd: set properties of " + unit, r, &err);
      api_.error_free(&err);
      return e;
    }
    return {};
  }

  void ResetFailed(const std::string& unit) {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    api_.call_method(bus_, kService, kObject, kManager, "ResetFailedUnit", &err, nullptr, "s",
                     unit.c_str());
    api_.error_free(&err);
  }

 private:
  explicit Connection(SdBus api) : api_(api) {}

  int AppendProperties(sd_bus_message* m, const std::vector<systemd::UnitProperty>& props) {
    int r = api_.message_open_container(m, 'a', "(sv)");
    for (const auto& p : props) {
      if (r < 0) return r;
      if ((r = api_.message_open_container(m, 'r', "sv")) < 0) return r;
      if ((r = api_.message_append(m, "s", p.name.c_str())) < 0) return r;
      if ((r = api_.message_open_container(m, 'v', systemd::Signature(p.value))) < 0) return r;
      r = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) return api_.message_append(m, "b", v ? 1 : 0);
            if constexpr (std::is_same_v<T, std::string>)
              return api_.message_append(m, "s", v.c_str());
            if constexpr (std::is_same_v<T, uint64_t>) return api_.message_append(m, "t", v);
            if constexpr (std::is_same_v<T, std::vector<uint32_t>>)
              return api_.message_append_array(m, 'u', v.data(), v.size() * sizeof(uint32_t));
            if constexpr (std::is_same_v<T, std::vector<uint8_t>>)
              return api_.message_append_array(m, 'y', v.data(), v.size());
            if constexpr (std::is_same_v<T, systemd::DeviceAllowList>) {
              int q = api_.message_open_container(m, 'a', "(ss)");
              for (const auto& [path, perms] : v) {
                if (q < 0) return q;
                q = api_.message_append(m, "(ss)", path.c_str(), perms.c_str());
              }
              return q < 0 ? q : api_.message_close_container(m);
            }
            return -EINVAL;
          },
          p.value);
      if (r < 0) return r;
      if ((r = api_.message_close_container(m)) < 0) return r;  // v
      r = api_.message_close_container(m);                      // r
    }
    if (r < 0) return r;
    return api_.message_close_container(m);  // a
  }

  struct JobWatch {
    const SdBus* api;
    std::map<std::string, std::string> results;  // job object path -> "done", "failed", ...
  };

  static int OnJobRemoved(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* w = static_cast<JobWatch*>(userdata);
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (w->api->message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && job && result)
      w->results[job] = result;
    return 0;
  }

  // Calls Manager.<method>, which queues a job, and waits for that job's JobRemoved
  // signal: a unit that fails to start is an error here, not a leak found later.
  // A NoSuchUnit reply is reported with code -1.
  template <class Fill>
  Result<void> RunJob(const std::string& what, Fill fill, const char* method,
                      const std::string& unit) {
    JobWatch watch{&api_, {}};
    sd_bus_slot* slot = nullptr;
    int r = api_.match_signal(bus_, &slot, kService, kObject, kManager, "JobRemoved",
                              &Connection::OnJobRemoved, &watch);
    if (r < 0) return BusError("systemd: " + what + ": watch JobRemoved", r, nullptr);
    struct SlotGuard {
      const SdBus& api;
      sd_bus_slot* slot;
      ~SlotGuard() { api.slot_unref(slot); }
    } guard{api_, slot};
    sd_bus_message* m = nullptr;
    r = api_.message_new_method_call(bus_, &m, kService, kObject, kManager, method);
    if (r >= 0) r = fill(m);
    if (r < 0) {
      if (m) api_.message_unref(m);
      return BusError("systemd: " + what + ": build the call", r, nullptr);
    }
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    r = api_.call(bus_, m, 0, &err, &reply);
    api_.message_unref(m);
    if (r < 0) {
      bool no_unit = api_.error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit");
      auto e = BusError("systemd: " + what, r, &err);
      api_.error_free(&err);
      if (no_unit) e.error().code = -1;
      return e;
    }
    const char* job_path = nullptr;
    r = api_.message_read(reply, "o", &job_path);
    std::string job = job_path ? job_path : "";
    api_.message_unref(reply);
    if (r < 0) return BusError("systemd: " + what + ": read the job", r, nullptr);
    int64_t deadline = NowUsec() + static_cast<int64_t>(kJobTimeoutUsec);
    while (!watch.results.contains(job)) {
      r = api_.process(bus_, nullptr);
      if (r < 0) return BusError("systemd: " + what + ": wait for the job", r, nullptr);
      if (r > 0) continue;
      int64_t left = deadline - NowUsec();
      if (left <= 0) {
        ResetFailed(unit);
        return Fail("systemd: " + what + ": no job result after 30s", ETIMEDOUT);
      }
      r = api_.wait(bus_, static_cast<uint64_t>(left));
      if (r < 0 && r != -EINTR) return BusError("systemd: " + what + ": wait", r, nullptr);
    }
    const std::string& result = watch.results[job];
    if (result != "done") {
      ResetFailed(unit);
      return Fail("systemd: " + what + ": job " + result, EIO);
    }
    return {};
  }

  SdBus api_;
  sd_bus* bus_ = nullptr;
};

class SystemdManager final : public FsManager {
 public:
  SystemdManager(Paths paths, Layout layout, std::string id,
                 std::optional<oci::Resources> resources,
                 std::vector<systemd::UnitProperty> resource_props, bool started)
      : FsManager(std::move(paths)),
        layout_(std::move(layout)),
        id_(std::move(id)),
        resources_(std::move(resources)),
        resource_props_(std::move(resource_props)),
        started_(started) {}

  Result<void> AddProcess(pid_t pid) override {
    if (started_) return FsManager::AddProcess(pid);
    auto conn = BERTH_TRY(Connection::Open());
    systemd::UnitPath unit;
    unit.unit = paths_.systemd_unit;
    unit.slice = slice_;
    auto props = systemd::ScopeProperties(unit, id_, pid, paths_.mode);
    props.insert(props.end(), resource_props_.begin(), resource_props_.end());
    BERTH_TRY(conn->StartUnit(paths_.systemd_unit, props));
    started_ = true;
    // Hierarchies systemd does not manage (cpuset, freezer, hugetlb, ... on v1) get
    // their directories here, and every resource is also written to cgroupfs, as runc
    // does: systemd's properties do not cover them all.
    auto placed = [&]() -> Result<void> {
      BERTH_TRY(
          CreateDirs(layout_, resources_ ? &*resources_ : nullptr, /*enable_v2=*/false, paths_));
      return FsManager::AddProcess(pid);
    }();
    if (!placed) {
      (void)conn->StopUnit(paths_.systemd_unit);
      (void)RemoveDirs();
      started_ = false;
      return placed;
    }
    return {};
  }

  // Until systemd started the scope, it is systemd that places the first process.
  Result<SelfJoin> PrepareSelfJoin() override {
    if (!started_) return SelfJoin{};
    return FsManager::PrepareSelfJoin();
  }
  Result<void> CompleteJoin(pid_t pid, SelfJoined joined) override {
    if (!started_) return AddProcess(pid);
    return FsManager::CompleteJoin(pid, joined);
  }

  Result<void> Update(const oci::Resources& resources) override {
    oci::Resources r = resources;
    // CPUQuotaPerSecUSec needs the quota and the period: keep the one not given.
    if (r.cpu) KeepCurrentCpuBandwidth(paths_, *r.cpu);
    auto conn = BERTH_TRY(Connection::Open());
    int version = BERTH_TRY(conn->Version());
    std::string devices = linux::ReadFile("/proc/devices").value_or("");
    auto props = BERTH_TRY(systemd::ResourceProperties(r, paths_.mode, version, devices));
    if (!props.empty()) BERTH_TRY(conn->SetProperties(paths_.systemd_unit, props));
    return FsManager::Update(r);
  }

  Result<void> Destroy() override {
    // Kill first (thawing a paused container, which systemd would not do), so that
    // stopping the unit finds it empty; then remove what berth made itself.
    auto killed = KillAll(10000);
    auto conn = Connection::Open();
    Result<void> stopped;
    if (conn) stopped = (*conn)->StopUnit(paths_.systemd_unit);
    auto removed = RemoveDirs();
    if (!killed) return killed;
    if (!conn) return std::unexpected(conn.error());
    if (!stopped) return stopped;
    return removed;
  }

  void set_slice(std::string s) { slice_ = std::move(s); }

 private:
  Layout layout_;
  std::string id_;
  std::string slice_;
  std::optional<oci::Resources> resources_;
  std::vector<systemd::UnitProperty> resource_props_;
  bool started_;
};

void FillSystemdPaths(const Layout& layout, const std::string& cgroup_dir, Paths& paths) {
  CgroupsPath p{true, cgroup_dir.substr(1)};
  FillPaths(
      layout, [&](const Hierarchy& h) { return HierarchyDir(h, p, ""); }, paths);
}

}  // namespace

Result<void> LoadLibsystemd() {
  BERTH_TRY(LoadSdBus());
  return {};
}

bool SystemdRunning(const std::string& run_dir) {
  struct stat st;
  return ::lstat(run_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::unique_ptr<Manager>> CreateSystemdManager(const Request& request,
                                                      const std::string& run_dir) {
  if (!SystemdRunning(run_dir))
    return Fail("--systemd-cgroup: systemd is not running on this host (no " + run_dir + ")",
                ENOTSUP);
  auto unit = BERTH_TRY(systemd::ParseCgroupsPath(request.cgroups_path, request.container_id));
  Layout layout = BERTH_TRY(ReadLayout(request.root));
  if (request.resources) BERTH_TRY(ValidateResources(layout.mode, *request.resources));
  auto conn = BERTH_TRY(Connection::Open());
  int version = BERTH_TRY(conn->Version());
  std::vector<systemd::UnitProperty> props;
  if (request.resources) {
    std::string devices = linux::ReadFile("/proc/devices").value_or("");
    props =
        BERTH_TRY(systemd::ResourceProperties(*request.resources, layout.mode, version, devices));
  }
  Paths paths;
  paths.root = request.root;
  paths.systemd_unit = unit.unit;
  FillSystemdPaths(layout, unit.cgroup_dir, paths);
  std::optional<oci::Resources> resources;
  if (request.resources) resources = *request.resources;
  auto m =
      std::make_unique<SystemdManager>(std::move(paths), std::move(layout), request.container_id,
                                       std::move(resources), std::move(props), /*started=*/false);
  m->set_slice(unit.slice);
  return std::unique_ptr<Manager>(std::move(m));
}

Result<std::unique_ptr<Manager>> LoadSystemdManager(const Paths& paths) {
  Layout layout;
  layout.mode = paths.mode;
  return std::unique_ptr<Manager>(std::make_unique<SystemdManager>(
      paths, std::move(layout), "", std::nullopt, std::vector<systemd::UnitProperty>{},
      /*started=*/true));
}

}  // namespace berth::cgroup
