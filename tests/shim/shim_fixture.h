// The fixture the shim API tests share: a temporary directory, a fake containerd
// events service, shims started per test (berth's, and containerd 2.3's
// containerd-shim-runc-v2, as the test parameter) and cleaned up whatever the test did.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "tests/integration/harness.h"
#include "tests/shim/shim_harness.h"

namespace berth::shimtest {

namespace task = containerd::task::v2;

// berth's shim and the reference, containerd 2.3's runc-v2 shim with runc 1.4, which
// scripts/install-deps.sh installs: a missing one fails its tests, it is never dropped.
inline std::vector<ShimKind> Shims() {
  return {{"berth", BERTH_SHIM_BINARY},
          {"runc", std::string(kDepsBin) + "/containerd-shim-runc-v2"}};
}

class ShimApiTest : public ::testing::TestWithParam<ShimKind> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-shimtest-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0755);
    root_ = dir_ + "/root";
    ns_ = "shimtest-" + std::to_string(::getpid());
    events_ = std::make_unique<FakeEvents>(loop_, dir_ + "/events.sock");
  }

  void TearDown() override {
    for (const auto& [id, bundle] : bundles_) ShimProcess::RunDelete(binary(), ns_, id, bundle);
    shims_.clear();
    events_.reset();
    for (int fd : log_fds_) ::close(fd);
    testing::RunCommand({"rm", "-rf", "--one-file-system", dir_});
    for (const auto& [id, bundle] : bundles_)
      for (const auto& d : testing::CgroupDirsNamed(id)) {
        ADD_FAILURE() << "cgroup left behind: " << d;
        ::rmdir(d.c_str());
      }
  }

  const std::string& binary() const { return GetParam().binary; }
  bool is_berth() const { return GetParam().name == "berth"; }
  std::string NewId() { return GetParam().name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_); }

  // A bundle for `args`, with the `log` fifo containerd would make (runc's shim blocks
  // until it has a reader).
  std::string Bundle(const std::string& id, const std::vector<std::string>& args,
                     const std::function<void(nlohmann::json&)>& edit = nullptr) {
    std::string bundle = MakeBundle(dir_, id, args, edit);
    ::mkfifo((bundle + "/log").c_str(), 0700);
    log_fds_.push_back(::open((bundle + "/log").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    bundles_.emplace_back(id, bundle);
    return bundle;
  }

  ShimProcess* StartShim(const std::string& id, const std::string& bundle,
                         const std::string& options = "") {
    std::string error;
    auto shim = ShimProcess::Start(loop_, binary(), ns_, id, bundle, dir_ + "/events.sock",
                                   options.empty() ? RuncOptionsAny(root_) : options, &error);
    EXPECT_TRUE(shim) << error;
    if (!shim) return nullptr;
    shims_.push_back(std::move(shim));
    return shims_.back().get();
  }

  ttrpc::Status Create(ShimProcess& shim, const std::string& id, const std::string& bundle,
                       const std::string& options_any = "") {
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle);
    google::protobuf::Any any;
    if (!options_any.empty()) any.ParseFromString(options_any);
    else any.ParseFromString(RuncOptionsAny(root_));
    *req.mutable_options() = any;
    task::CreateTaskResponse resp;
    return shim.Call("Create", req, resp);
  }

  // Create with a request the test filled (stdio, terminal); the options default to
  // the runc Options with the test's root.
  ttrpc::Status Create(ShimProcess& shim, task::CreateTaskRequest req) {
    if (req.options().type_url().empty()) req.mutable_options()->ParseFromString(RuncOptionsAny(root_));
    task::CreateTaskResponse resp;
    return shim.Call("Create", req, resp);
  }

  template <class Req>
  ttrpc::Status Call(ShimProcess& shim, const std::string& method, Req req) {
    google::protobuf::Empty ignored_empty;
    task::StateResponse ignored;
    if (method == "State") return shim.Call(method, req, ignored);
    task::DeleteResponse del;
    if (method == "Delete") return shim.Call(method, req, del);
    task::StartResponse start;
    if (method == "Start") return shim.Call(method, req, start);
    task::WaitResponse wait;
    if (method == "Wait") return shim.Call(method, req, wait);
    task::PidsResponse pids;
    if (method == "Pids") return shim.Call(method, req, pids);
    task::StatsResponse stats;
    if (method == "Stats") return shim.Call(method, req, stats);
    return shim.Call(method, req, ignored_empty);
  }

  // (shim, id) with a created `sleep 1000` task.
  std::pair<ShimProcess*, std::string> CreatedSleeper() {
    std::string id = NewId();
    std::string bundle = Bundle(id, {"sleep", "1000"});
    ShimProcess* shim = StartShim(id, bundle);
    if (!shim) return {nullptr, id};
    ttrpc::Status s = Create(*shim, id, bundle);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return {shim, id};
  }

  LoopThread loop_;
  std::unique_ptr<FakeEvents> events_;
  std::vector<std::unique_ptr<ShimProcess>> shims_;
  std::vector<std::pair<std::string, std::string>> bundles_;
  std::vector<int> log_fds_;
  std::string dir_, root_, ns_;
  int counter_ = 0;
};

inline task::StateRequest StateReq(const std::string& id, const std::string& exec = "") {
  task::StateRequest r;
  r.set_id(id);
  r.set_exec_id(exec);
  return r;
}

template <class R>
R WithId(const std::string& id, const std::string& exec = "") {
  R r;
  r.set_id(id);
  if constexpr (requires { r.set_exec_id(exec); }) r.set_exec_id(exec);
  return r;
}

// The topics of `events` for container `c`, as "create start exit[137] delete[137]".
inline std::string Sequence(const std::vector<RecordedEvent>& events, const std::string& c) {
  std::string out;
  for (const auto& e : events) {
    if (e.container_id != c) continue;
    std::string word = e.topic.substr(e.topic.rfind('/') + 1);
    if (e.process_id != c && !e.process_id.empty()) word += "(" + e.process_id + ")";
    if (word.starts_with("exit") || word == "delete") word += "[" + std::to_string(e.exit_status) + "]";
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

}  // namespace berth::shimtest
