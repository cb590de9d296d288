// The Task API of containerd-shim-berth-v2 against what containerd's runc shim answers:
// the same requests go to both shims (when containerd-shim-runc-v2 and runc are
// installed), and the error codes must agree. Events go to a fake containerd events
// service, so their order is checked exactly, without a containerd in between.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <thread>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/linux/runctypes/runc.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "tests/shim/shim_fixture.h"
#include "ttrpc/frame.h"

namespace berth::shimtest {
namespace {

using namespace std::chrono_literals;

TEST_P(ShimApiTest, UnknownTaskIdIsNotFound) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  for (const char* method : {"State", "Start", "Delete", "Wait", "Pids", "Pause", "Resume"}) {
    ttrpc::Status s;
    std::string m = method;
    if (m == "State") s = Call(*shim, m, StateReq("no-such-task"));
    if (m == "Start") s = Call(*shim, m, WithId<task::StartRequest>("no-such-task"));
    if (m == "Delete") s = Call(*shim, m, WithId<task::DeleteRequest>("no-such-task"));
    if (m == "Wait") s = Call(*shim, m, WithId<task::WaitRequest>("no-such-task"));
    if (m == "Pids") s = Call(*shim, m, WithId<task::PidsRequest>("no-such-task"));
    if (m == "Pause") s = Call(*shim, m, WithId<task::PauseRequest>("no-such-task"));
    if (m == "Resume") s = Call(*shim, m, WithId<task::ResumeRequest>("no-such-task"));
    EXPECT_EQ(s.code, 5) << method << ": " << s.ToString();
    EXPECT_NE(s.message.find("not found"), std::string::npos) << s.message;
  }
  // An unknown exec of a known task: NotFound too.
  EXPECT_EQ(Call(*shim, "State", StateReq(id, "no-such-exec")).code, 5);
  EXPECT_EQ(Call(*shim, "Start", WithId<task::StartRequest>(id, "no-such-exec")).code, 5);
}

TEST_P(ShimApiTest, MalformedInputIsAnErrorAndTheShimKeepsServing) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  // A payload that is not the method's message: 13, as ttrpc-go answers it.
  auto bad = shim->CallRaw(kTaskService, "State", std::string("\xff\xff\xff", 3));
  EXPECT_EQ(bad.status.code, 13) << bad.status.ToString();
  // Unknown method and service: 12.
  EXPECT_EQ(shim->CallRaw(kTaskService, "Frobnicate", "").status.code, 12);
  EXPECT_EQ(shim->CallRaw("containerd.task.v9.Nope", "State", "").status.code, 12);
  // Garbage on a second connection: a frame whose Request does not decode (code 3),
  // then bytes that are no frame at all.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = shim->socket_path();
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  char header[10];
  ttrpc::EncodeFrameHeader({.length = 3, .stream_id = 1, .type = 1, .flags = 0}, header);
  std::string frame(header, sizeof header);
  frame += std::string("\x0a\x10z", 3);  // a field announcing 16 bytes, 1 there
  ASSERT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  char reply[512];
  ssize_t n = ::read(fd, reply, sizeof reply);
  ASSERT_GT(n, 10);
  std::string body(reply + 10, static_cast<size_t>(n - 10));
  EXPECT_NE(body.find("unmarshal request error"), std::string::npos) << body;
  std::string junk(64, '\x7f');
  (void)!::write(fd, junk.data(), junk.size());
  ::close(fd);
  // Still serving, and the task is intact.
  task::StateResponse st;
  ttrpc::Status s = shim->Call("State", StateReq(id), st);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(st.status(), containerd::v1::types::CREATED);
}

