// The build-time generated containerd messages (berth_proto, lite runtime) link,
// round-trip, and carry the type names containerd puts in Any.type_url.
#include <gtest/gtest.h>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "github.com/containerd/containerd/pkg/runtimeoptions/v1/api.pb.h"
#include "github.com/containerd/containerd/runtime/linux/runctypes/runc.pb.h"
#include "github.com/containerd/containerd/runtime/v1/shim/v1/shim.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "google/rpc/status.pb.h"

namespace {

TEST(Proto, TypeNamesMatchContainerdTypeUrls) {
  EXPECT_EQ(containerd::runc::v1::Options().GetTypeName(), "containerd.runc.v1.Options");
  EXPECT_EQ(containerd::linux::runc::CreateOptions().GetTypeName(), "containerd.linux.runc.CreateOptions");
  EXPECT_EQ(runtimeoptions::v1::Options().GetTypeName(), "runtimeoptions.v1.Options");
  EXPECT_EQ(io::containerd::cgroups::v1::Metrics().GetTypeName(), "io.containerd.cgroups.v1.Metrics");
  EXPECT_EQ(containerd::events::TaskExit().GetTypeName(), "containerd.events.TaskExit");
  EXPECT_EQ(containerd::task::v2::CreateTaskRequest().GetTypeName(), "containerd.task.v2.CreateTaskRequest");
  EXPECT_EQ(containerd::runtime::linux::shim::v1::CreateTaskRequest().GetTypeName(),
            "containerd.runtime.linux.shim.v1.CreateTaskRequest");
  EXPECT_EQ(google::rpc::Status().GetTypeName(), "google.rpc.Status");
}

TEST(Proto, CreateTaskRequestWithRuncOptionsRoundTrips) {
  containerd::runc::v1::Options runc_options;
  runc_options.set_binary_name("berth");
  runc_options.set_systemd_cgroup(true);

  containerd::task::v2::CreateTaskRequest request;
  request.set_id("c1");
  request.set_bundle("/run/containerd/io.containerd.runtime.v2.task/default/c1");
  auto* mount = request.add_rootfs();
  mount->set_type("overlay");
  mount->add_options("lowerdir=/a");
  request.mutable_options()->set_type_url("containerd.runc.v1.Options");
  request.mutable_options()->set_value(runc_options.SerializeAsString());

  containerd::task::v2::CreateTaskRequest back;
  ASSERT_TRUE(back.ParseFromString(request.SerializeAsString()));
  EXPECT_EQ(back.id(), "c1");
  ASSERT_EQ(back.rootfs_size(), 1);
  EXPECT_EQ(back.rootfs(0).options(0), "lowerdir=/a");
  containerd::runc::v1::Options options_back;
  ASSERT_TRUE(options_back.ParseFromString(back.options().value()));
  EXPECT_EQ(options_back.binary_name(), "berth");
  EXPECT_TRUE(options_back.systemd_cgroup());
}

TEST(Proto, ForwardRequestCarriesATaskExit) {
  containerd::events::TaskExit exit;
  exit.set_container_id("c1");
  exit.set_exit_status(137);
  // Go's zero time, which containerd's non-nullable stdtime fields decode to.
  exit.mutable_exited_at()->set_seconds(-62135596800);

  containerd::services::events::ttrpc::v1::ForwardRequest forward;
  auto* envelope = forward.mutable_envelope();
  envelope->set_namespace_("default");
  envelope->set_topic("/tasks/exit");
  envelope->mutable_event()->set_type_url(exit.GetTypeName());
  envelope->mutable_event()->set_value(exit.SerializeAsString());

  containerd::services::events::ttrpc::v1::ForwardRequest back;
  ASSERT_TRUE(back.ParseFromString(forward.SerializeAsString()));
  EXPECT_EQ(back.envelope().namespace_(), "default");
  containerd::events::TaskExit exit_back;
  ASSERT_TRUE(exit_back.ParseFromString(back.envelope().event().value()));
  EXPECT_EQ(exit_back.exit_status(), 137u);
  EXPECT_EQ(exit_back.exited_at().seconds(), -62135596800);
}

TEST(Proto, TaskStatusEnum) {
  containerd::task::v2::StateResponse state;
  state.set_status(containerd::v1::types::RUNNING);
  containerd::task::v2::StateResponse back;
  ASSERT_TRUE(back.ParseFromString(state.SerializeAsString()));
  EXPECT_EQ(back.status(), containerd::v1::types::RUNNING);
}

TEST(Proto, CgroupMetrics) {
  io::containerd::cgroups::v1::Metrics metrics;
  metrics.mutable_memory()->set_cache(1);
  metrics.mutable_memory()->mutable_usage()->set_limit(4096);
  io::containerd::cgroups::v1::Metrics back;
  ASSERT_TRUE(back.ParseFromString(metrics.SerializeAsString()));
  EXPECT_EQ(back.memory().usage().limit(), 4096u);
}

}  // namespace
