// Shim socket addresses as containerd's shim package spells them: "unix:///run/...";
// without the scheme, an abstract socket.
#pragma once

#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::shim {

// containerd's default directory for shim sockets (defaults.DefaultStateDir + "/s").
inline constexpr const char* kDefaultSocketDir = "/run/containerd/s";

// "unix://<socket_dir>/<sha256(containerd address/namespace/group)>", as containerd's
// shim.CreateSocketAddress; socket_dir is containerd 2.3's BootstrapParams.socket_dir.
std::string SocketAddress(const std::string& containerd_address, const std::string& ns,
                          const std::string& group,
                          const std::string& socket_dir = kDefaultSocketDir);

// The path to bind or connect ("@name" for an abstract one, as ttrpc/unix_socket.h).
std::string SocketPath(const std::string& address);

// Something accepts connections there (another shim of the same group).
bool CanConnect(const std::string& address);

// Removes the socket file (abstract sockets have none).
void RemoveSocket(const std::string& address);

// Go's filepath.Join: joined with '/' and cleaned.
std::string JoinPath(const std::string& a, const std::string& b, const std::string& c);

}  // namespace berth::shim