TEST_P(ShimApiTest, WrongStateGivesTheRuncShimsErrors) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  // Created: no pause, no resume.
  EXPECT_EQ(Call(*shim, "Pause", WithId<task::PauseRequest>(id)).code, 2);
  EXPECT_EQ(Call(*shim, "Resume", WithId<task::ResumeRequest>(id)).code, 2);
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  // Running: no second start, no delete, no resume.
  ttrpc::Status again = Call(*shim, "Start", WithId<task::StartRequest>(id));
  EXPECT_EQ(again.code, 2) << again.ToString();
  ttrpc::Status del = Call(*shim, "Delete", WithId<task::DeleteRequest>(id));
  EXPECT_EQ(del.code, 2) << del.ToString();
  EXPECT_EQ(del.message, "cannot delete a running process");
  EXPECT_EQ(Call(*shim, "Resume", WithId<task::ResumeRequest>(id)).code, 2);
  // An exec id twice: AlreadyExists. Killing an exec not started: FailedPrecondition.
  task::ExecProcessRequest exec;
  exec.set_id(id);
  exec.set_exec_id("e1");
  exec.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  exec.mutable_spec()->set_value(R"({"args":["true"],"cwd":"/","env":["PATH=/bin"]})");
  EXPECT_TRUE(Call(*shim, "Exec", exec).ok());
  EXPECT_EQ(Call(*shim, "Exec", exec).code, 6);
  task::KillRequest kill = WithId<task::KillRequest>(id, "e1");
  kill.set_signal(SIGKILL);
  EXPECT_EQ(Call(*shim, "Kill", kill).code, 9);
  // Paused: no second pause, no exec.
  ASSERT_TRUE(Call(*shim, "Pause", WithId<task::PauseRequest>(id)).ok());
  EXPECT_EQ(Call(*shim, "Pause", WithId<task::PauseRequest>(id)).code, 2);
  exec.set_exec_id("e2");
  EXPECT_EQ(Call(*shim, "Exec", exec).code, 2);
  ASSERT_TRUE(Call(*shim, "Resume", WithId<task::ResumeRequest>(id)).ok());
  // Stopped: killing again is NotFound ("process already finished").
  kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call(*shim, "Kill", kill).ok());
  task::WaitResponse waited;
  ASSERT_TRUE(shim->Call("Wait", WithId<task::WaitRequest>(id), waited).ok());
  EXPECT_EQ(waited.exit_status(), 137u);
  EXPECT_EQ(Call(*shim, "Kill", kill).code, 5);
  EXPECT_EQ(Call(*shim, "Pause", WithId<task::PauseRequest>(id)).code, 2);
  task::DeleteResponse deleted;
  ASSERT_TRUE(shim->Call("Delete", WithId<task::DeleteRequest>(id), deleted).ok());
  EXPECT_EQ(deleted.exit_status(), 137u);
  EXPECT_EQ(Call(*shim, "State", StateReq(id)).code, 5);
}

// SIGKILL to a paused task: the shim thaws it (as runc 1.4 does for runc-v2), so the
// kill is taken and the task stops, instead of waiting for a Resume (v1's freezer).
TEST_P(ShimApiTest, APausedTaskKilledWithSigkillStops) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  ASSERT_TRUE(Call(*shim, "Pause", WithId<task::PauseRequest>(id)).ok());
  task::KillRequest kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call(*shim, "Kill", kill).ok());
  task::StateResponse st;
  for (int i = 0; i < 250; ++i) {
    ASSERT_TRUE(shim->Call("State", StateReq(id), st).ok());
    if (st.status() == containerd::v1::types::STOPPED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(st.status(), containerd::v1::types::STOPPED) << "status " << st.status();
  EXPECT_EQ(st.exit_status(), 137u);
}

TEST_P(ShimApiTest, EventsCarryTheNamespaceAndComeInOrder) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  task::KillRequest kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call(*shim, "Kill", kill).ok());
  ASSERT_TRUE(Call(*shim, "Wait", WithId<task::WaitRequest>(id)).ok());
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id).ends_with("delete[137]"); }));
  auto events = events_->Events();
  EXPECT_EQ(Sequence(events, id), "create start exit[137] delete[137]");
  for (const auto& e : events) {
    EXPECT_EQ(e.metadata_ns, ns_);
    EXPECT_EQ(e.namespace_, ns_);
    EXPECT_TRUE(e.type_url.starts_with("containerd.events.")) << e.type_url;
  }
}

