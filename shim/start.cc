// `start`: runs in the bundle directory with containerd's environment, and must print
// how to reach the shim (shim/bootstrap.h) and nothing else, with the daemon already
// listening.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "linux/files.h"
#include "shim/actions.h"
#include "shim/bootstrap.h"
#include "shim/daemon.h"
#include "shim/options.h"
#include "shim/socket.h"
#include "ttrpc/unix_socket.h"

namespace berth::shim {
namespace {

// containerd-shim-runc-v2's groupLabels, in its order.
constexpr const char* kGroupLabels[] = {"io.containerd.runc.v2.group",
                                        "io.kubernetes.cri.sandbox-id"};

Result<std::string> Grouping(const std::string& id) {
  std::string text = BERTH_TRY(linux::ReadFile("config.json"));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Fail("config.json: invalid JSON");
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (const char* label : kGroupLabels) {
      auto it = j["annotations"].find(label);
      if (it != j["annotations"].end() && it->is_string()) return it->get<std::string>();
    }
  }
  return id;
}

// A fresh listening socket, or nullopt when a live shim of the same group has it.
Result<std::optional<linux::UniqueFd>> Listen(const std::string& address) {
  std::string path = SocketPath(address);
  if (path[0] != '@') BERTH_TRY(linux::MakeDirs(path.substr(0, path.rfind('/')), 0711));
  auto sock = ttrpc::ListenUnix(path);
  if (!sock && sock.error().code == EADDRINUSE) {
    if (CanConnect(address)) return std::optional<linux::UniqueFd>();
    RemoveSocket(address);  // left by a shim that died
    sock = ttrpc::ListenUnix(path);
  }
  if (!sock) return Fail(std::move(sock.error()).Context("create new shim socket"));
  if (path[0] != '@' && ::chmod(path.c_str(), 0600) < 0) return ErrnoError("chmod " + path);
  return std::optional<linux::UniqueFd>(std::move(*sock));
}

// The daemon: its own process group, fds 0-2 on /dev/null (containerd waits for the
// pipes it gave `start` to close), the socket as fd 3. `start` is single-threaded, so
// the child can go on to be the daemon without an exec, which saves a process image
// load on every container start; what `start` allocated is given back once idle.
Result<pid_t> SpawnDaemon(const Flags& flags, int socket) {
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork the shim daemon");
  if (pid > 0) return pid;
  ::setpgid(0, 0);
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0) ::_exit(1);
  if (socket != 3 && ::dup2(socket, 3) < 0) ::_exit(1);
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  Flags daemon = flags;
  daemon.action.clear();
  ::_exit(RunDaemon(daemon));
}

void PlaceInCgroup(const std::string& cgroup, pid_t pid) {
  if (cgroup.empty()) return;
  auto mode = cgroup::DetectMode();
  std::string value = std::to_string(pid);
  if (mode && *mode == cgroup::Mode::kUnified) {
    (void)linux::WriteExisting("/sys/fs/cgroup" + cgroup + "/cgroup.procs", value);
    return;
  }
  for (const char* c : {"cpu", "memory", "pids", "blkio", "cpuset", "freezer", "devices"})
    (void)linux::WriteExisting("/sys/fs/cgroup/" + std::string(c) + cgroup + "/cgroup.procs", value);
}

// containerd's value + 1, so that the OOM killer prefers the shim to containerd.
void AdjustOomScore(pid_t pid) {
  auto parent = linux::ReadFile("/proc/" + std::to_string(::getppid()) + "/oom_score_adj");
  if (!parent) return;
  int score = std::atoi(parent->c_str());
  if (score < 1000) ++score;
  (void)linux::WriteExisting("/proc/" + std::to_string(pid) + "/oom_score_adj",
                             std::to_string(score));
}

Result<std::string> Start(Flags flags) {
  if (flags.ns.empty()) return Fail("shim namespace cannot be empty");
  std::string stdin_bytes = linux::ReadFd(0).value_or("");
  StartInput in = BERTH_TRY(
      ParseStartInput(stdin_bytes, flags, ::getenv("GRPC_ADDRESS"), ::getenv("TTRPC_ADDRESS")));
  std::string group = BERTH_TRY(Grouping(flags.id));
  std::string address = SocketAddress(flags.address, flags.ns, group,
                                      in.socket_dir.empty() ? kDefaultSocketDir : in.socket_dir);
  auto sock = BERTH_TRY(Listen(address));
  // containerd re-reads `address` when it restarts.
  BERTH_TRY(linux::WriteFileAtomic("address", address, 0644));
  if (sock) {  // else the group's shim serves this container too
    // The daemon publishes events to the ttrpc address the bootstrap named; `start` is
    // single-threaded, so the environment is safe to change.
    if (!in.ttrpc_address.empty()) ::setenv("TTRPC_ADDRESS", in.ttrpc_address.c_str(), 1);
    auto pid = SpawnDaemon(flags, sock->get());
    if (!pid) {
      RemoveSocket(address);
      return Fail(std::move(pid.error()));
    }
    PlaceInCgroup(in.options.shim_cgroup, *pid);
    AdjustOomScore(*pid);
  }
  return FormatStartReply(in.reply, address);
}

}  // namespace

int RunStart(const Flags& flags) {
  auto reply = Start(flags);
  if (!reply) {
    std::fprintf(stderr, "containerd-shim-berth-v2: %s", reply.error().message.c_str());
    return 1;
  }
  std::fwrite(reply->data(), 1, reply->size(), stdout);
  return 0;
}

}  // namespace berth::shim
