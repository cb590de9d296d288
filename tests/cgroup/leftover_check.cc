// The cgroup tests' fixture steps (ctest FIXTURES_SETUP / FIXTURES_CLEANUP):
// Snapshot.Record runs before every cgroup test and saves the v2 root's
// cgroup.subtree_control; the Leftovers tests run after all of them: no cgroup made by
// a test may remain in any hierarchy, and the controllers the tests switched on in the
// v2 root are off again. What is left is removed so that one failure does not poison
// later runs.
#include <linux/magic.h>
#include <sys/statfs.h>

#include "test_util.h"

namespace berth::cgroup::testing {
namespace {

constexpr const char* kSnapshot = BERTH_CGROUP_SNAPSHOT;

std::string UnifiedRoot() {
  for (const char* p : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs st;
    if (::statfs(p, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) return p;
  }
  return "";
}

TEST(Snapshot, Record) {
  std::string root = UnifiedRoot();
  std::ofstream(kSnapshot) << (root.empty() ? "" : ReadText(root + "/cgroup.subtree_control"));
}

TEST(Leftovers, NoTestCgroupRemains) {
  auto left = FindTestCgroups();
  for (const auto& d : left) {
    ADD_FAILURE() << "test cgroup left behind: " << d;
    if (auto sub = fs::SubDirs(d))
      for (auto it = sub->rbegin(); it != sub->rend(); ++it) (void)fs::RemoveDir(*it, 1000);
    (void)fs::RemoveDir(d, 1000);
  }
  EXPECT_TRUE(left.empty());
}

TEST(Leftovers, UnifiedRootControllersUnchanged) {
  std::string root = UnifiedRoot();
  if (root.empty() || !Exists(kSnapshot)) GTEST_SKIP();
  EXPECT_EQ(ReadText(root + "/cgroup.subtree_control"), ReadText(kSnapshot));
}

}  // namespace
}  // namespace berth::cgroup::testing
