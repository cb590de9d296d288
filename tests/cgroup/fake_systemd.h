// A stand-in for systemd's D-Bus manager, for testing the systemd driver on a machine
// without systemd: a private dbus-daemon (a child of the test) and, on a thread, an
// sd-bus object at /org/freedesktop/systemd1 that answers StartTransientUnit,
// StopUnit, SetUnitProperties, ResetFailedUnit and the Version property, records what
// it was sent, and emits JobRemoved like systemd. Starting a scope makes its directory
// in the name=systemd hierarchy (when mounted) and moves the PIDs there; stopping it
// kills them and removes the directory, as systemd would.
#pragma once

#include <systemd/sd-bus.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::cgroup::testing {

class FakeSystemd {
 public:
  // Sets DBUS_SYSTEM_BUS_ADDRESS to the private bus; call before other threads run.
  static std::unique_ptr<FakeSystemd> Start(std::string& error);
  ~FakeSystemd();

  // The job result StartTransientUnit reports ("done" by default).
  void set_start_result(const std::string& result);
  // A directory to pass as the "systemd is running" marker.
  const std::string& run_dir() const { return run_dir_; }

  // "StartTransientUnit berth-x.scope", "StopUnit berth-x.scope", ...
  std::vector<std::string> calls();
  // The properties of the last StartTransientUnit / SetUnitProperties call:
  // name -> "<signature>:<value>" ("t:1024", "au:123", "a(ss):/dev/char/1:3 rwm,...").
  std::map<std::string, std::string> start_properties();
  std::map<std::string, std::string> set_properties();

 private:
  FakeSystemd() = default;
  static int OnMessage(sd_bus_message* m, void* self, sd_bus_error* error);
  int Handle(sd_bus_message* m);
  void Run();

  std::string dir_, run_dir_, address_;
  pid_t daemon_ = -1;
  sd_bus* bus_ = nullptr;
  sd_bus_slot* slot_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string start_result_ = "done";
  std::vector<std::string> calls_;
  std::map<std::string, std::string> start_props_, set_props_;
  std::map<std::string, std::string> scope_dirs_;  // unit -> directory made for it
  uint32_t next_job_ = 1;
};

}  // namespace berth::cgroup::testing