TEST_P(ShimApiTest, InstantExitsAreNeverPublishedBeforeTheirStart) {
  const int kContainers = 8, kExecs = 40;
  auto [shim, sleeper] = CreatedSleeper();
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(sleeper)).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < kContainers; ++i) {
    std::string id = NewId();
    ASSERT_TRUE(Create(*shim, id, Bundle(id, {"true"})).ok());
    ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
    ids.push_back(id);
  }
  task::ExecProcessRequest exec;
  exec.set_id(sleeper);
  exec.mutable_spec()->set_value(R"({"args":["true"],"cwd":"/","env":["PATH=/bin"]})");
  for (int i = 0; i < kExecs; ++i) {
    exec.set_exec_id("x" + std::to_string(i));
    ASSERT_TRUE(Call(*shim, "Exec", exec).ok());
    ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(sleeper, exec.exec_id())).ok());
  }
  for (const auto& id : ids) {
    ASSERT_TRUE(Call(*shim, "Wait", WithId<task::WaitRequest>(id)).ok());
    ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  }
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) {
    size_t exits = 0, deletes = 0;
    for (const auto& e : ev) {
      exits += e.topic == "/tasks/exit" && e.container_id == sleeper;
      deletes += e.topic == "/tasks/delete";
    }
    return exits == static_cast<size_t>(kExecs) && deletes == ids.size();
  }));
  auto events = events_->Events();
  for (const auto& id : ids) EXPECT_EQ(Sequence(events, id), "create start exit[0] delete[0]");
  for (int i = 0; i < kExecs; ++i) {
    std::string x = "x" + std::to_string(i);
    std::string expected = "exec-added(" + x + ") exec-started(" + x + ") exit(" + x + ")[0]";
    std::string seq;
    for (const auto& e : events)
      if (e.container_id == sleeper && e.process_id == x) seq += (seq.empty() ? "" : " ") + e.topic;
    EXPECT_EQ(seq, "/tasks/exec-added /tasks/exec-started /tasks/exit") << x;
  }
}

TEST_P(ShimApiTest, StatsPidsAndUpdate) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  task::StartResponse started;
  ASSERT_TRUE(shim->Call("Start", WithId<task::StartRequest>(id), started).ok());
  task::StatsResponse stats;
  ttrpc::Status s = shim->Call("Stats", WithId<task::StatsRequest>(id), stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(stats.stats().type_url(), "io.containerd.cgroups.v1.Metrics");
  io::containerd::cgroups::v1::Metrics metrics;
  ASSERT_TRUE(metrics.ParseFromString(stats.stats().value()));
  EXPECT_GT(metrics.memory().usage().usage(), 0u);
  EXPECT_GE(metrics.pids().current(), 1u);
  task::PidsResponse pids;
  ASSERT_TRUE(shim->Call("Pids", WithId<task::PidsRequest>(id), pids).ok());
  // runc's shim may still count runc's own helpers right after start; berth has none.
  if (is_berth()) {
    EXPECT_EQ(metrics.pids().current(), 1u);
    EXPECT_EQ(pids.processes_size(), 1);
  }
  bool found = false;
  for (const auto& p : pids.processes()) found |= p.pid() == started.pid();
  EXPECT_TRUE(found) << "the init is not among the pids";
  task::UpdateTaskRequest update;
  update.set_id(id);
  update.mutable_resources()->set_value(R"({"memory":{"limit":67108864}})");
  s = Call(*shim, "Update", update);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto dirs = testing::CgroupDirsNamed(id);
  bool checked = false;
  for (const auto& d : dirs) {
    std::string limit = testing::ReadFileOrEmpty(d + "/memory.limit_in_bytes");
    if (limit.empty()) limit = testing::ReadFileOrEmpty(d + "/memory.max");
    if (limit.empty()) continue;
    EXPECT_EQ(std::stoull(limit), 67108864u) << d;
    checked = true;
  }
  EXPECT_TRUE(checked) << "no memory cgroup found for " << id;
}

// containerd sends the container's whole linux.resources on every update, device
// rules included: they must not be applied again (issue 17 point 3: the shim once
// wrote them straight to the cgroup, and a deny-all here emptied the allow list).
TEST_P(ShimApiTest, UpdateLeavesDeviceRulesAlone) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  task::StartResponse started;
  ASSERT_TRUE(shim->Call("Start", WithId<task::StartRequest>(id), started).ok());
  std::string list;
  for (const auto& d : testing::CgroupDirsNamed(id))
    if (d.find("/devices/") != std::string::npos) list = d + "/devices.list";
  if (list.empty()) GTEST_SKIP() << "no v1 devices hierarchy: the device rules are a BPF program";
  std::string before = testing::ReadFileOrEmpty(list);
  ASSERT_NE(before.find("c 1:3 rwm"), std::string::npos) << "/dev/null is not allowed: " << before;
  task::UpdateTaskRequest update;
  update.set_id(id);
  update.mutable_resources()->set_value(
      R"({"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":67108864}})");
  ttrpc::Status s = Call(*shim, "Update", update);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::ReadFileOrEmpty(list), before);
}

