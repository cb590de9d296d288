#include "tests/security/cve_test_support.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace berth::testing {

void CveTest::SetUp() {
  BerthTest::SetUp();
  attacker_dir_ = dir_ + "/attacker";
  ::mkdir(attacker_dir_.c_str(), 0755);
  auto r = RunCommand({"/bin/cp", BERTH_ATTACKER, attacker_dir_ + "/attacker"});
  ASSERT_EQ(r.status, 0) << r.err;
  // The mount point, made here: a container in a user namespace could not.
  for (const char* dir : {"/attacker", "/comm"}) ::mkdir((SharedRootfs() + dir).c_str(), 0755);
}

std::string CveTest::StartContainer(const std::vector<std::string>& args,
                                    const std::function<void(nlohmann::json&)>& edit) {
  std::string id = NewId();
  auto r = Berth({"run", "-d", "-b", MakeBundle(args, edit), id});
  EXPECT_EQ(r.status, 0) << r.err;
  return id;
}

pid_t CveTest::InitPid(const std::string& id) {
  auto s = State(id);
  return s.is_object() ? s["pid"].get<int>() : 0;
}

std::string CveTest::Inside(pid_t pid, const std::string& path) {
  return "/proc/" + std::to_string(pid) + "/root" + path;
}

CommandResult CveTest::Exec(std::vector<std::string> args, const SpawnOptions& options) {
  args.insert(args.begin(), "exec");
  return Berth(args, options);
}

std::string CveTest::PrivateRootfs() {
  std::string rootfs = dir_ + "/rootfs";
  auto r = RunCommand({"/bin/cp", "-a", SharedRootfs(), rootfs});
  EXPECT_EQ(r.status, 0) << r.err;
  return rootfs;
}

nlohmann::json CveTest::AttackerMount() const {
  return {{"destination", "/attacker"},
          {"type", "bind"},
          {"source", attacker_dir_},
          {"options", {"rbind", "ro"}}};
}

std::string InPrivateMountNamespace(const std::function<std::string()>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    // The uts, ipc and network namespaces too: a write that gets through must
    // not reach the host's sysctls.
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
      out = std::string("unshare: ") + std::strerror(errno);
    else
      out = body();
    (void)!::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  return out;
}

std::string ErrnoName(int err) {
  switch (err) {
    case 0:
      return "OK";
    case EXDEV:
      return "EXDEV";
    case ELOOP:
      return "ELOOP";
    case ENOENT:
      return "ENOENT";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOTDIR:
      return "ENOTDIR";
    default:
      return "errno" + std::to_string(err);
  }
}

}  // namespace berth::testing
