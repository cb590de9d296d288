// runtime-spec 1.3 as a whole: the version berth writes (spec, state) and reports
// (features) next to runc 1.4's, hugetlb reservation limits, and linux.intelRdt refused
// with its reason. runc 1.1.5 is 1.0.2-era: compared with runc 1.4 only.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Spec13 : public BerthTest {
 protected:
  const Runtime* Runc14() {
    for (const auto& rt : runtimes_)
      if (rt.name == "runc-1.4") return &rt;
    return nullptr;
  }
  json JsonOf(const CommandResult& r) { return json::parse(r.out, nullptr, false); }
  std::vector<Runtime> runtimes_ = SideBySideRuntimes();
};

TEST_F(Spec13, SpecStateAndFeaturesVersionsAreRunc14s) {
  const Runtime* runc = Runc14();
  ASSERT_NE(runc, nullptr);
  for (const Runtime* rt : {static_cast<const Runtime*>(&runtimes_.front()), runc}) {
    SCOPED_TRACE(rt->name);
    std::string bundle = dir_ + "/spec-" + rt->name;
    ::mkdir(bundle.c_str(), 0755);
    auto r = RunCommand({"/bin/sh", "-c", "cd " + bundle + " && " + rt->binary + " spec"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::ifstream in(bundle + "/config.json");
    json spec = json::parse(in, nullptr, false);
    EXPECT_EQ(spec.value("ociVersion", ""), "1.3.0");
    json features = JsonOf(RunWith(*rt, {"features"}));
    EXPECT_EQ(features.value("ociVersionMax", ""), "1.3.0");
    EXPECT_EQ(features["linux"]["memoryPolicy"], JsonOf(RunWith(*runc, {"features"}))["linux"]["memoryPolicy"]);
    EXPECT_EQ(features["linux"]["netDevices"]["enabled"], true);
    std::string id = NewId();
    ASSERT_EQ(RunWith(*rt, {"create", "-b", MakeBundle({"true"}), id}).status, 0);
    EXPECT_EQ(JsonOf(RunWith(*rt, {"state", id})).value("ociVersion", ""), "1.3.0");
  }
  // What berth cannot do is not claimed.
  json ours = JsonOf(Berth({"features"}));
  EXPECT_EQ(ours["linux"]["intelRdt"]["enabled"], false);
  EXPECT_EQ(ours["potentiallyUnsafeConfigAnnotations"], json({"org.criu.config"}));
}

bool ResctrlMounted() {
  return ReadFileOrEmpty("/proc/self/mountinfo").find(" - resctrl ") != std::string::npos;
}

// The container's directory in the v1 hugetlb hierarchy, from /proc/<pid>/cgroup.
std::string HugetlbDir(int pid) {
  std::istringstream in(ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(in, line);) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (line.substr(a + 1, b - a - 1) == "hugetlb") return "/sys/fs/cgroup/hugetlb" + line.substr(b + 1);
  }
  return "";
}

TEST_F(Spec13, HugepageLimitsAlsoLimitReservationsSameAsRunc14) {
  std::string probe = "/sys/fs/cgroup/hugetlb/hugetlb.2MB.rsvd.limit_in_bytes";
  struct stat st;
  if (::stat(probe.c_str(), &st) != 0)
    GTEST_SKIP() << "no v1 hugetlb hierarchy with 2MB reservation files here (" << probe << ")";
  std::string bundle = MakeBundle({"sleep", "1000"}, [](json& s) {
    s["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4194304}}};
  });
  for (const auto& rt : runtimes_) {
    if (rt.name == "runc-1.1") continue;  // 1.1.5 predates the rsvd files
    SCOPED_TRACE(rt.name);
    std::string id = NewId();
    ASSERT_EQ(RunWith(rt, {"run", "-d", "-b", bundle, id}).status, 0);
    int pid = JsonOf(RunWith(rt, {"state", id})).value("pid", 0);
    std::string dir = HugetlbDir(pid);
    ASSERT_FALSE(dir.empty());
    EXPECT_EQ(ReadFileOrEmpty(dir + "/hugetlb.2MB.limit_in_bytes"), "4194304\n");
    EXPECT_EQ(ReadFileOrEmpty(dir + "/hugetlb.2MB.rsvd.limit_in_bytes"), "4194304\n");
    RunWith(rt, {"kill", id, "KILL"});
  }
}

TEST_F(Spec13, IntelRdtIsRefusedWithItsReasonBeforeAnythingIsMade) {
  std::string id = NewId();
  auto r = Berth({"create", "-b", MakeBundle({"true"}, [](json& s) {
                    s["linux"]["intelRdt"] = {{"closID", "guaranteed_group"},
                                              {"schemata", {"L3:0=7f0"}}};
                  }),
                  id});
  EXPECT_EQ(r.status, 1);
  if (ResctrlMounted())
    EXPECT_EQ(r.err, "berth: linux.intelRdt: resctrl is mounted, but berth does not support Intel RDT\n");
  else
    EXPECT_EQ(r.err,
              "berth: linux.intelRdt: no resctrl filesystem is mounted (Intel RDT is not enabled)\n");
  struct stat st;
  EXPECT_NE(::stat((root_ + "/" + id).c_str(), &st), 0) << "state dir left";
  EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "cgroup left";
  // runc 1.4 refuses it on this host too (no resctrl).
  if (const Runtime* runc = Runc14(); runc && !ResctrlMounted()) {
    auto theirs = RunWith(*runc, {"create", "-b", MakeBundle({"true"}, [](json& s) {
                                    s["linux"]["intelRdt"] = {{"closID", "g"}};
                                  }),
                                  NewId()});
    EXPECT_NE(theirs.status, 0);
  }
}

// Fields berth had before this change, until now without a test of the kernel's view.
TEST_F(Spec13, PersonalityTimeOffsetsOomScoreAndIoPriorityAsTheKernelReportsThemSameAsRunc14) {
  std::string bundle = MakeBundle(
      {"sh", "-c",
       "cat /proc/self/personality /proc/self/timens_offsets /proc/self/oom_score_adj; "
       "ionice -p $$ 2>&1 || echo no-ionice"},
      [](json& s) {
        s["linux"]["personality"] = {{"domain", "LINUX32"}};
        s["linux"]["namespaces"].push_back({{"type", "time"}});
        s["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1000}, {"nanosecs", 0}}}};
        s["process"]["oomScoreAdj"] = 123;
        s["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 6}};
      });
  auto ours = Berth({"run", "-b", bundle, NewId()});
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_NE(ours.out.find("00000008\n"), std::string::npos) << ours.out;  // PER_LINUX32
  EXPECT_NE(ours.out.find("monotonic        1000         0\n"), std::string::npos) << ours.out;
  EXPECT_NE(ours.out.find("\n123\n"), std::string::npos) << ours.out;
  if (ours.out.find("no-ionice") == std::string::npos)
    EXPECT_NE(ours.out.find("best-effort: prio 6"), std::string::npos) << ours.out;
  if (const Runtime* runc = Runc14()) {
    auto theirs = RunWith(*runc, {"run", "-b", bundle, NewId()});
    ASSERT_EQ(theirs.status, 0) << theirs.err;
    EXPECT_EQ(theirs.out, ours.out);
  }
}

// linux.personality.flags: the spec defines no values yet. runc 1.4 warns and ignores
// them; so does berth (it used to refuse the config).
TEST_F(Spec13, PersonalityFlagsAreIgnoredWithAWarningSameAsRunc14) {
  std::string bundle = MakeBundle({"cat", "/proc/self/personality"}, [](json& s) {
    s["linux"]["personality"] = {{"domain", "LINUX32"}, {"flags", {"ADDR_NO_RANDOMIZE"}}};
  });
  auto ours = Berth({"run", "-b", bundle, NewId()});
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_EQ(ours.out, "00000008\n");  // PER_LINUX32, no ADDR_NO_RANDOMIZE (0x0040000)
  EXPECT_NE(ours.err.find("level=warning"), std::string::npos) << ours.err;
  EXPECT_NE(ours.err.find("ADDR_NO_RANDOMIZE"), std::string::npos) << ours.err;
  if (const Runtime* runc = Runc14()) {
    auto theirs = RunWith(*runc, {"run", "-b", bundle, NewId()});
    ASSERT_EQ(theirs.status, 0) << theirs.err;
    EXPECT_EQ(theirs.out, ours.out);
  }
}

}  // namespace
}  // namespace berth::testing
