#include "shim/exec_publisher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/any.pb.h>

#include "linux/process.h"
#include "linux/spawn.h"
#include "shim/log.h"


namespace berth::shim {
namespace {

using namespace std::chrono_literals;

constexpr auto kPublishTimeout = 30s;
constexpr int kMaxRejections = 5;
constexpr size_t kMaxErrorText = 4096;

struct Pipe {
  linux::UniqueFd r, w;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return ErrnoError("pipe2");
  return Pipe{linux::UniqueFd(fds[0]), linux::UniqueFd(fds[1])};
}

// `containerd publish` failing to reach containerd (gone, restarting, its socket not
// there yet) is not a verdict on the event: such failures are retried without limit.
bool CouldNotConnect(const std::string& why) {
  for (const char* text : {"failed to dial", "connection refused", "no such file or directory",
                           "Unavailable", "DeadlineExceeded", "deadline exceeded", "killed"})
    if (why.find(text) != std::string::npos) return true;
  return false;
}

std::string ReadAvailable(int fd) {
  std::string out;
  char buf[1024];
  while (out.size() < kMaxErrorText) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

ExecPublisher::ExecPublisher(ttrpc::EventLoop& loop, ExecPublisherConfig config)
    : loop_(loop), config_(std::move(config)), flush_(loop) {}

ExecPublisher::~ExecPublisher() {
  *alive_ = false;
  if (child_watch_) loop_.Unwatch(child_watch_);
  if (child_timer_) loop_.CancelTimer(child_timer_);
  // A publish in flight finishes on its own; it is no longer ours to wait for.
}

void ExecPublisher::Publish(std::string topic, const google::protobuf::MessageLite& event) {
  if (!config_.topics.empty() && !config_.topics.count(topic)) {
    LogDebug("event " + topic + " is containerd's to publish");
    return;
  }
  google::protobuf::Any any;
  // The bare message name, as containerd's typeurl registers its events.
  any.set_type_url(event.GetTypeName());
  any.set_value(event.SerializeAsString());
  LogDebug("publish " + topic);
  queue_.push_back(Event{std::move(topic), any.SerializeAsString()});
  if (!child_pid_ && !retry_scheduled_) SpawnHead();
}

void ExecPublisher::Flush(std::chrono::milliseconds timeout, std::function<void()> done) {
  if (queue_.empty()) return done();
  flush_.Add(timeout, [this] { return queue_.size(); }, std::move(done));
}

void ExecPublisher::CheckFlushed() {
  if (queue_.empty()) flush_.Release();
}

void ExecPublisher::SpawnHead() {
  if (queue_.empty() || child_pid_) return;
  if (auto spawned = Spawn(queue_.front()); !spawned) {
    LogWarning("publish " + queue_.front().topic + ": " + spawned.error().message);
    RetryLater();
  }
}

Result<void> ExecPublisher::Spawn(const Event& event) {
  Pipe in = BERTH_TRY(MakePipe());
  Pipe err = BERTH_TRY(MakePipe());
  // The whole event goes into the pipe before the process starts: an event is far
  // smaller than a pipe, and the loop never blocks on the child.
  if (event.any.size() > 65536) ::fcntl(in.w.get(), F_SETPIPE_SZ, static_cast<int>(event.any.size()));
  if (::write(in.w.get(), event.any.data(), event.any.size()) != static_cast<ssize_t>(event.any.size()))
    return ErrnoError("write the event to the publisher's stdin");
  in.w.reset();
  if (::fcntl(err.r.get(), F_SETFL, O_NONBLOCK) < 0) return ErrnoError("fcntl");

  std::vector<std::string> args{config_.binary, "--address", config_.address, "publish",
                                "--topic",      event.topic,  "--namespace",  config_.ns};
  // The daemon blocks SIGCHLD/SIGTERM/SIGINT for its signalfd; Spawn resets them.
  auto [pid, pidfd] = BERTH_TRY(linux::Spawn({.path = config_.binary,
                                              .args = args,
                                              .search_path = true,
                                              .fds = {{0, in.r.get()}, {1, -1, O_WRONLY}, {2, err.w.get()}}}));
  std::weak_ptr<bool> alive = alive_;
  auto watched = loop_.Watch(pidfd.get(), EPOLLIN, [this, alive](uint32_t) {
    if (!alive.expired()) OnChildExit();
  });
  if (!watched) {
    (void)linux::PidfdSendSignal(pidfd.get(), SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Fail(std::move(watched.error()));
  }
  child_pid_ = pid;
  child_pidfd_ = std::move(pidfd);
  child_stderr_ = std::move(err.r);
  child_watch_ = *watched;
  child_timer_ = loop_.RunAfter(kPublishTimeout, [this, alive] {
    if (alive.expired()) return;
    child_timer_ = 0;
    if (child_pidfd_) (void)linux::PidfdSendSignal(child_pidfd_.get(), SIGKILL);
  });
  return {};
}

void ExecPublisher::OnChildExit() {
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PIDFD, static_cast<id_t>(child_pidfd_.get()), &info, WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return;  // not yet
  std::string why = ReadAvailable(child_stderr_.get());
  if (r < 0) why = "wait for the publisher: " + std::string(std::strerror(errno));
  else if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
    why = "publisher killed by signal " + std::to_string(info.si_status) + (why.empty() ? "" : ": " + why);
  bool ok = r == 0 && info.si_code == CLD_EXITED && info.si_status == 0;
  loop_.Unwatch(child_watch_);
  child_watch_ = 0;
  if (child_timer_) loop_.CancelTimer(child_timer_);
  child_timer_ = 0;
  child_pidfd_.reset();
  child_stderr_.reset();
  child_pid_ = 0;
  Finish(ok, why);
}

void ExecPublisher::Finish(bool ok, const std::string& why) {
  Event& head = queue_.front();
  if (ok) {
    LogDebug("delivered " + head.topic);
    queue_.pop_front();
    ++delivered_;
    backoff_.Reset();
    CheckFlushed();
    return SpawnHead();
  }
  if (CouldNotConnect(why)) {
    LogWarning("post event " + head.topic + ": " + why + " (will retry)");
  } else if (++head.rejections >= kMaxRejections) {
    LogError("post event " + head.topic + ": " + why + " (dropped)");
    queue_.pop_front();
    CheckFlushed();
    return SpawnHead();
  } else {
    LogWarning("post event " + head.topic + ": " + why + " (will retry)");
  }
  RetryLater();
}

void ExecPublisher::RetryLater() {
  if (retry_scheduled_) return;
  retry_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.RunAfter(backoff_.Next(), [this, alive] {
    if (alive.expired()) return;
    retry_scheduled_ = false;
    SpawnHead();
  });
}

}  // namespace berth::shim