TEST_P(ShimApiTest, ShutdownWaitsForTheLastTask) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Call(*shim, "Shutdown", WithId<task::ShutdownRequest>(id)).ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(ProcessAlive(shim->pid())) << "a shim with a task must stay";
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  (void)Call(*shim, "Shutdown", WithId<task::ShutdownRequest>(id));
  for (int i = 0; i < 100 && ProcessAlive(shim->pid()); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(ProcessAlive(shim->pid())) << "an empty shim must exit on Shutdown";
  EXPECT_NE(::access(shim->socket_path().c_str(), F_OK), 0) << "socket left behind";
}

TEST_P(ShimApiTest, DeleteActionCleansUpAfterAKilledShim) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  task::StartResponse started;
  ASSERT_TRUE(shim->Call("Start", WithId<task::StartRequest>(id), started).ok());
  ::kill(shim->pid(), SIGKILL);
  std::string bundle;
  for (const auto& [i, b] : bundles_)
    if (i == id) bundle = b;
  std::string out = ShimProcess::RunDelete(binary(), ns_, id, bundle);
  task::DeleteResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out)) << "delete printed: " << out;
  EXPECT_EQ(resp.pid(), started.pid());
  EXPECT_EQ(resp.exit_status(), 137u);
  EXPECT_GT(resp.exited_at().seconds(), 1600000000);
  for (int i = 0; i < 100 && ProcessAlive(static_cast<pid_t>(started.pid())); ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(ProcessAlive(static_cast<pid_t>(started.pid())));
  EXPECT_TRUE(testing::CgroupDirsNamed(id).empty());
}

// containerd's client sends containerd.linux.runc.CreateOptions to every runtime not
// named io.containerd.runc.*; runc's shim cannot decode it, berth's must.
TEST_P(ShimApiTest, TaskOptionTypes) {
  if (!is_berth()) GTEST_SKIP() << "runc's shim rejects CreateOptions (type not registered)";
  std::string id = NewId();
  std::string bundle = Bundle(id, {"true"});
  ShimProcess* shim = StartShim(id, bundle);
  ASSERT_TRUE(shim);
  containerd::linux::runc::CreateOptions co;
  co.set_no_new_keyring(true);
  google::protobuf::Any any;
  any.set_type_url("containerd.linux.runc.CreateOptions");
  any.set_value(co.SerializeAsString());
  // Unknown types fail as runc's shim fails them.
  google::protobuf::Any unknown;
  unknown.set_type_url("example.com/Unknown");
  ttrpc::Status s = Create(*shim, id, bundle, unknown.SerializeAsString());
  EXPECT_EQ(s.code, 2);
  EXPECT_NE(s.message.find("type with url example.com/Unknown: not found"), std::string::npos) << s.message;
  s = Create(*shim, id, bundle, any.SerializeAsString());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
}

// CVE-2019-5736: the daemon clones every container process, so its executable must
// be a copy no container can write: a read-only overlayfs or a write-sealed memfd.
TEST_P(ShimApiTest, DaemonRunsFromASealedBinary) {
  if (!is_berth()) GTEST_SKIP() << "runc's shim execs runc, which seals itself";
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  std::string exe = "/proc/" + std::to_string(shim->pid()) + "/exe";
  int fd = ::open(exe.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << exe;
  int seals = ::fcntl(fd, F_GET_SEALS);
  struct statfs fs {};
  struct statvfs vfs {};
  bool sealed = (seals >= 0 && (seals & F_SEAL_WRITE)) ||
                (::fstatfs(fd, &fs) == 0 && fs.f_type == 0x794c7630 /* overlayfs */ &&
                 ::fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY));
  ::close(fd);
  EXPECT_TRUE(sealed) << exe << " is the writable installed binary";
  EXPECT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
}

// Checkpoint with criu as it is on this machine: whatever criu says, the task is
// still running afterwards and no TaskCheckpointed is published unless it worked.
TEST_P(ShimApiTest, CheckpointFailureLeavesTheTaskRunning) {
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  task::CheckpointTaskRequest ck = WithId<task::CheckpointTaskRequest>(id);
  ck.set_path(dir_ + "/ck-" + id);
  // Not started yet: runc's shim refuses too.
  EXPECT_EQ(Call(*shim, "Checkpoint", ck).code, 2);
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  ttrpc::Status s = Call(*shim, "Checkpoint", ck);
  bool criu_works = ::system("criu check >/dev/null 2>&1") == 0;
  if (criu_works) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  } else {
    EXPECT_EQ(s.code, 2) << s.ToString();
    EXPECT_FALSE(s.message.empty());
    if (is_berth()) EXPECT_NE(s.message.find("criu"), std::string::npos) << s.message;
    task::StateResponse st;
    ASSERT_TRUE(shim->Call("State", StateReq(id), st).ok());
    EXPECT_EQ(st.status(), containerd::v1::types::RUNNING);
    EXPECT_EQ(Sequence(events_->Events(), id), "create start");
  }
  task::KillRequest kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  Call(*shim, "Kill", kill);
  EXPECT_TRUE(Call(*shim, "Wait", WithId<task::WaitRequest>(id)).ok());
  EXPECT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
}

