// SCMP_ACT_NOTIFY end to end: the child loads the filter and hands the listener to the
// "runtime" (this process) over a socketpair; the runtime sends it to a test agent on a
// unix socket with SendSeccompListener; the agent answers the child's notification.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "linux/fd_passing.h"
#include "tests/seccomp/seccomp_test_support.h"

namespace berth::linux {
namespace {

using testing::ChildReport;
using testing::Profile;
using testing::Rule;
using testing::StartUnderFilter;
using testing::TempDir;

constexpr int kTimeoutMs = 10000;

// The agent's end: a listening unix stream socket.
class TestAgent {
 public:
  explicit TestAgent(const std::string& path) : path_(path) {
    sock_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = sock_ && ::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          ::listen(sock_.get(), 4) == 0;
  }
  bool ok() const { return ok_; }

  // Accepts one connection and receives the listener and the JSON it came with.
  Result<UniqueFd> Receive(nlohmann::json* state) {
    pollfd p{sock_.get(), POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) != 1) return Fail("agent: no connection");
    UniqueFd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return ErrnoError("agent: accept");
    std::string text;
    UniqueFd fd = BERTH_TRY(ReceiveFd(conn.get(), &text, 1 << 16));
    *state = nlohmann::json::parse(text, nullptr, false);
    return fd;
  }

 private:
  std::string path_;
  UniqueFd sock_;
  bool ok_ = false;
};

std::string StateJson(int pid) {
  return R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":)" + std::to_string(pid) +
         R"(,"bundle":"/bundles/c1","annotations":{"a":"b"}})";
}

TEST(SeccompNotify, AgentAnswersTheChildsSyscall) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string agent_path = dir.path() + "/agent.sock";
  std::string target = dir.path() + "/made";
  TestAgent agent(agent_path);
  ASSERT_TRUE(agent.ok()) << strerror(errno);

  oci::Seccomp profile = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_NOTIFY")});
  profile.listener_path = agent_path;
  profile.listener_metadata = "meta-1";
  auto program = CompileSeccomp(profile);
  ASSERT_TRUE(program.has_value()) << program.error().message;
  ASSERT_TRUE(program->wants_listener);

