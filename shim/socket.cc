#include "shim/socket.h"

#include <unistd.h>

#include <vector>

#include "shim/sha256.h"
#include "ttrpc/unix_socket.h"

namespace berth::shim {
namespace {

constexpr std::string_view kScheme = "unix://";

// Go's path.Clean for absolute and relative slash-separated paths.
std::string Clean(const std::string& path) {
  bool rooted = !path.empty() && path[0] == '/';
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.push_back("..");
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

}  // namespace

std::string JoinPath(const std::string& a, const std::string& b, const std::string& c) {
  std::string joined;
  for (const std::string* part : {&a, &b, &c}) {
    if (part->empty()) continue;  // Go's Join skips empty elements
    joined += (joined.empty() ? "" : "/") + *part;
  }
  return joined.empty() ? "" : Clean(joined);
}

std::string SocketAddress(const std::string& containerd_address, const std::string& ns,
                          const std::string& group, const std::string& socket_dir) {
  return std::string(kScheme) + socket_dir + "/" +
         Sha256Hex(JoinPath(containerd_address, ns, group));
}

std::string SocketPath(const std::string& address) {
  if (address.starts_with(kScheme)) return address.substr(kScheme.size());
  return "@" + address;
}

bool CanConnect(const std::string& address) {
  return ttrpc::ConnectUnix(SocketPath(address)).has_value();
}

void RemoveSocket(const std::string& address) {
  if (address.starts_with(kScheme)) ::unlink(SocketPath(address).c_str());
}

}  // namespace berth::shim
