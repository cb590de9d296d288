// SendSeccompListener: the runtime-spec's seccomp agent protocol (config-linux.md,
// "listenerPath"), as runc implements it: one message on a unix stream socket whose
// bytes are a ContainerProcessState JSON and whose SCM_RIGHTS carries the listener.
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "linux/fd_passing.h"
#include "linux/seccomp.h"

namespace berth::linux {
namespace {

// runtime-spec specs-go SeccompFdName: the name of the listener in "fds".
constexpr const char* kSeccompFdName = "seccompFd";

std::string SeccompProcessStateJson(const std::string& listener_metadata,
                                    const std::string& state_json, int process_pid) {
  // Field names and order of runtime-spec specs-go ContainerProcessState.
  nlohmann::ordered_json state = nlohmann::ordered_json::parse(state_json, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return {};
  int pid = process_pid;
  if (pid == 0 && state.contains("pid") && state["pid"].is_number_integer())
    pid = state["pid"].get<int>();
  nlohmann::ordered_json j;
  j["ociVersion"] = std::string(oci::kSpecVersion);
  j["fds"] = nlohmann::ordered_json::array({kSeccompFdName});
  j["pid"] = pid;
  if (!listener_metadata.empty()) j["metadata"] = listener_metadata;
  j["state"] = std::move(state);
  return j.dump();
}

}  // namespace

Result<void> SendSeccompListener(const std::string& listener_path,
                                 const std::string& listener_metadata, int listener_fd,
                                 const std::string& state_json, int process_pid) {
  const std::string what = "send the seccomp listener to " + listener_path;
  std::string message = SeccompProcessStateJson(listener_metadata, state_json, process_pid);
  if (message.empty()) return Fail(what + ": the container state is not a JSON object");

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (listener_path.empty() || listener_path.size() >= sizeof addr.sun_path)
    return Fail(what + ": the socket path is empty or longer than " +
                    std::to_string(sizeof addr.sun_path - 1) + " bytes",
                ENAMETOOLONG);
  std::memcpy(addr.sun_path, listener_path.data(), listener_path.size());

  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return ErrnoError(what + ": socket");
  int rc;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ErrnoError(what + ": connect");
  return WithContext(SendFd(sock.get(), listener_fd, message), what);
}

}  // namespace berth::linux
