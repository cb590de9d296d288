// The fault walk of the shim's Create (see tests/integration/fault_walk_test.cc): the
// shim built with the fault injector (tests/fault/) fails Create at each of its steps
// in turn. Each failure is an error status naming the step; it leaves no container
// state, cgroup, process or fd of the shim, and the same create then succeeds.
#include <dirent.h>
#include <stdlib.h>

#include <fstream>

#include "tests/shim/shim_fixture.h"

namespace berth::shimtest {
namespace {

class ShimFaultWalk : public ShimApiTest {
 protected:
  void TearDown() override {
    ::unsetenv("BERTH_FAULT_AT");
    ::unsetenv("BERTH_FAULT_TRACE");
    ShimApiTest::TearDown();
  }

  static int FdCount(pid_t pid) {
    DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!d) return -1;
    int n = 0;
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
  }

  // Processes other than `shim` whose command line mentions `word`.
  static int ProcessesMentioning(const std::string& word, pid_t shim) {
    int n = 0;
    DIR* proc = ::opendir("/proc");
    while (dirent* e = ::readdir(proc)) {
      pid_t pid = std::atoi(e->d_name);
      if (pid <= 0 || pid == shim || pid == ::getpid()) continue;
      std::string cmdline = testing::ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmdline.find(word) != std::string::npos && testing::ProcessExists(pid)) ++n;
    }
    ::closedir(proc);
    return n;
  }
};

TEST_P(ShimFaultWalk, CreateLeavesNothingAtEveryStep) {
  std::string trace = dir_ + "/trace";
  ::setenv("BERTH_FAULT_TRACE", trace.c_str(), 1);
  {
    std::string id = NewId();
    ShimProcess* shim = StartShim(id, Bundle(id, {"sleep", "1000"}));
    ASSERT_NE(shim, nullptr);
    ttrpc::Status s = Create(*shim, id, bundles_.back().second);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  }
  ::unsetenv("BERTH_FAULT_TRACE");
  std::vector<std::string> steps;
  std::ifstream in(trace);
  for (std::string line; std::getline(in, line);) steps.push_back(line);
  ASSERT_GE(steps.size(), 9u) << "the shim's and create's own steps";
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    ::setenv("BERTH_FAULT_AT", std::to_string(i + 1).c_str(), 1);
    std::string id = NewId();
    ShimProcess* shim = StartShim(id, Bundle(id, {"sleep", "1000"}));
    ::unsetenv("BERTH_FAULT_AT");
    ASSERT_NE(shim, nullptr);
    int fds = FdCount(shim->pid());
    ttrpc::Status s = Create(*shim, id, bundles_.back().second);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message.find("injected fault at " + steps[i]), std::string::npos) << s.ToString();
    EXPECT_TRUE(testing::CgroupDirsNamed(id).empty()) << "a cgroup is left";
    EXPECT_NE(::access((root_ + "/" + ns_ + "/" + id).c_str(), F_OK), 0) << "state is left";
    EXPECT_EQ(ProcessesMentioning(id, shim->pid()), 0) << "a process is left";
    EXPECT_EQ(FdCount(shim->pid()), fds) << "the shim holds more fds";
    // Nothing of the failed create is in the way: the same create now succeeds (the
    // fault was the Nth point; no later one fails).
    ttrpc::Status again = Create(*shim, id, bundles_.back().second);
    EXPECT_TRUE(again.ok()) << again.ToString();
    EXPECT_TRUE(Call(*shim, "Delete", WithId<task::DeleteRequest>(id)).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Berth, ShimFaultWalk,
                         ::testing::Values(ShimKind{"berth-fault", BERTH_SHIM_FAULT_BINARY}),
                         [](const auto& info) { return info.param.name == "berth-fault" ? std::string("berth") : info.param.name; });

}  // namespace
}  // namespace berth::shimtest
