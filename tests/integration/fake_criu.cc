// berth-fake-criu: a stand-in for `criu swrk 3` that speaks criu's RPC, so the
// integration tests can drive berth down paths real criu takes only on some
// machines (a working dump or restore) or never on demand (dying mid-dump with
// the cgroup frozen, failing after the restored process exists).
//
// BERTH_FAKE_CRIU selects what it does:
//   check-fails       CHECK: writes an Error line to its log and answers no
//   dump-dies-frozen  DUMP: freezes opts.freeze_cgroup and exits without answering
//   dump-ok           DUMP: SIGKILLs opts.pid (unless leave_running), answers yes
//   restore-ok        RESTORE: starts `sleep` as berth's child (as criu's
//                     rst_sibling does), notifies setup-namespaces and
//                     post-restore with its pid, answers yes
//   restore-fails     as restore-ok, then answers no
// Every other request (CHECK, FEATURE_CHECK) succeeds. In BERTH_FAKE_CRIU_DIR it
// leaves request.bin (the last DUMP or RESTORE request) and sibling.pid.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "criu/rpc.pb.h"

namespace {

constexpr int kSocket = 3;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool Send(const criu::criu_resp& resp) {
  std::string data = resp.SerializeAsString();
  return ::send(kSocket, data.data(), data.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(data.size());
}

bool Receive(criu::criu_req* req) {
  char buf[65536];
  ssize_t n = ::recv(kSocket, buf, sizeof buf, 0);
  return n > 0 && req->ParseFromArray(buf, static_cast<int>(n));
}

// An fd of berth's, the way criu reaches it: through /proc/<peer>/fd.
std::string PeerFdPath(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  ::getsockopt(kSocket, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  return "/proc/" + std::to_string(cred.pid) + "/fd/" + std::to_string(fd);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

void Record(const criu::criu_req& req) {
  std::string dir = Env("BERTH_FAKE_CRIU_DIR");
  if (!dir.empty()) WriteFile(dir + "/request.bin", req.SerializeAsString());
}

criu::criu_resp Answer(const criu::criu_req& req, bool success) {
  criu::criu_resp resp;
  resp.set_type(req.type());
  resp.set_success(success);
  return resp;
}

// criu's action-script notification; false if berth refused it.
bool Notify(const std::string& script, pid_t pid) {
  criu::criu_resp n;
  n.set_type(criu::NOTIFY);
  n.set_success(true);
  n.mutable_notify()->set_script(script);
  n.mutable_notify()->set_pid(pid);
  criu::criu_req ack;
  return Send(n) && Receive(&ack) && ack.type() == criu::NOTIFY && ack.notify_success();
}

int Check(const criu::criu_req& req, const std::string& mode) {
  if (mode != "check-fails") return Send(Answer(req, true)) ? 0 : 1;
  if (req.has_opts() && req.opts().has_log_file())
    WriteFile(PeerFdPath(req.opts().images_dir_fd()) + "/" + req.opts().log_file(),
              "(00.000001) Version: fake\n"
              "(00.000002) Error (fake/kerndat.c:1): fake: this kernel cannot be checkpointed\n");
  return Send(Answer(req, false)) ? 0 : 1;
}

int Dump(const criu::criu_req& req, const std::string& mode) {
  Record(req);
  if (mode == "dump-dies-frozen") {
    std::string dir = req.opts().freeze_cgroup();
    if (::access((dir + "/freezer.state").c_str(), F_OK) == 0)
      WriteFile(dir + "/freezer.state", "FROZEN");
    else
      WriteFile(dir + "/cgroup.freeze", "1");
    ::usleep(100 * 1000);
    return 1;  // as if criu crashed: no answer, the cgroup left frozen
  }
  if (mode != "dump-ok") return Send(Answer(req, false)) ? 0 : 1;
  if (!Notify("post-dump", req.opts().pid())) return Send(Answer(req, false)) ? 0 : 1;
  if (!req.opts().leave_running()) ::kill(req.opts().pid(), SIGKILL);
  return Send(Answer(req, true)) ? 0 : 1;
}

int Restore(const criu::criu_req& req, const std::string& mode) {
  Record(req);
  // CLONE_PARENT: the "restored" process is berth's child, as with rst_sibling.
  long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execl("/bin/sleep", "sleep", "1000", nullptr);
    ::_exit(127);
  }
  if (pid < 0) return 1;
  std::string dir = Env("BERTH_FAKE_CRIU_DIR");
  if (!dir.empty()) WriteFile(dir + "/sibling.pid", std::to_string(pid));
  bool ok = Notify("setup-namespaces", static_cast<pid_t>(pid)) &&
            Notify("post-restore", static_cast<pid_t>(pid));
  criu::criu_resp resp = Answer(req, ok && mode == "restore-ok");
  if (mode == "restore-fails") resp.set_cr_errmsg("fake: restore failed after post-restore");
  if (resp.success()) resp.mutable_restore()->set_pid(static_cast<int>(pid));
  return Send(resp) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "swrk" || std::string(argv[2]) != "3") {
    std::fprintf(stderr, "usage: berth-fake-criu swrk 3\n");
    return 2;
  }
  std::string mode = Env("BERTH_FAKE_CRIU");
  criu::criu_req req;
  if (!Receive(&req)) return 1;
  switch (req.type()) {
    case criu::DUMP:
    case criu::PRE_DUMP:
      return Dump(req, mode);
    case criu::RESTORE:
      return Restore(req, mode);
    case criu::CHECK:
      return Check(req, mode);
    default:
      return Send(Answer(req, true)) ? 0 : 1;
  }
}
