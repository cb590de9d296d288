// --no-pivot: the container's root is moved onto "/" and chrooted into, so the
// host's mounts stay in the mount namespace under it. A fully visible procfs among
// them lets a process of the container mount a fresh, unmasked procfs in a nested
// user namespace (the kernel's mnt_already_visible check asks only that one fully
// visible proc exists in the mount namespace) and write /proc/sysrq-trigger. runc
// detaches (or covers with a tmpfs) every full proc and sysfs mount outside the
// rootfs before MS_MOVE (libcontainer msMoveRoot); so does berth (init_rootfs.cc).
#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

// What a user would try: a new user, mount and pid namespace, and procfs in it.
const char* kNestedProc =
    "unshare -mrpf sh -c 'mount -t proc none /proc && echo MOUNTED "
    "&& grep -c . /proc/sysrq-trigger'";

class NoPivotProc : public CveTest {
 protected:
  // `unshare -r` maps uid 0: since Linux 5.12 that needs CAP_SETFCAP (the caps of
  // berth spec lack it).
  std::string Bundle(const std::vector<std::string>& args) {
    return MakeBundle(args, [](nlohmann::json& s) {
      for (const char* set : {"bounding", "effective", "permitted"})
        s["process"]["capabilities"][set].push_back("CAP_SETFCAP");
    });
  }
};

TEST_F(NoPivotProc, NestedProcMountIsRefused) {
  for (const auto& rt : SideBySideRuntimes()) {
    // With pivot_root too, for comparison: the host's /proc is gone there.
    for (bool no_pivot : {true, false}) {
      SCOPED_TRACE(rt.name + (no_pivot ? " --no-pivot" : " pivot_root"));
      std::vector<std::string> args = {"run", "-b", Bundle({"sh", "-c", kNestedProc}), NewId()};
      if (no_pivot) args.insert(args.begin() + 1, "--no-pivot");
      auto r = RunWith(rt, args);
      EXPECT_NE(r.status, 0) << r.out;
      EXPECT_EQ(r.out.find("MOUNTED"), std::string::npos) << r.out;
      EXPECT_NE(r.err.find("mount: permission denied"), std::string::npos) << r.err;
    }
  }
}

// The unshare itself works (a chroot would refuse it): the refusal is the mount's.
TEST_F(NoPivotProc, NestedUserNamespaceStillWorks) {
  for (const auto& rt : SideBySideRuntimes()) {
    SCOPED_TRACE(rt.name);
    auto r = RunWith(rt, {"run", "--no-pivot", "-b",
                          Bundle({"unshare", "-mrpf", "echo", "NESTED"}), NewId()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "NESTED\n");
  }
}

}  // namespace
}  // namespace berth::testing
