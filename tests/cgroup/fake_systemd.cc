#include "fake_systemd.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cgroup/fs.h"

namespace berth::cgroup::testing {
namespace {

constexpr const char* kObject = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

// Reads one variant into "<signature>:<value>".
std::string ReadVariant(sd_bus_message* m) {
  char type = 0;
  const char* contents = nullptr;
  if (sd_bus_message_peek_type(m, &type, &contents) < 0 || type != 'v') return "?";
  std::string sig = contents;
  if (sd_bus_message_enter_container(m, 'v', contents) < 0) return "?";
  std::ostringstream out;
  out << sig << ":";
  if (sig == "b") {
    int b = 0;
    sd_bus_message_read(m, "b", &b);
    out << (b ? "true" : "false");
  } else if (sig == "s") {
    const char* s = nullptr;
    sd_bus_message_read(m, "s", &s);
    out << (s ? s : "");
  } else if (sig == "t") {
    uint64_t t = 0;
    sd_bus_message_read(m, "t", &t);
    out << t;
  } else if (sig == "au") {
    const void* p = nullptr;
    size_t n = 0;
    sd_bus_message_read_array(m, 'u', &p, &n);
    for (size_t i = 0; i < n / sizeof(uint32_t); ++i)
      out << (i ? "," : "") << static_cast<const uint32_t*>(p)[i];
  } else if (sig == "ay") {
    const void* p = nullptr;
    size_t n = 0;
    sd_bus_message_read_array(m, 'y', &p, &n);
    char hex[4];
    for (size_t i = 0; i < n; ++i) {
      std::snprintf(hex, sizeof hex, "%02x", static_cast<const uint8_t*>(p)[i]);
      out << hex;
    }
  } else if (sig == "a(ss)") {
    sd_bus_message_enter_container(m, 'a', "(ss)");
    const char *a = nullptr, *b = nullptr;
    bool first = true;
    while (sd_bus_message_read(m, "(ss)", &a, &b) > 0) {
      out << (first ? "" : ",") << a << " " << b;
      first = false;
    }
    sd_bus_message_exit_container(m);
  } else {
    sd_bus_message_skip(m, contents);
  }
  sd_bus_message_exit_container(m);
  return out.str();
}

std::map<std::string, std::string> ReadProperties(sd_bus_message* m) {
  std::map<std::string, std::string> props;
  if (sd_bus_message_enter_container(m, 'a', "(sv)") < 0) return props;
  while (sd_bus_message_enter_container(m, 'r', "sv") > 0) {
    const char* name = nullptr;
    sd_bus_message_read(m, "s", &name);
    props[name ? name : "?"] = ReadVariant(m);
    sd_bus_message_exit_container(m);
  }
  sd_bus_message_exit_container(m);
  return props;
}

}  // namespace

std::unique_ptr<FakeSystemd> FakeSystemd::Start(std::string& error) {
  auto f = std::unique_ptr<FakeSystemd>(new FakeSystemd());
  char tmpl[] = "/tmp/berth-fake-systemd-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    error = "mkdtemp failed";
    return nullptr;
  }
  f->dir_ = tmpl;
  f->run_dir_ = f->dir_ + "/run-systemd-system";
  ::mkdir(f->run_dir_.c_str(), 0755);
  std::string socket = f->dir_ + "/bus";
  f->address_ = "unix:path=" + socket;
  std::string conf = f->dir_ + "/bus.conf";
  std::ofstream(conf)
      << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
         "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
         "<busconfig><type>custom</type><listen>"
      << f->address_
      << "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
         "<allow user=\"*\"/><allow own=\"*\"/>"
         "<allow send_type=\"method_call\"/><allow send_type=\"signal\"/>"
         "<allow send_type=\"method_return\"/><allow send_type=\"error\"/>"
         "<allow receive_type=\"method_call\"/><allow receive_type=\"signal\"/>"
         "<allow receive_type=\"method_return\"/><allow receive_type=\"error\"/>"
         "</policy></busconfig>\n";
  f->daemon_ = ::fork();
  if (f->daemon_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string arg = "--config-file=" + conf;
    ::execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", arg.c_str(), nullptr);
    ::_exit(127);
  }
  // The socket file appears at bind(2), before listen(2): wait until a connect
  // succeeds, or sd_bus_start can meet ECONNREFUSED.
  auto accepting = [&socket] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  };
  for (int i = 0; i < 5000 && !accepting(); ++i) ::usleep(1000);
  if (!accepting()) {
    error = "dbus-daemon did not start";
    return nullptr;
  }
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", f->address_.c_str(), 1);
  // The socket file appears at bind(), before dbus-daemon listens: a connection refused
  // then is retried (on a loaded machine the gap is milliseconds).
  int r = -ECONNREFUSED;
  for (int i = 0; i < 5000 && r == -ECONNREFUSED; ++i) {
    if (f->bus_) {
      f->bus_ = sd_bus_unref(f->bus_);
      ::usleep(1000);
    }
    r = sd_bus_new(&f->bus_);
    if (r >= 0) r = sd_bus_set_address(f->bus_, f->address_.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(f->bus_, 1);
    if (r >= 0) r = sd_bus_start(f->bus_);
  }
  if (r >= 0) r = sd_bus_request_name(f->bus_, "org.freedesktop.systemd1", 0);
  if (r >= 0) r = sd_bus_add_object(f->bus_, &f->slot_, kObject, &FakeSystemd::OnMessage, f.get());
  if (r < 0) {
    error = std::string("fake systemd: ") + std::strerror(-r);
    return nullptr;
  }
  f->thread_ = std::thread([p = f.get()] { p->Run(); });
  return f;
}

