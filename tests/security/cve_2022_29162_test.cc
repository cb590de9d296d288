// CVE-2022-29162: `runc exec --cap` gave the process non-empty inheritable
// capabilities although the config gave none, so a non-root program with
// inheritable file capabilities gained them in its permitted set at execve.
//
// Defence: the inheritable set is exactly the config's (linux/capabilities.cc),
// and `exec --cap` adds to bounding, effective and permitted only (cli/exec.cc).
// The attack here: a non-root process in the container runs a binary carrying an
// inheritable file capability; its permitted set must stay empty.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "tests/security/cve_test_support.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Cve_2022_29162 : public CveTest {
 protected:
  // A busybox in the container with CAP_NET_ADMIN as an inheritable file
  // capability (effective bit set), on a mount that honours file capabilities.
  void PlantInheritableFileCapability(pid_t init) {
    std::string bb = Inside(init, "/caps/busybox");
    ASSERT_EQ(RunCommand({"/bin/cp", SharedRootfs() + "/bin/busybox", bb}).status, 0);
    ::chmod(bb.c_str(), 0755);
    vfs_cap_data cap{};
    cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
    cap.data[0].inheritable = 1u << CAP_NET_ADMIN;
    ASSERT_EQ(::setxattr(bb.c_str(), "security.capability", &cap, sizeof cap, 0), 0)
        << std::strerror(errno);
  }
  std::string StartWithCapsMount() {
    return StartContainer({"sleep", "1000"}, [](json& s) {
      s["mounts"].push_back({{"destination", "/caps"},
                             {"type", "tmpfs"},
                             {"source", "tmpfs"},
                             {"options", {"mode=755"}}});
    });
  }
  static std::string Field(const std::string& status, const std::string& name) {
    auto at = status.find(name + ":\t");
    return at == std::string::npos ? "" : status.substr(at + name.size() + 2, 16);
  }
};

TEST_F(Cve_2022_29162, ExecCapDoesNotMakeInheritableCapabilities) {
  std::string id = StartWithCapsMount();
  auto plain = Exec({id, "grep", "Cap", "/proc/self/status"});
  EXPECT_EQ(Field(plain.out, "CapInh"), "0000000000000000") << plain.out;
  auto with_cap = Exec({"--cap", "CAP_NET_ADMIN", id, "grep", "Cap", "/proc/self/status"});
  EXPECT_EQ(Field(with_cap.out, "CapInh"), "0000000000000000") << with_cap.out;
  EXPECT_EQ(Field(with_cap.out, "CapAmb"), "0000000000000000") << with_cap.out;
  EXPECT_NE(Field(with_cap.out, "CapEff"), "0000000000000000") << with_cap.out;
}

TEST_F(Cve_2022_29162, InheritableFileCapabilitiesGrantNothing) {
  std::string id = StartWithCapsMount();
  PlantInheritableFileCapability(InitPid(id));
  // A non-root user, with --cap: the runc bug made CAP_NET_ADMIN inheritable,
  // so bb would have come up with it permitted and effective.
  auto r = Exec({"-u", "1000:1000", "--cap", "CAP_NET_ADMIN", id, "/caps/busybox", "grep", "Cap",
                 "/proc/self/status"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Field(r.out, "CapPrm"), "0000000000000000") << r.out;
  EXPECT_EQ(Field(r.out, "CapEff"), "0000000000000000") << r.out;

  // Control: a process whose config does ask for the inheritable capability
  // gets it from the file, so the check above can see the bug.
  std::string file = dir_ + "/process.json";
  json net_admin = {"CAP_NET_ADMIN"};
  std::ofstream(file) << json{{"args", {"/caps/busybox", "grep", "Cap", "/proc/self/status"}},
                              {"cwd", "/"},
                              {"user", {{"uid", 1000}, {"gid", 1000}}},
                              {"capabilities",
                               {{"bounding", net_admin}, {"inheritable", net_admin}}}}
                             .dump();
  auto control = Exec({"--process", file, id});
  ASSERT_EQ(control.status, 0) << control.err;
  EXPECT_EQ(Field(control.out, "CapPrm"), "0000000000001000") << control.out;
}

TEST_F(Cve_2022_29162, CreateGivesExactlyTheConfiguredInheritableSet) {
  auto none = Berth({"run", "-b", MakeBundle({"grep", "Cap", "/proc/self/status"}), NewId()});
  EXPECT_EQ(Field(none.out, "CapInh"), "0000000000000000") << none.out;
  auto kill = Berth(
      {"run", "-b",
       MakeBundle({"grep", "Cap", "/proc/self/status"},
                  [](json& s) { s["process"]["capabilities"]["inheritable"] = {"CAP_KILL"}; }),
       NewId()});
  EXPECT_EQ(Field(kill.out, "CapInh"), "0000000000000020") << kill.out << kill.err;
}

}  // namespace
}  // namespace berth::testing