  int sync[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync), 0);
  UniqueFd runtime_end(sync[0]), child_end(sync[1]);
  int child_sync = child_end.get();
  auto child = StartUnderFilter(*program, [&](ChildReport& r) {
    // What the container's init does between loading the filter and execve.
    if (SendFdNoAlloc(child_sync, r.listener, "L", 1) != 1) _exit(3);
    ::close(r.listener);
    r.Put(::syscall(SYS_mkdir, target.c_str(), 0700));
  });
  child_end.reset();
  ASSERT_GT(child.pid(), 0);

  // The runtime: take the listener from the child, pass it to the agent, drop it.
  std::string hello;
  auto listener = ReceiveFd(runtime_end.get(), &hello);
  ASSERT_TRUE(listener.has_value()) << listener.error().message;
  EXPECT_EQ(hello, "L");
  auto sent = SendSeccompListener(agent_path, "meta-1", listener->get(), StateJson(child.pid()));
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  listener->reset();

  // The agent.
  nlohmann::json state;
  auto notify_fd = agent.Receive(&state);
  ASSERT_TRUE(notify_fd.has_value()) << notify_fd.error().message;
  ASSERT_TRUE(state.is_object()) << "not JSON";
  EXPECT_EQ(state.value("ociVersion", ""), std::string(oci::kSpecVersion));
  EXPECT_EQ(state["fds"], nlohmann::json::array({"seccompFd"}));
  EXPECT_EQ(state.value("pid", 0), child.pid());
  EXPECT_EQ(state.value("metadata", ""), "meta-1");
  EXPECT_EQ(state["state"].value("id", ""), "c1");
  EXPECT_EQ(state["state"].value("status", ""), "creating");
  EXPECT_EQ(state["state"]["annotations"].value("a", ""), "b");

  pollfd p{notify_fd->get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, kTimeoutMs), 1) << "no notification";
  seccomp_notif req;
  std::memset(&req, 0, sizeof req);
  ASSERT_EQ(::ioctl(notify_fd->get(), SECCOMP_IOCTL_NOTIF_RECV, &req), 0) << strerror(errno);
  EXPECT_EQ(req.data.nr, SYS_mkdir);
  EXPECT_EQ(static_cast<pid_t>(req.pid), child.pid());
  seccomp_notif_resp resp;
  std::memset(&resp, 0, sizeof resp);
  resp.id = req.id;
  resp.val = 42;  // what the child's mkdir returns, without running it
  ASSERT_EQ(::ioctl(notify_fd->get(), SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << strerror(errno);

  auto out = child.Wait();
  ASSERT_TRUE(out.Exited()) << testing::DescribeStatus(out.status);
  ASSERT_EQ(out.values.size(), 1u);
  EXPECT_EQ(out.values[0], 42);
  EXPECT_FALSE(PathExists(target)) << "the agent answered; the kernel must not run mkdir";
}

TEST(SeccompNotify, MessageLayoutWithoutMetadataAndWithAnExecPid) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string agent_path = dir.path() + "/agent.sock";
  TestAgent agent(agent_path);
  ASSERT_TRUE(agent.ok()) << strerror(errno);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd rd(pipe_fds[0]), wr(pipe_fds[1]);

  auto sent = SendSeccompListener(agent_path, "", rd.get(), StateJson(100), 4321);
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  nlohmann::json state;
  auto fd = agent.Receive(&state);
  ASSERT_TRUE(fd.has_value()) << fd.error().message;
  EXPECT_FALSE(state.contains("metadata")) << "omitted when empty, as runc does";
  EXPECT_EQ(state.value("pid", 0), 4321);
  EXPECT_EQ(state["state"].value("pid", 0), 100);
  struct stat a, b;
  ASSERT_EQ(::fstat(fd->get(), &a), 0);
  ASSERT_EQ(::fstat(rd.get(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "the fd that arrived is the one sent";
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(SeccompNotify, ErrorsNameTheAgentSocket) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string missing = dir.path() + "/nobody.sock";
  auto r = SendSeccompListener(missing, "", 0, StateJson(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(missing), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().code, ENOENT);

  auto bad_state = SendSeccompListener(missing, "", 0, "not json");
  ASSERT_FALSE(bad_state.has_value());
  EXPECT_NE(bad_state.error().message.find("not a JSON object"), std::string::npos);
}

TEST(FdPassing, RoundTripAndRefusals) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd rd(pipe_fds[0]), wr(pipe_fds[1]);

  ASSERT_TRUE(SendFd(a.get(), wr.get(), "hello").has_value());
  std::string data;
  auto got = ReceiveFd(b.get(), &data);
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(data, "hello");
  ASSERT_EQ(::write(got->get(), "x", 1), 1) << "the received fd writes into our pipe";
  char c = 0;
  ASSERT_EQ(::read(rd.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');

  // A message without an fd is refused.
  ASSERT_EQ(::write(a.get(), "plain", 5), 5);
  auto none = ReceiveFd(b.get());
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("expected one fd, got 0"), std::string::npos);

  // So is one carrying two fds.
  int two[2] = {rd.get(), wr.get()};
  char control[CMSG_SPACE(sizeof two)] = {};
  char byte = 'x';
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof two);
  std::memcpy(CMSG_DATA(cmsg), two, sizeof two);
  ASSERT_EQ(::sendmsg(a.get(), &msg, 0), 1);
  auto many = ReceiveFd(b.get());
  ASSERT_FALSE(many.has_value());
  EXPECT_NE(many.error().message.find("expected one fd, got 2"), std::string::npos);

  a.reset();
  auto closed = ReceiveFd(b.get());
  ASSERT_FALSE(closed.has_value());
  EXPECT_EQ(closed.error().code, ECONNRESET);
}

}  // namespace
}  // namespace berth::linux
