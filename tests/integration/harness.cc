#include "tests/integration/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "linux/fd_passing.h"
#include "oci/spec.h"

extern char** environ;

namespace berth::testing {
namespace {

std::atomic<int> g_counter{0};

void RemoveAll(const std::string& path) {
  std::string cmd = "rm -rf --one-file-system '" + path + "'";
  (void)std::system(cmd.c_str());
}

// Unmounts everything below `dir` (deepest first): a failed test may leave mounts.
void UnmountUnder(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> points;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string f[5];
    for (auto& x : f) s >> x;
    if (f[4].rfind(dir + "/", 0) == 0) points.push_back(f[4]);
  }
  std::sort(points.rbegin(), points.rend());
  for (const auto& p : points) ::umount2(p.c_str(), MNT_DETACH);
}

}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunCommand(const std::vector<std::string>& command, const SpawnOptions& options) {
  std::vector<std::string> argv = options.wrapper;
  argv.insert(argv.end(), command.begin(), command.end());
  int in[2], out[2], err[2];
  EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  for (size_t i = 0; i < options.extra_fds.size(); ++i)
    posix_spawn_file_actions_adddup2(&fa, options.extra_fds[i], static_cast<int>(3 + i));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.push_back(*e);
  for (const auto& e : options.env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  int r = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  CommandResult result;
  if (r != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    result.err = "posix_spawn failed";
    return result;
  }
  if (!options.stdin_data.empty())
    (void)!::write(in[1], options.stdin_data.data(), options.stdin_data.size());
  ::close(in[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  // A container started by create/run -d keeps our pipes open: stop reading
  // when berth itself exits, then take what is already there.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool out_open = true, err_open = true, exited = false;
  auto drain = [&](int fd, std::string& into, bool& open) {
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) into.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EAGAIN) open = false;
  };
  while ((out_open || err_open) && !exited) {
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0},
                     {pidfd, POLLIN, 0}};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0 || ::poll(fds, 3, left) == 0) {
      ::kill(pid, SIGKILL);
      result.err += "\n[harness: timed out]";
      break;
    }
    if (fds[0].revents) drain(out[0], result.out, out_open);
    if (fds[1].revents) drain(err[0], result.err, err_open);
    if (fds[2].revents) exited = true;
  }
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  for (auto [fd, into] : {std::pair{out[0], &result.out}, std::pair{err[0], &result.err}}) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) into->append(buf, static_cast<size_t>(n));
  }
  ::close(pidfd);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string& SharedRootfsPath() {
  static std::string path;
  return path;
}

const std::string& SharedRootfs() {
  std::string& rootfs = SharedRootfsPath();
  if (rootfs.empty()) {
    char tmpl[] = "/tmp/berth-rootfs-XXXXXX";
    rootfs = ::mkdtemp(tmpl);
    ::chmod(rootfs.c_str(), 0755);
    auto r = RunCommand({BERTH_SOURCE_DIR "/scripts/make-rootfs.sh", rootfs});
    if (r.status != 0) ADD_FAILURE() << "make-rootfs.sh: " << r.err;
    std::atexit([] { RemoveAll(SharedRootfsPath()); });
  }
  return rootfs;
}

void BerthTest::SetUp() {
  char tmpl[] = "/tmp/berth-it-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  ::chmod(dir_.c_str(), 0755);
  root_ = dir_ + "/state";
  (void)SharedRootfs();
}

void BerthTest::TearDown() {
  // Whatever the test did, its containers go: processes, cgroups, state.
  for (const auto& id : ids_) {
    auto st = RunCommand({BERTH_BINARY, "--root", root_, "state", id});
    if (st.status == 0) RunCommand({BERTH_BINARY, "--root", root_, "delete", "--force", id});
    for (const auto& [binary, root] : peer_roots_)
      RunCommand({binary, "--root", root, "delete", "--force", id});
  }
  UnmountUnder(dir_);
  RemoveAll(dir_);
  for (const auto& id : ids_) {
    for (const auto& d : CgroupDirsNamed(id)) {
      ADD_FAILURE() << "cgroup left behind: " << d;
      ::rmdir(d.c_str());
    }
  }
}