FakeSystemd::~FakeSystemd() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (slot_) sd_bus_slot_unref(slot_);
  if (bus_) sd_bus_flush_close_unref(bus_);
  if (daemon_ > 0) {
    ::kill(daemon_, SIGKILL);
    ::waitpid(daemon_, nullptr, 0);
  }
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  for (const auto& [unit, dir] : scope_dirs_) (void)fs::RemoveDir(dir, 1000);
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

void FakeSystemd::Run() {
  while (!stop_) {
    int r = sd_bus_process(bus_, nullptr);
    if (r > 0) continue;
    if (r < 0) break;
    sd_bus_wait(bus_, 50000);
  }
}

void FakeSystemd::set_start_result(const std::string& result) {
  std::lock_guard lock(mu_);
  start_result_ = result;
}

std::vector<std::string> FakeSystemd::calls() {
  std::lock_guard lock(mu_);
  return calls_;
}

std::map<std::string, std::string> FakeSystemd::start_properties() {
  std::lock_guard lock(mu_);
  return start_props_;
}

std::map<std::string, std::string> FakeSystemd::set_properties() {
  std::lock_guard lock(mu_);
  return set_props_;
}

int FakeSystemd::OnMessage(sd_bus_message* m, void* self, sd_bus_error*) {
  return static_cast<FakeSystemd*>(self)->Handle(m);
}

int FakeSystemd::Handle(sd_bus_message* m) {
  std::lock_guard lock(mu_);
  if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get")) {
    const char *iface = nullptr, *name = nullptr;
    sd_bus_message_read(m, "ss", &iface, &name);
    if (std::string(name ? name : "") == "Version")
      return sd_bus_reply_method_return(m, "v", "s", "252.39-1~deb12u2");
    return 0;
  }
  auto job_done = [&](const std::string& unit, const std::string& result) {
    std::string job = std::string(kObject) + "/job/" + std::to_string(next_job_++);
    int r = sd_bus_reply_method_return(m, "o", job.c_str());
    if (r < 0) return r;
    sd_bus_emit_signal(bus_, kObject, kManager, "JobRemoved", "uoss", next_job_ - 1, job.c_str(),
                       unit.c_str(), result.c_str());
    return 1;
  };
  if (sd_bus_message_is_method_call(m, kManager, "StartTransientUnit")) {
    const char *unit = nullptr, *mode = nullptr;
    sd_bus_message_read(m, "ss", &unit, &mode);
    start_props_ = ReadProperties(m);
    calls_.push_back(std::string("StartTransientUnit ") + unit);
    if (start_result_ == "done") {
      // As systemd: the scope's directory in its own hierarchy, with the PIDs in it.
      std::string dir = "/sys/fs/cgroup/systemd/" + std::string(unit);
      if (std::filesystem::exists("/sys/fs/cgroup/systemd/cgroup.procs") &&
          ::mkdir(dir.c_str(), 0755) == 0) {
        scope_dirs_[unit] = dir;
        std::string pids = start_props_["PIDs"];
        if (pids.starts_with("au:")) (void)fs::Write(dir, "cgroup.procs", pids.substr(3));
      }
    }
    return job_done(unit, start_result_);
  }
  if (sd_bus_message_is_method_call(m, kManager, "StopUnit")) {
    const char *unit = nullptr, *mode = nullptr;
    sd_bus_message_read(m, "ss", &unit, &mode);
    calls_.push_back(std::string("StopUnit ") + unit);
    auto it = scope_dirs_.find(unit);
    if (it == scope_dirs_.end())
      return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit",
                                        "Unit %s not loaded.", unit);
    // Stopping a scope kills what is in it (only the test's own children are).
    for (int i = 0; i < 500; ++i) {
      auto pids = fs::ReadProcs(it->second, true);
      if (!pids || pids->empty()) break;
      for (pid_t p : *pids) ::kill(p, SIGKILL);
      ::usleep(2000);
    }
    (void)fs::RemoveDir(it->second, 1000);
    scope_dirs_.erase(it);
    return job_done(unit, "done");
  }
  if (sd_bus_message_is_method_call(m, kManager, "SetUnitProperties")) {
    const char* unit = nullptr;
    int runtime = 0;
    sd_bus_message_read(m, "sb", &unit, &runtime);
    set_props_ = ReadProperties(m);
    calls_.push_back(std::string("SetUnitProperties ") + unit + (runtime ? " runtime" : ""));
    return sd_bus_reply_method_return(m, "");
  }
  if (sd_bus_message_is_method_call(m, kManager, "ResetFailedUnit")) {
    const char* unit = nullptr;
    sd_bus_message_read(m, "s", &unit);
    calls_.push_back(std::string("ResetFailedUnit ") + unit);
    return sd_bus_reply_method_return(m, "");
  }
  return 0;
}

}  // namespace berth::cgroup::testing
