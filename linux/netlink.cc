#include "linux/netlink.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "linux/unique_fd.h"

namespace berth::linux {
namespace {

// One request: header, fixed part, attributes, each NLMSG/RTA aligned.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    header().nlmsg_type = type;
    header().nlmsg_flags = NLM_F_REQUEST | flags;
  }
  template <class T>
  void Fixed(const T& body) {
    Append(&body, sizeof body);
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
    Append(&a, sizeof a);
    Append(data, len);
  }
  void Attr(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  void Attr(uint16_t type, uint32_t v) { Attr(type, &v, sizeof v); }
  std::vector<char>& Finish(uint32_t seq) {
    header().nlmsg_len = static_cast<uint32_t>(buf_.size());
    header().nlmsg_seq = seq;
    return buf_;
  }

 private:
  nlmsghdr& header() { return *reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void Append(const void* data, size_t len) {
    size_t at = buf_.size();
    buf_.resize(NLMSG_ALIGN(at + len));
    std::memcpy(buf_.data() + at, data, len);
  }
  std::vector<char> buf_;
};

class Netlink {
 public:
  static Result<Netlink> Open() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return ErrnoError("open a netlink socket");
    return Netlink(UniqueFd(fd));
  }
  // A socket of the network namespace `netns_fd`: made by a thread that joins it, so
  // that the runtime's own threads never change namespace.
  static Result<Netlink> OpenIn(int netns_fd) {
    int fd = -1, err = 0;
    std::thread([&] {
      if (::setns(netns_fd, CLONE_NEWNET) < 0) {
        err = errno;
        return;
      }
      fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (fd < 0) err = errno;
    }).join();
    if (fd < 0) return ErrnoError("open a netlink socket in the container's network namespace", err);
    return Netlink(UniqueFd(fd));
  }

  // Sends `req` and reads the answers until the ack (or the end of a dump), passing
  // each message to `each`.
  template <class Each>
  Result<void> Exchange(Request& req, Each&& each) {
    std::vector<char>& out = req.Finish(++seq_);
    if (::send(fd_.get(), out.data(), out.size(), 0) < 0) return ErrnoError("netlink send");
    std::vector<char> in(65536);
    for (;;) {
      ssize_t n = ::recv(fd_.get(), in.data(), in.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("netlink receive");
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(in.data()); NLMSG_OK(h, len);
           h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_seq != seq_) continue;
        if (h->nlmsg_type == NLMSG_DONE) return {};
        if (h->nlmsg_type == NLMSG_ERROR) {
          int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
          if (err) return Fail(std::strerror(err), err);
          return {};
        }
        each(h);
      }
    }
  }
  Result<void> Exchange(Request& req) {
    return Exchange(req, [](nlmsghdr*) {});
  }

 private:
  explicit Netlink(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  uint32_t seq_ = 0;
};

struct Address {
  ifaddrmsg head{};
  std::vector<char> local, address;
};

Result<std::vector<Address>> PermanentGlobalAddresses(Netlink& nl, int index) {
  Request req(RTM_GETADDR, NLM_F_DUMP);
  req.Fixed(ifaddrmsg{});
  std::vector<Address> out;
  BERTH_TRY(nl.Exchange(req, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    auto* ifa = reinterpret_cast<ifaddrmsg*>(NLMSG_DATA(h));
    if (static_cast<int>(ifa->ifa_index) != index || ifa->ifa_scope != RT_SCOPE_UNIVERSE) return;
    uint32_t flags = ifa->ifa_flags;
    Address a{*ifa, {}, {}};
    int len = static_cast<int>(IFA_PAYLOAD(h));
    for (auto* rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
      auto* data = static_cast<char*>(RTA_DATA(rta));
      size_t size = RTA_PAYLOAD(rta);
      if (rta->rta_type == IFA_FLAGS) std::memcpy(&flags, data, sizeof flags);
      if (rta->rta_type == IFA_LOCAL) a.local.assign(data, data + size);
      if (rta->rta_type == IFA_ADDRESS) a.address.assign(data, data + size);
    }
    if (flags & IFA_F_PERMANENT) out.push_back(std::move(a));
  }));
  return out;
}

Result<void> SetLinkUp(Netlink& nl, int index, bool up) {
  Request req(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  ifi.ifi_flags = up ? IFF_UP : 0;
  ifi.ifi_change = IFF_UP;
  req.Fixed(ifi);
  return nl.Exchange(req);
}

Result<int> LinkIndex(Netlink& nl, const std::string& name) {
  Request req(RTM_GETLINK, NLM_F_ACK);
  req.Fixed(ifinfomsg{});
  req.Attr(IFLA_IFNAME, name);
  int index = 0;
  BERTH_TRY(nl.Exchange(req, [&](nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK) index = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
  }));
  return index;
}

}  // namespace

bool ValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n') return false;
  return true;
}

Result<void> MoveInterface(const std::string& name, const std::string& new_name, int netns_fd) {
  Netlink host = BERTH_TRY(Netlink::Open());
  int index = BERTH_TRY_CTX(LinkIndex(host, name), "interface " + name + " of the runtime's namespace");
  BERTH_TRY_CTX(SetLinkUp(host, index, false), "set " + name + " down");
  std::vector<Address> addresses =
      BERTH_TRY_CTX(PermanentGlobalAddresses(host, index), "list the addresses of " + name);
  Request move(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  move.Fixed(ifi);
  move.Attr(IFLA_IFNAME, new_name);
  move.Attr(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  BERTH_TRY_CTX(host.Exchange(move), "move " + name + " into the container as " + new_name);
  Netlink container = BERTH_TRY(Netlink::OpenIn(netns_fd));
  int moved = BERTH_TRY_CTX(LinkIndex(container, new_name), "find " + new_name + " in the container");
  for (auto& a : addresses) {
    Request add(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    ifaddrmsg head = a.head;
    head.ifa_index = static_cast<uint32_t>(moved);
    add.Fixed(head);
    if (!a.local.empty()) add.Attr(IFA_LOCAL, a.local.data(), a.local.size());
    if (!a.address.empty()) add.Attr(IFA_ADDRESS, a.address.data(), a.address.size());
    BERTH_TRY_CTX(container.Exchange(add), "give " + new_name + " its address back");
  }
  return WithContext(SetLinkUp(container, moved, true), "set " + new_name + " up");
}

}  // namespace berth::linux