// A dump that works (berth-fake-criu stands in for criu): TaskCheckpointed with the
// path, and with `exit` the task's exit follows through the usual path.
TEST_P(ShimApiTest, CheckpointPublishesCheckpointedThenTheExit) {
  if (!is_berth()) GTEST_SKIP() << "needs berth-fake-criu as the criu binary";
  ::setenv("BERTH_FAKE_CRIU", "dump-ok", 1);
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  containerd::runc::v1::Options o;
  o.set_root(root_);
  o.set_criu_path(BERTH_FAKE_CRIU);
  google::protobuf::Any options;
  options.set_type_url("containerd.runc.v1.Options");
  options.set_value(o.SerializeAsString());
  ShimProcess* shim = StartShim(id, bundle, options.SerializeAsString());
  ::unsetenv("BERTH_FAKE_CRIU");
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Create(*shim, id, bundle, options.SerializeAsString()).ok());
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  // Leave running (no options): the task goes on.
  task::CheckpointTaskRequest ck = WithId<task::CheckpointTaskRequest>(id);
  ck.set_path(dir_ + "/ck1-" + id);
  ASSERT_TRUE(Call(*shim, "Checkpoint", ck).ok());
  task::StateResponse st;
  ASSERT_TRUE(shim->Call("State", StateReq(id), st).ok());
  EXPECT_EQ(st.status(), containerd::v1::types::RUNNING);
  // Unknown option types fail as for Create.
  task::CheckpointTaskRequest bad = ck;
  bad.mutable_options()->set_type_url("example.com/Unknown");
  EXPECT_EQ(Call(*shim, "Checkpoint", bad).code, 2);
  // exit: criu's dump ends the task.
  containerd::runc::v1::CheckpointOptions co;
  co.set_exit(true);
  ck.set_path(dir_ + "/ck2-" + id);
  ck.mutable_options()->set_type_url("containerd.runc.v1.CheckpointOptions");
  ck.mutable_options()->set_value(co.SerializeAsString());
  ASSERT_TRUE(Call(*shim, "Checkpoint", ck).ok());
  ASSERT_TRUE(Call(*shim, "Wait", WithId<task::WaitRequest>(id)).ok());
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id).ends_with("delete[137]"); }));
  EXPECT_EQ(Sequence(events_->Events(), id),
            "create start checkpointed checkpointed exit[137] delete[137]");
  for (const auto& e : events_->Events())
    if (e.container_id == id && e.topic == "/tasks/checkpointed") {
      containerd::events::TaskCheckpointed ev;
      ASSERT_TRUE(ev.ParseFromString(e.value));
      EXPECT_TRUE(ev.checkpoint().starts_with(dir_ + "/ck")) << ev.checkpoint();
    }
}

// containerd away: events wait and arrive later, in order, none lost.
TEST_P(ShimApiTest, EventsWaitForAnAbsentContainerd) {
  if (!is_berth()) GTEST_SKIP() << "runc's shim drops an event after 5 failed tries";
  events_->SetUnavailable(true);
  auto [shim, id] = CreatedSleeper();
  ASSERT_TRUE(shim);
  ASSERT_TRUE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  task::KillRequest kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call(*shim, "Kill", kill).ok());
  ASSERT_TRUE(Call(*shim, "Wait", WithId<task::WaitRequest>(id)).ok());
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  std::this_thread::sleep_for(1500ms);  // several failed tries
  EXPECT_TRUE(events_->Events().empty());
  events_->SetUnavailable(false);
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id).ends_with("delete[137]"); }));
  EXPECT_EQ(Sequence(events_->Events(), id), "create start exit[137] delete[137]");
}

INSTANTIATE_TEST_SUITE_P(Shims, ShimApiTest, ::testing::ValuesIn(Shims()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace berth::shimtest
