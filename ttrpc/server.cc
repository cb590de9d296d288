#include "ttrpc/server.h"

#include <sys/socket.h>

#include <cstdio>
#include <cstring>

#include "ttrpc/server_connection.h"
#include "ttrpc/unix_socket.h"

namespace berth::ttrpc {

namespace {
// After EMFILE and the like, accepting pauses this long instead of spinning on a
// listener that stays readable (ttrpc-go backs off too).
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
}  // namespace

Server::Server(EventLoop& loop, ServerOptions options) : loop_(loop), options_(std::move(options)) {}

Server::~Server() { Close(); }

void Server::Log(std::string_view message) const {
  if (options_.log) {
    options_.log(message);
  } else {
    std::fprintf(stderr, "ttrpc: %.*s\n", static_cast<int>(message.size()), message.data());
  }
}

Result<void> Server::Register(std::string service, ServiceMethods methods) {
  if (services_.contains(service)) return Fail("ttrpc: duplicate service " + service + " registered", EEXIST);
  services_.emplace(std::move(service), std::make_shared<const ServiceMethods>(std::move(methods)));
  return {};
}

Result<void> Server::RegisterAlias(std::string alias, std::string_view service) {
  auto it = services_.find(std::string(service));
  if (it == services_.end()) return Fail("ttrpc: alias of unknown service " + std::string(service), ENOENT);
  if (services_.contains(alias)) return Fail("ttrpc: duplicate service " + alias + " registered", EEXIST);
  auto methods = it->second;
  services_.emplace(std::move(alias), std::move(methods));
  return {};
}

const ServiceMethods* Server::FindService(std::string_view name) const {
  auto it = services_.find(std::string(name));
  return it == services_.end() ? nullptr : it->second.get();
}

Result<void> Server::Listen(const std::string& socket_path) {
  linux::UniqueFd fd = BERTH_TRY(ListenUnix(socket_path));
  return Serve(std::move(fd));
}

Result<void> Server::Serve(linux::UniqueFd listening_socket) {
  if (shutting_down_) return Fail("ttrpc: server is shutting down", ESHUTDOWN);
  BERTH_TRY(PrepareInheritedFd(listening_socket.get()));
  auto listener = std::make_unique<Listener>();
  listener->fd = std::move(listening_socket);
  Listener* raw = listener.get();
  listener->watch = BERTH_TRY(loop_.Watch(raw->fd.get(), EPOLLIN, [this, raw](uint32_t) { Accept(*raw); }));
  listeners_.push_back(std::move(listener));
  return {};
}

bool Server::PeerAllowed(int fd) {
  Result<PeerCredentials> peer = GetPeerCredentials(fd);
  if (!peer) {
    Log("refusing connection after handshake: " + peer.error().message);
    return false;
  }
  // ttrpc-go's requireUidGid compares the peer with the server's effective ids.
  if ((options_.required_uid && peer->uid != *options_.required_uid) ||
      (options_.required_gid && peer->gid != *options_.required_gid)) {
    Log("refusing connection after handshake: ttrpc: invalid credentials: operation not permitted "
        "(peer pid " + std::to_string(peer->pid) + " uid " + std::to_string(peer->uid) + " gid " +
        std::to_string(peer->gid) + ")");
    return false;
  }
  return true;
}

void Server::Accept(Listener& listener) {
  while (true) {
    linux::UniqueFd fd(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN) return;
      Log(std::string("accept: ") + std::strerror(errno));
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Pause this listener; the timer re-arms it if the server still has it.
        (void)loop_.Modify(listener.watch, 0);
        loop_.RunAfter(kAcceptBackoff, [this, alive = std::weak_ptr(alive_), raw = &listener] {
          if (alive.expired()) return;
          for (auto& l : listeners_) {
            if (l.get() == raw) (void)loop_.Modify(raw->watch, EPOLLIN);
          }
        });
      }
      return;
    }
    if (!PeerAllowed(fd.get())) continue;  // closed by ~UniqueFd, as ttrpc-go does
    auto connection = std::make_shared<ServerConnection>(*this, loop_, std::move(fd));
    if (Result<void> started = connection->Start(); !started) {
      Log("connection: " + started.error().message);
      continue;
    }
    connections_.emplace(connection.get(), std::move(connection));
  }
}

void Server::ConnectionClosed(ServerConnection* connection) {
  connections_.erase(connection);
  if (shutting_down_ && connections_.empty() && on_shutdown_done_) {
    // Posted: the caller is still inside the closing connection.
    loop_.Post(std::exchange(on_shutdown_done_, nullptr));
  }
}

void Server::CloseListeners() {
  for (auto& listener : listeners_) loop_.Unwatch(listener->watch);
  listeners_.clear();
}

void Server::Shutdown(std::function<void()> on_done) {
  shutting_down_ = true;
  CloseListeners();
  on_shutdown_done_ = std::move(on_done);
  if (connections_.empty()) {
    if (on_shutdown_done_) loop_.Post(std::exchange(on_shutdown_done_, nullptr));
    return;
  }
  // A copy: connections that are idle close (and leave the map) right away.
  std::vector<std::shared_ptr<ServerConnection>> open;
  for (auto& [raw, connection] : connections_) open.push_back(connection);
  for (auto& connection : open) connection->CloseWhenIdle();
}

void Server::Close() {
  shutting_down_ = true;
  CloseListeners();
  auto connections = std::exchange(connections_, {});
  for (auto& [raw, connection] : connections) {
    connection->DetachFromServer();
    connection->Close();
  }
  if (on_shutdown_done_) loop_.Post(std::exchange(on_shutdown_done_, nullptr));
}

}  // namespace berth::ttrpc
