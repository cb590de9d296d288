// A task created from a checkpoint (CreateTaskRequest.checkpoint, what `ctr run
// --checkpoint` sends): as containerd's runc shim, nothing runs until Start, which
// restores it; shim against shim where criu is not needed.
#include <sys/stat.h>

#include <fstream>

#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "tests/shim/shim_fixture.h"

namespace berth::shimtest {
namespace {

class ShimRestoreTest : public ShimApiTest {
 protected:
  // Images as far as berth reads them itself; criu's own files are the fake's business.
  std::string FakeImages(const std::string& id) {
    std::string images = dir_ + "/images-" + id;
    ::mkdir(images.c_str(), 0700);
    std::ofstream(images + "/descriptors.json") << R"(["/dev/null","pipe:[1]","pipe:[2]"])";
    return images;
  }

  // Options naming berth-fake-criu as criu, with the test's root.
  std::string FakeCriuOptions() {
    containerd::runc::v1::Options o;
    o.set_root(root_);
    o.set_criu_path(BERTH_FAKE_CRIU);
    google::protobuf::Any any;
    any.set_type_url("containerd.runc.v1.Options");
    any.set_value(o.SerializeAsString());
    return any.SerializeAsString();
  }

  // A shim whose criu is berth-fake-criu doing `fake_mode`, and a task created in it
  // from a checkpoint; {nullptr, id} on failure.
  std::pair<ShimProcess*, std::string> CreatedFromCheckpoint(const char* fake_mode) {
    ::setenv("BERTH_FAKE_CRIU", fake_mode, 1);
    std::string id = NewId();
    std::string bundle = Bundle(id, {"sleep", "1000"});
    std::string options = FakeCriuOptions();
    ShimProcess* shim = StartShim(id, bundle, options);
    ::unsetenv("BERTH_FAKE_CRIU");
    if (!shim) return {nullptr, id};
    task::CreateTaskResponse created;
    ttrpc::Status s =
        shim->Call("Create", FromCheckpoint(id, bundle, FakeImages(id), options), created);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(created.pid(), 0u);
    return {s.ok() ? shim : nullptr, id};
  }

  task::CreateTaskRequest FromCheckpoint(const std::string& id, const std::string& bundle,
                                         const std::string& images, const std::string& options) {
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle);
    req.set_checkpoint(images);
    req.mutable_options()->ParseFromString(options);
    return req;
  }
};

TEST_P(ShimRestoreTest, NothingRunsBeforeStartAndDeleteNeedsNoProcess) {
  std::string id = NewId();
  std::string bundle = Bundle(id, {"sleep", "1000"});
  ShimProcess* shim = StartShim(id, bundle);
  ASSERT_TRUE(shim);
  std::string options = RuncOptionsAny(root_);
  task::CreateTaskResponse created;
  ASSERT_TRUE(shim->Call("Create", FromCheckpoint(id, bundle, FakeImages(id), options), created).ok());
  EXPECT_EQ(created.pid(), 0u);
  task::StateResponse st;
  ASSERT_TRUE(shim->Call("State", StateReq(id), st).ok());
  EXPECT_EQ(st.status(), containerd::v1::types::CREATED);
  EXPECT_EQ(st.pid(), 0u);
  // No process: no signal can go anywhere (pid 0 would be the shim's process group).
  task::KillRequest kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  EXPECT_FALSE(Call(*shim, "Kill", kill).ok());
  task::DeleteResponse del;
  ASSERT_TRUE(shim->Call("Delete", WithId<task::DeleteRequest>(id), del).ok());
  EXPECT_EQ(del.pid(), 0u);
  EXPECT_EQ(del.exit_status(), 0u);
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id).ends_with("delete[0]"); }));
  EXPECT_EQ(Sequence(events_->Events(), id), "create delete[0]");
  struct stat sb;
  EXPECT_NE(::stat((root_ + "/" + ns_ + "/" + id).c_str(), &sb), 0) << "a container state is left";
}

TEST_P(ShimRestoreTest, StartRestoresTheCheckpoint) {
  if (!is_berth()) GTEST_SKIP() << "needs berth-fake-criu as the criu binary";
  auto [shim, id] = CreatedFromCheckpoint("restore-ok");
  ASSERT_TRUE(shim);
  task::StartResponse started;
  ttrpc::Status s = shim->Call("Start", WithId<task::StartRequest>(id), started);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_GT(started.pid(), 0u);
  task::StateResponse st;
  ASSERT_TRUE(shim->Call("State", StateReq(id), st).ok());
  EXPECT_EQ(st.status(), containerd::v1::types::RUNNING);
  EXPECT_EQ(st.pid(), started.pid());
  // Started once: a second Start is refused as for any running task.
  EXPECT_FALSE(Call(*shim, "Start", WithId<task::StartRequest>(id)).ok());
  // The restored init is the shim's child: killed, reaped, reported.
  task::KillRequest kill = WithId<task::KillRequest>(id);
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call(*shim, "Kill", kill).ok());
  task::WaitResponse waited;
  ASSERT_TRUE(shim->Call("Wait", WithId<task::WaitRequest>(id), waited).ok());
  EXPECT_EQ(waited.exit_status(), 137u);
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id).ends_with("delete[137]"); }));
  EXPECT_EQ(Sequence(events_->Events(), id), "create start exit[137] delete[137]");
}

TEST_P(ShimRestoreTest, FailedRestoreLeavesTheTaskCreated) {
  if (!is_berth()) GTEST_SKIP() << "needs berth-fake-criu as the criu binary";
  auto [shim, id] = CreatedFromCheckpoint("restore-fails");
  ASSERT_TRUE(shim);
  ttrpc::Status s = Call(*shim, "Start", WithId<task::StartRequest>(id));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message.find("OCI runtime restore failed"), std::string::npos) << s.message;
  task::StateResponse st;
  ASSERT_TRUE(shim->Call("State", StateReq(id), st).ok());
  EXPECT_EQ(st.status(), containerd::v1::types::CREATED);
  EXPECT_EQ(st.pid(), 0u);
  ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  ASSERT_TRUE(events_->WaitFor([&](const auto& ev) { return Sequence(ev, id).ends_with("delete[0]"); }));
  EXPECT_EQ(Sequence(events_->Events(), id), "create delete[0]");
}

INSTANTIATE_TEST_SUITE_P(Shims, ShimRestoreTest, ::testing::ValuesIn(Shims()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace berth::shimtest
