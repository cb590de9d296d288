// The cgroup tests' fixture steps (ctest FIXTURES_SETUP / FIXTURES_CLEANUP):
// Snapshot.Record runs before every cgroup test and saves the v2 root's
// cgroup.subtree_control; the Leftovers tests run after all of them (the cgroup tests and
// the integration tests, whose containers are "berth-it-<pid>-<n>"): no cgroup made by
// a test may remain in any hierarchy, and the controllers the tests switched on in the
// v2 root are off again. What is left is removed so that one failure does not poison
// later runs.
#include <linux/magic.h>
#include <sys/statfs.h>

#include <charconv>

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

// The prefixes of every cgroup a test makes: the cgroup tests' "berth-test-<pid>-<n>" and
// the integration tests' container ids "berth-it-<pid>-<n>".
constexpr const char* kTestPrefixes[] = {kPrefix, "berth-it-"};

// Whether the test process named in "<prefix><pid>-<n>" has exited. When this runs,
// every test process of this ctest run has; one still alive belongs to a run going on
// in parallel (another worktree on this machine), whose cgroups are not leftovers yet.
bool OwnerExited(const std::string& dir, const std::string& prefix) {
  std::string name = std::filesystem::path(dir).filename().string().substr(prefix.size());
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || pid <= 0) return true;
  return !Exists("/proc/" + std::to_string(pid));
}

std::vector<std::string> Leftovers() {
  std::vector<std::string> left;
  for (std::string prefix : kTestPrefixes)
    for (const auto& d : FindTestCgroups(prefix))
      if (OwnerExited(d, prefix)) left.push_back(d);
  std::sort(left.begin(), left.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  return left;
}

TEST(Leftovers, NoTestCgroupRemains) {
  auto left = Leftovers();
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
