// Rootless: berth run by a user other than root (one the suite creates), with the
// config `berth spec --rootless` writes, as runc and crun run rootless: a user namespace
// mapping that user to root, state under $XDG_RUNTIME_DIR/berth, no cgroup (none is
// delegated here), and one-line errors for what needs one.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

constexpr const char* kUser = "berth-rootless";
// The user's subordinate ids: container ids 1..65536 map to host 3000000..3065535.
constexpr const char* kSubRange = "3000000-3065535";
constexpr unsigned kSubStart = 3000000;

class Rootless : public BerthTest {
 protected:
  void SetUp() override {
    BerthTest::SetUp();
    if (!::getpwnam(kUser))
      ASSERT_EQ(RunCommand({"/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                            kUser}).status, 0);
    passwd* pw = ::getpwnam(kUser);
    ASSERT_NE(pw, nullptr);
    // Subordinate ids for newuidmap/newgidmap (Rootless.MapsSubordinateIds...).
    if (ReadFileOrEmpty("/etc/subuid").find(std::string(kUser) + ":") == std::string::npos ||
        ReadFileOrEmpty("/etc/subgid").find(std::string(kUser) + ":") == std::string::npos)
      ASSERT_EQ(RunCommand({"/usr/sbin/usermod", "--add-subuids", kSubRange, "--add-subgids",
                            kSubRange, kUser}).status, 0);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    // The checkout may sit under a directory the user cannot enter: a copy of berth it
    // can run (a static binary), and a home of its own for the bundle and the state.
    home_ = dir_ + "/home";
    ASSERT_EQ(::mkdir(home_.c_str(), 0700), 0);
    ASSERT_EQ(::chown(home_.c_str(), uid_, gid_), 0);
    berth_ = dir_ + "/berth";
    ASSERT_EQ(RunCommand({"/bin/cp", BERTH_BINARY, berth_}).status, 0);
    ::chmod(berth_.c_str(), 0755);
    xdg_ = home_ + "/run";
    ASSERT_EQ(AsUser({"/bin/mkdir", "-p", xdg_, home_ + "/bundle"}).status, 0);
  }
  void TearDown() override {
    for (const auto& id : ids_)  // root can end what the user left
      RunCommand({BERTH_BINARY, "--root", xdg_ + "/berth", "delete", "--force", id});
    BerthTest::TearDown();
  }

  CommandResult AsUser(std::vector<std::string> argv) {
    SpawnOptions options;
    options.env = {"XDG_RUNTIME_DIR=" + xdg_};
    options.wrapper = {"/usr/bin/setpriv", "--reuid=" + std::to_string(uid_),
                       "--regid=" + std::to_string(gid_), "--clear-groups", "--"};
    return RunCommand(argv, options);
  }
  CommandResult BerthAsUser(std::vector<std::string> args) {
    args.insert(args.begin(), berth_);
    return AsUser(args);
  }
  // `berth spec --rootless` as the user, on the shared rootfs, running `args`.
  std::string MakeRootlessBundle(const std::vector<std::string>& args,
                                 const std::function<void(json&)>& edit = nullptr) {
    std::string bundle = home_ + "/bundle";
    auto r = AsUser({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" spec --rootless", bundle, berth_});
    EXPECT_EQ(r.status, 0) << r.err;
    json spec = json::parse(ReadFileOrEmpty(bundle + "/config.json"), nullptr, false);
    EXPECT_TRUE(spec.is_object());
    if (!spec.is_object()) return bundle;
    spec["root"]["path"] = SharedRootfs();
    spec["process"]["terminal"] = false;
    spec["process"]["args"] = args;
    if (edit) edit(spec);
    std::ofstream(bundle + "/config.json") << spec.dump();
    return bundle;
  }

  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string home_, berth_, xdg_;
};

TEST_F(Rootless, SpecMapsTheUserToRootInAUserNamespace) {
  MakeRootlessBundle({"true"});
  json spec = json::parse(ReadFileOrEmpty(home_ + "/bundle/config.json"));
  json map = {{{"containerID", 0}, {"hostID", uid_}, {"size", 1}}};
  EXPECT_EQ(spec["linux"]["uidMappings"], map);
  map[0]["hostID"] = gid_;
  EXPECT_EQ(spec["linux"]["gidMappings"], map);
  std::vector<std::string> types;
  for (const auto& ns : spec["linux"]["namespaces"]) types.push_back(ns["type"]);
  EXPECT_NE(std::find(types.begin(), types.end(), "user"), types.end());
  EXPECT_EQ(std::find(types.begin(), types.end(), "network"), types.end());
  EXPECT_FALSE(spec["linux"].contains("resources"));
}

TEST_F(Rootless, RunsAsTheUserMappedToRootWithoutACgroup) {
  std::string id = NewId();
  std::string bundle = MakeRootlessBundle(
      {"sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '; stat -c %u /proc/1/exe"});
  auto r = BerthAsUser({"run", "-b", bundle, id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n 0 " + std::to_string(uid_) + " 1\n0\n");
  EXPECT_TRUE(CgroupDirsNamed(id).empty());
  // The state went to $XDG_RUNTIME_DIR/berth, and is gone with the container.
  struct stat st;
  ASSERT_EQ(::stat((xdg_ + "/berth").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid_);
  EXPECT_NE(::stat((xdg_ + "/berth/" + id).c_str(), &st), 0);
}

TEST_F(Rootless, LifecycleWithExecKillAndDelete) {
  std::string id = NewId();
  std::string bundle = MakeRootlessBundle({"sleep", "1000"});
  ASSERT_EQ(BerthAsUser({"run", "-d", "-b", bundle, id}).status, 0);
  auto state = json::parse(BerthAsUser({"state", id}).out, nullptr, false);
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["status"], "running");
  std::string status = ReadFileOrEmpty("/proc/" + std::to_string(state["pid"].get<int>()) + "/status");
  EXPECT_NE(status.find("Uid:\t" + std::to_string(uid_) + "\t"), std::string::npos) << status;
  auto exec = BerthAsUser({"exec", id, "id", "-u"});
  EXPECT_EQ(exec.status, 0) << exec.err;
  EXPECT_EQ(exec.out, "0\n");
  // What needs a cgroup says so, on one line.
  auto pause = BerthAsUser({"pause", id});
  EXPECT_EQ(pause.status, 1);
  EXPECT_EQ(pause.err, "berth: pause container \"" + id +
                           "\": the container has no cgroup (rootless, and none delegated)\n");
  EXPECT_EQ(BerthAsUser({"kill", "--all", id, "KILL"}).status, 0);
  bool stopped = false;
  for (int i = 0; i < 100 && !stopped; ++i) {
    stopped = BerthAsUser({"state", id}).out.find("\"stopped\"") != std::string::npos;
    if (!stopped) ::usleep(20000);
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(BerthAsUser({"delete", id}).status, 0);
  EXPECT_EQ(BerthAsUser({"list", "-q"}).out, "");
}

// A limit needs a cgroup delegated to the user: refused before anything is made.
TEST_F(Rootless, ResourceLimitsWithoutADelegatedCgroupAreRefused) {
  std::string id = NewId();
  std::string bundle = MakeRootlessBundle({"true"}, [](json& s) {
    s["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
  });
  auto r = BerthAsUser({"run", "-b", bundle, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("berth: rootless: linux.resources needs a cgroup delegated to uid " +
                       std::to_string(uid_) + ": "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  struct stat st;
  EXPECT_NE(::stat((xdg_ + "/berth/" + id).c_str(), &st), 0) << "state dir left";
  EXPECT_TRUE(CgroupDirsNamed(id).empty());
}

// More than the user's own id: berth writes the maps through newuidmap/newgidmap
// (Debian's uidmap), which check /etc/subuid and /etc/subgid, as runc and crun do. A
// file the container chowns to its uid 1000 belongs to host uid 3000999.
TEST_F(Rootless, MapsSubordinateIdsThroughNewuidmap) {
  std::string id = NewId();
  std::string out = home_ + "/out";
  ASSERT_EQ(AsUser({"/bin/mkdir", out}).status, 0);
  std::string bundle = MakeRootlessBundle(
      {"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; "
                   "touch /root/f && chown 1000:1000 /root/f"},
      [&](json& s) {
        json maps = {{{"containerID", 0}, {"hostID", uid_}, {"size", 1}},
                     {{"containerID", 1}, {"hostID", kSubStart}, {"size", 65536}}};
        s["linux"]["uidMappings"] = maps;
        maps[0]["hostID"] = gid_;
        s["linux"]["gidMappings"] = maps;
        for (auto& [set, caps] : s["process"]["capabilities"].items()) caps.push_back("CAP_CHOWN");
        s["mounts"].push_back({{"destination", "/root"}, {"type", "bind"}, {"source", out},
                               {"options", {"rbind", "rw"}}});
      });
  auto r = BerthAsUser({"run", "-b", bundle, id});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string u = std::to_string(uid_), g = std::to_string(gid_), sub = std::to_string(kSubStart);
  EXPECT_EQ(r.out, " 0 " + u + " 1\n 1 " + sub + " 65536\n 0 " + g + " 1\n 1 " + sub + " 65536\n");
  struct stat st;
  ASSERT_EQ(::stat((out + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kSubStart + 999);
  EXPECT_EQ(st.st_gid, kSubStart + 999);

  // runc 1.4, the same bundle, the same user: the same maps, the same owner.
  const std::string runc = "/opt/berth-deps/bin/runc";
  ASSERT_EQ(::access(runc.c_str(), X_OK), 0) << runc << ": scripts/install-deps.sh installs it";
  ASSERT_EQ(::unlink((out + "/f").c_str()), 0);
  auto peer = AsUser({runc, "--root", xdg_ + "/runc", "run", "-b", bundle, id + "-runc"});
  ASSERT_EQ(peer.status, 0) << peer.err;
  EXPECT_EQ(peer.out, r.out);
  ASSERT_EQ(::stat((out + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kSubStart + 999);
}

// Ids outside the user's subordinate ranges: newuidmap refuses; one line, nothing left.
TEST_F(Rootless, IdsBeyondTheSubordinateRangesAreRefused) {
  std::string id = NewId();
  std::string bundle = MakeRootlessBundle({"true"}, [&](json& s) {
    s["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", uid_}, {"size", 1}},
                                 {{"containerID", 1}, {"hostID", kSubStart + 70000}, {"size", 10}}};
  });
  auto r = BerthAsUser({"run", "-b", bundle, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("linux.uidMappings: newuidmap exited with 1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  struct stat st;
  EXPECT_NE(::stat((xdg_ + "/berth/" + id).c_str(), &st), 0) << "state dir left";
  EXPECT_EQ(BerthAsUser({"list", "-q"}).out, "");
}

}  // namespace
}  // namespace berth::testing
