// Registers the per-process safety net: at the end of each test process, any cgroup
// named after this process that is still there fails the run and is removed.
#include "test_util.h"

namespace berth::cgroup::testing {
namespace {

[[maybe_unused]] ::testing::Environment* const kLeftoverGuard =
    ::testing::AddGlobalTestEnvironment(new LeftoverGuard);

}  // namespace
}  // namespace berth::cgroup::testing
