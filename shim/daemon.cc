#include "shim/daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "linux/files.h"
#include "shim/log.h"
#include "shim/orphan_reaper.h"
#include "shim/publisher.h"
#include "shim/socket.h"
#include "shim/task_core.h"
#include "shim/task_service.h"
#include "shim/worker_pool.h"
#include "ttrpc/server.h"

namespace berth::shim {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMaxWorkers = 8;
constexpr auto kWorkerIdleExit = 2s;
constexpr auto kEventFlushTimeout = 5s;

// containerd made the fifo and holds it open for reading: point fd 2 at it.
void OpenLogFifo(const std::string& bundle) {
  int fd = ::open((bundle + "/log").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;  // no fifo (tests): fd 2 stays /dev/null
  ::dup2(fd, 2);
  ::close(fd);
}

// SIGCHLD, SIGTERM and SIGINT arrive through a signalfd on the loop: blocked in every
// thread, so the mask is set before any thread exists. The container's processes get
// a clean mask from the library.
Result<linux::UniqueFd> SignalFd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return ErrnoError("sigprocmask");
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return ErrnoError("signalfd");
  return linux::UniqueFd(fd);
}

// fd 3 must be the listening socket `start` handed over, not whatever fd 3 happens to be.
bool IsListeningSocket(int fd) {
  int accepting = 0;
  socklen_t len = sizeof accepting;
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting;
}

}  // namespace

int RunShimDaemon(const Flags& flags, const DaemonApi& api) {
  // One malloc arena: the worker threads are few and brief, and every arena costs RSS.
  ::mallopt(M_ARENA_MAX, 1);
  ::signal(SIGPIPE, SIG_IGN);
  SetDebugLogging(flags.debug);
  SetLogFields(api.log_fields);
  if (flags.ns.empty()) {
    LogError("shim namespace cannot be empty");
    return 1;
  }
  if (flags.socket.empty() && !IsListeningSocket(3)) {
    LogError("fd 3 is not a listening socket: run the shim as containerd does");
    return 1;
  }
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) LogWarning("cannot become a child subreaper");
  auto signals = SignalFd();
  auto loop = ttrpc::EventLoop::Create();
  if (!signals || !loop) {
    LogError(!signals ? signals.error().message : loop.error().message);
    return 1;
  }
  int status = 0;
  {
    std::unique_ptr<EventSink> events = api.make_events(**loop);
    WorkerPool workers(kMaxWorkers, kWorkerIdleExit);
    ttrpc::ServerOptions server_options;
    server_options.log = [](std::string_view m) { LogWarning(m); };
    ttrpc::Server server(**loop, server_options);
    bool stopping = false;
    auto stop = [&] {
      if (stopping) return;
      stopping = true;
      LogInfo("shim shutting down");
      server.Shutdown([&] {
        if (api.on_stopped) api.on_stopped();
        events->Flush(kEventFlushTimeout, [&] { (*loop)->Stop(); });
      });
    };
    TaskCore core(**loop, *events, workers, CoreConfig{flags.ns, api.defaults});
    OrphanReaper reaper(**loop, [&](pid_t pid) { return core.Tracks(pid) || events->Owns(pid); });
    auto services = api.serve(server, core, *events, stop);
    Result<void> serving = services ? Result<void>{} : Fail(std::move(services.error()));
    if (serving) {
      serving = flags.socket.empty() ? server.Serve(linux::UniqueFd(3))
                                     : server.Listen(SocketPath(flags.socket));
    }
    if (!serving) {
      LogError("serve: " + serving.error().message);
      return 1;
    }
    auto watched = (*loop)->Watch(signals->get(), EPOLLIN, [&](uint32_t) {
      signalfd_siginfo info;
      while (::read(signals->get(), &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) reaper.OnChildSignal();
        else stop();
      }
    });
    if (!watched) LogWarning("watch signals: " + watched.error().message);
    LogDebug("serving api");
    if (auto ran = (*loop)->Run(); !ran) {
      LogError("event loop: " + ran.error().message);
      status = 1;
    }
    if (watched) (*loop)->Unwatch(*watched);
  }
  return status;
}

int RunDaemon(const Flags& flags) {
  char cwd[4096];
  std::string bundle = flags.bundle.empty() && ::getcwd(cwd, sizeof cwd) ? cwd : flags.bundle;
  OpenLogFifo(bundle);
  // Read now: in a group, the first container's bundle (our working directory) may be
  // gone by the time the last one leaves.
  std::string address = linux::ReadFile(bundle + "/address").value_or("");
  const char* ttrpc_address = ::getenv("TTRPC_ADDRESS");
  DaemonApi api;
  api.log_fields = " runtime=io.containerd.berth.v2";
  api.make_events = [&](ttrpc::EventLoop& loop) -> std::unique_ptr<EventSink> {
    return std::make_unique<Publisher>(loop, ttrpc_address ? ttrpc_address : "", flags.ns);
  };
  api.serve = [](ttrpc::Server& server, TaskCore& core, EventSink&,
                 std::function<void()> stop) -> Result<std::shared_ptr<void>> {
    auto service = std::make_shared<TaskService>(core, std::move(stop));
    BERTH_TRY(server.Register("containerd.task.v2.Task", service->Methods()));
    BERTH_TRY(server.RegisterAlias("containerd.task.v3.Task", "containerd.task.v2.Task"));
    return std::shared_ptr<void>(service);
  };
  // Our socket goes with us, as runc's shim removes it.
  api.on_stopped = [&] {
    if (!address.empty()) RemoveSocket(address);
  };
  return RunShimDaemon(flags, api);
}

}  // namespace berth::shim
