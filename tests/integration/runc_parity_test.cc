// Issue 18, items 6-9: what a runc user sees in the container's process, run through
// berth, runc 1.4 and runc 1.1.5 on the same bundle with the same outcome asserted:
// the pty of a non-root user, bind sources only host root may reach in a new user
// namespace, a cwd only root may enter, and a read-only /dev.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class RuncParity : public BerthTest {
 protected:
  // `args` as user 1000:1000 with a terminal, its output as the console socket shows it.
  std::string RunOnAPty(const Runtime& rt, const std::vector<std::string>& args) {
    std::string sock = dir_ + "/console-" + rt.name + ".sock";
    ConsoleSocket console(sock);
    std::string id = NewId();
    auto c = RunWith(rt, {"create", "--console-socket", sock, "-b",
                          MakeBundle(args, [](json& s) {
                            s["process"]["terminal"] = true;
                            s["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
                          }),
                          id});
    EXPECT_EQ(c.status, 0) << rt.name << ": " << c.err;
    if (c.status != 0) return "create failed";
    auto s = RunWith(rt, {"start", id});
    EXPECT_EQ(s.status, 0) << rt.name << ": " << s.err;
    return console.Finish();
  }
  // A container of `rt` running `sleep`, made from `bundle`; its id.
  std::string StartSleeper(const Runtime& rt, const std::string& bundle) {
    std::string id = NewId();
    auto r = RunWith(rt, {"run", "-d", "-b", bundle, id});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    return id;
  }
};

// The pty slave belongs to process.user.uid; its gid is the one devpts' gid=5 option
// gives (runc's fixStdioPermissions changes only the uid).
TEST_F(RuncParity, PtyOfANonRootProcessIsTheUsers) {
  for (const auto& rt : SideBySideRuntimes())
    EXPECT_EQ(RunOnAPty(rt, {"sh", "-c", "stat -c %u:%g $(tty)"}), "1000:5\r\n") << rt.name;
}

TEST_F(RuncParity, PtyOfANonRootExecIsTheUsers) {
  for (const auto& rt : SideBySideRuntimes()) {
    std::string id = StartSleeper(rt, MakeBundle({"sleep", "1000"}));
    std::string sock = dir_ + "/exec-console-" + rt.name + ".sock";
    ConsoleSocket console(sock);
    auto r = RunWith(rt, {"exec", "-t", "-d", "--console-socket", sock, "--user", "1000:1000", id,
                          "sh", "-c", "stat -c %u:%g $(tty)"});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    EXPECT_EQ(console.Finish(), "1000:5\r\n") << rt.name;
  }
}

// A new user namespace whose root (host 100000) may not enter the bind source's parent:
// the runtime opens the source before the init enters the namespace, so run works, and
// an exec into the container reads the mounted files.
TEST_F(RuncParity, BindSourceOnlyHostRootReachesInANewUserNamespace) {
  std::string locked = dir_ + "/locked";
  ASSERT_EQ(::mkdir(locked.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((locked + "/vol").c_str(), 0755), 0);
  std::ofstream(locked + "/vol/file") << "inside\n";
  ASSERT_EQ(::chmod((locked + "/vol/file").c_str(), 0644), 0);
  json maps = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  auto bundle = [&](const std::vector<std::string>& args) {
    return MakeBundle(args, [&](json& s) {
      s["linux"]["namespaces"].push_back({{"type", "user"}});
      s["linux"]["uidMappings"] = maps;
      s["linux"]["gidMappings"] = maps;
      s["mounts"].push_back({{"destination", "/tmp/vol"}, {"type", "bind"},
                             {"source", locked + "/vol"}, {"options", {"rbind", "ro"}}});
    });
  };
  for (const auto& rt : SideBySideRuntimes()) {
    auto r = RunWith(rt, {"run", "-b", bundle({"cat", "/tmp/vol/file"}), NewId()});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    EXPECT_EQ(r.out, "inside\n") << rt.name;
    std::string id = StartSleeper(rt, bundle({"sleep", "1000"}));
    auto e = RunWith(rt, {"exec", id, "cat", "/tmp/vol/file"});
    EXPECT_EQ(e.status, 0) << rt.name << ": " << e.err;
    EXPECT_EQ(e.out, "inside\n") << rt.name;
  }
}

// /root is a tmpfs of mode 0700: the runtime enters it before dropping to uid 1000.
TEST_F(RuncParity, CwdOnlyRootMayEnterIsEnteredBeforeTheUserSwitch) {
  auto private_root = [](json& s) {
    s["mounts"].push_back({{"destination", "/root"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                           {"options", {"mode=700"}}});
  };
  for (const auto& rt : SideBySideRuntimes()) {
    auto r = RunWith(rt, {"run", "-b",
                          MakeBundle({"sh", "-c", "pwd; id -u"},
                                     [&](json& s) {
                                       private_root(s);
                                       s["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
                                       s["process"]["cwd"] = "/root";
                                     }),
                          NewId()});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    EXPECT_EQ(r.out, "/root\n1000\n") << rt.name;
    std::string id = StartSleeper(rt, MakeBundle({"sleep", "1000"}, private_root));
    auto e =
        RunWith(rt, {"exec", "--user", "1000", "--cwd", "/root", id, "sh", "-c", "pwd; id -u"});
    EXPECT_EQ(e.status, 0) << rt.name << ": " << e.err;
    EXPECT_EQ(e.out, "/root\n1000\n") << rt.name;
  }
}

// A read-only /dev tmpfs: the mount points and nodes in it are made first, ro comes last.
TEST_F(RuncParity, ReadOnlyDevGetsItsMountsAndNodesFirst) {
  std::string bundle = MakeBundle(
      {"sh", "-c",
       "test -c /dev/null && test -d /dev/pts/ && test -d /dev/shm && test -d /dev/mqueue && "
       "grep -q ' /dev/pts devpts ' /proc/mounts && grep ' /dev ' /proc/mounts | cut -d' ' -f4 "
       "| cut -d, -f1; touch /dev/new 2>/dev/null || echo cannot-write"},
      [](json& s) {
        for (auto& m : s["mounts"])
          if (m["destination"] == "/dev") m["options"].push_back("ro");
      });
  for (const auto& rt : SideBySideRuntimes()) {
    auto r = RunWith(rt, {"run", "-b", bundle, NewId()});
    EXPECT_EQ(r.status, 0) << rt.name << ": " << r.err;
    EXPECT_EQ(r.out, "ro\ncannot-write\n") << rt.name;
  }
}

}  // namespace
}  // namespace berth::testing
