// `-info`: containerd 2.x runs `<shim> -info` with the runtime options (a serialized
// Any, or nothing) on stdin whenever it needs the runtime's features: its
// introspection PluginInfo (`ctr plugins inspect-runtime`), and before creating a task
// with idmapped mounts (core/runtime/v2/task_manager.go getRuntimeInfo).
#include <cstdio>

#include "linux/files.h"
#include "shim/actions.h"
#include "shim/bootstrap.h"

namespace berth::shim {

int RunInfo(const char* runtime_name, const char* version) {
  auto info = RuntimeInfo(runtime_name, version, linux::ReadFd(0).value_or(""));
  if (!info) {
    std::fprintf(stderr, "%s: %s", runtime_name, info.error().message.c_str());
    return 1;
  }
  std::fwrite(info->data(), 1, info->size(), stdout);
  return 0;
}

}  // namespace berth::shim
