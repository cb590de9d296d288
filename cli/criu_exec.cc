// checkpoint and restore in `berth`: the same command line, run by berth-criu
// from berth's own directory. exec keeps the pid, so a restored init is still
// the child of the process its caller started.
#include <fcntl.h>
#include <unistd.h>

#include "cli/criu_flags.h"
#include "linux/files.h"

namespace berth::cli {
namespace {

Result<int> ExecCriuHelper() {
  std::string cmdline = BERTH_TRY(linux::ReadFile("/proc/self/cmdline"));
  std::vector<std::string> args;
  for (size_t i = 0; i < cmdline.size();) {
    size_t end = cmdline.find('\0', i);
    if (end == std::string::npos) end = cmdline.size();
    args.push_back(cmdline.substr(i, end - i));
    i = end + 1;
  }
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return ErrnoError("readlink /proc/self/exe");
  std::string dir(self, static_cast<size_t>(n));
  std::string helper = dir.substr(0, dir.rfind('/')) + "/berth-criu";
  if (args.empty()) return Fail("empty /proc/self/cmdline");
  args[0] = helper;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(helper.c_str(), argv.data());
  return ErrnoError("run " + helper +
                    " (checkpoint and restore run in berth-criu, installed beside berth)");
}

}  // namespace

Result<int> RunCheckpoint(const container::Runtime&, const CheckpointFlags&) {
  return ExecCriuHelper();
}
Result<int> RunRestore(const container::Runtime&, const RestoreFlags&) {
  return ExecCriuHelper();
}

}  // namespace berth::cli
