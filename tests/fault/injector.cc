// The fault injector of the test builds (berth-fault, containerd-shim-berth-v2-fault):
// replaces the release binaries' empty weak container::FaultPoint (container/fault.h).
//   BERTH_FAULT_TRACE=FILE  appends the name of every fault point reached, one a line;
//   BERTH_FAULT_AT=N        makes the Nth point reached (from 1) fail with EIO, its error
//                           naming the step.
// Test-only code: the counter is this process's, read from the environment once.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "container/fault.h"

namespace berth::container {
namespace {

struct Settings {
  long fail_at = 0;
  const char* trace = nullptr;
};

const Settings& GetSettings() {
  static const Settings settings = [] {
    Settings s;
    if (const char* at = std::getenv("BERTH_FAULT_AT")) s.fail_at = std::atol(at);
    s.trace = std::getenv("BERTH_FAULT_TRACE");
    return s;
  }();
  return settings;
}

std::atomic<long> g_reached{0};

}  // namespace

Result<void> FaultPoint(const char* step) {
  const Settings& s = GetSettings();
  long n = ++g_reached;
  if (s.trace) {
    int fd = ::open(s.trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      std::string line = std::string(step) + "\n";
      (void)!::write(fd, line.data(), line.size());
      ::close(fd);
    }
  }
  if (n == s.fail_at) return Fail(std::string("injected fault at ") + step, EIO);
  return {};
}

}  // namespace berth::container
