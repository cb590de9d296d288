// PlanSelfJoin: the cgroup fds the first process writes to must never sit among the
// fds it passes on (3 .. 3+preserve_fds-1), where closing them would close a
// preserved one.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "container/launch.h"

namespace berth::container {
namespace {

TEST(PlanSelfJoin, FdsGoAboveThePreservedOnesAndKeepTheirDirectories) {
  InitPlan plan;
  plan.preserve_fds = 20;  // 3 .. 22
  cgroup::SelfJoin join;
  join.unified_dir.reset(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < 3; ++i) join.v1_tasks.emplace_back(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  join.v1_dirs = {"/a", "/b", "/c"};
  ASSERT_LT(join.v1_tasks[0].get(), 23) << "the test wants a low fd to start with";
  ASSERT_TRUE(PlanSelfJoin(plan, join));
  EXPECT_GE(plan.cgroup_dir_fd, 23);
  EXPECT_EQ(plan.cgroup_dir_fd, join.unified_dir.get());
  ASSERT_EQ(plan.cgroup_tasks_fds.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GE(plan.cgroup_tasks_fds[i], 23);
    EXPECT_EQ(plan.cgroup_tasks_fds[i], join.v1_tasks[i].get());
    EXPECT_EQ(::fcntl(plan.cgroup_tasks_fds[i], F_GETFD), FD_CLOEXEC);
  }
  EXPECT_EQ(plan.cgroup_tasks_dirs, join.v1_dirs);
}

TEST(PlanSelfJoin, NothingToJoinLeavesThePlanAlone) {
  InitPlan plan;
  cgroup::SelfJoin join;
  ASSERT_TRUE(PlanSelfJoin(plan, join));
  EXPECT_EQ(plan.cgroup_dir_fd, -1);
  EXPECT_TRUE(plan.cgroup_tasks_fds.empty());
}

}  // namespace
}  // namespace berth::container