std::vector<Runtime> SideBySideRuntimes() {
  std::vector<Runtime> runtimes = {{"berth", BERTH_BINARY}};
  for (Runtime peer : {Runtime{"runc-1.4", "/opt/berth-deps/bin/runc"},
                       Runtime{"runc-1.1", "/usr/sbin/runc"}}) {
    if (::access(peer.binary.c_str(), X_OK) == 0) {
      runtimes.push_back(peer);
    } else {
      ADD_FAILURE() << peer.binary << " is missing: scripts/install-deps.sh installs it";
    }
  }
  return runtimes;
}

CommandResult BerthTest::RunWith(const Runtime& rt, const std::vector<std::string>& args,
                                 const SpawnOptions& options) {
  if (rt.binary == BERTH_BINARY) return Berth(args, options);
  std::string root = dir_ + "/state-" + rt.name;
  std::pair<std::string, std::string> used{rt.binary, root};
  if (std::find(peer_roots_.begin(), peer_roots_.end(), used) == peer_roots_.end())
    peer_roots_.push_back(used);
  std::vector<std::string> argv = {rt.binary, "--root", root};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, options);
}

CommandResult BerthTest::Berth(const std::vector<std::string>& args, const SpawnOptions& options) {
  std::vector<std::string> argv = {BERTH_BINARY, "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, options);
}

std::string BerthTest::NewId() {
  std::string id = "berth-it-" + std::to_string(::getpid()) + "-" + std::to_string(++g_counter);
  ids_.push_back(id);
  return id;
}

std::string BerthTest::MakeBundle(const std::vector<std::string>& args,
                                  const std::function<void(nlohmann::json&)>& edit) {
  std::string bundle = dir_ + "/bundle-" + std::to_string(++g_counter);
  ::mkdir(bundle.c_str(), 0755);
  nlohmann::json spec = nlohmann::json::parse(oci::DefaultSpecJson(false));
  spec["process"]["terminal"] = false;
  spec["process"]["args"] = args;
  spec["root"]["path"] = SharedRootfs();
  spec["root"]["readonly"] = true;
  spec["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                            {"options", {"nosuid", "nodev", "mode=1777"}}});
  if (edit) edit(spec);
  std::ofstream(bundle + "/config.json") << spec.dump(2);
  return bundle;
}

nlohmann::json BerthTest::State(const std::string& id) {
  auto r = Berth({"state", id});
  if (r.status != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

bool BerthTest::WaitForStatus(const std::string& id, const std::string& status, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    auto s = State(id);
    if (s.is_object() && s.value("status", "") == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool ProcessExists(pid_t pid) {
  std::string stat = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && stat[close + 2] != 'Z';
}

std::vector<std::string> CgroupDirsNamed(const std::string& name) {
  std::vector<std::string> found;
  DIR* root = ::opendir("/sys/fs/cgroup");
  if (!root) return found;
  while (dirent* e = ::readdir(root)) {
    std::string h = e->d_name;
    if (h[0] == '.') continue;
    std::string candidate = "/sys/fs/cgroup/" + h + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) found.push_back(candidate);
  }
  ::closedir(root);
  struct stat st;
  std::string v2 = "/sys/fs/cgroup/" + name;
  if (::stat(v2.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) found.push_back(v2);
  return found;
}

ConsoleSocket::ConsoleSocket(const std::string& path) {
  listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
  EXPECT_EQ(::listen(listener_, 1), 0);
  reader_ = std::thread([this] {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0 || !(p.revents & POLLIN)) return;
    int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    auto master = linux::ReceiveFd(conn);
    ::close(conn);
    if (!master) return;
    char buf[512];
    for (;;) {
      pollfd q{master->get(), POLLIN, 0};
      if (::poll(&q, 1, 5000) <= 0) break;
      ssize_t n = ::read(master->get(), buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<size_t>(n));
    }
  });
}

std::string ConsoleSocket::Finish() {
  if (reader_.joinable()) {
    ::shutdown(listener_, SHUT_RDWR);
    reader_.join();
  }
  if (listener_ >= 0) ::close(std::exchange(listener_, -1));
  return output_;
}

ConsoleSocket::~ConsoleSocket() { Finish(); }

}  // namespace berth::testing
