// Id-mapped bind mounts (runtime-spec 1.2, runc 1.2+): what the container sees through
// the mapping, what the host keeps, idmap against ridmap on a submount, configs
// refused before anything exists, and runc 1.4 on the same bundle.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;


json Map(uint32_t container_id, uint32_t host_id, uint32_t size) {
  return {{"containerID", container_id}, {"hostID", host_id}, {"size", size}};
}

std::string Owner(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return "missing";
  return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
}

class IdMap : public BerthTest {
 protected:
  void SetUp() override {
    BerthTest::SetUp();
    vol_ = dir_ + "/vol";
    ASSERT_EQ(::mkdir(vol_.c_str(), 0755), 0);
  }
  void TearDown() override {
    BerthTest::TearDown();
    if (submount_) (void)::umount2((vol_ + "/sub").c_str(), MNT_DETACH);
  }
  void MakeFile(const std::string& path, uid_t uid, gid_t gid) {
    std::ofstream(path) << "x";
    ASSERT_EQ(::chown(path.c_str(), uid, gid), 0);
  }
  // The volume on /tmp/vol with `options` and the mappings; `edit` adds the rest.
  std::string Bundle(const std::vector<std::string>& args, const std::vector<std::string>& options,
                     const json& uid_maps, const json& gid_maps,
                     const std::function<void(json&)>& edit = nullptr) {
    return MakeBundle(args, [&](json& s) {
      json m = {{"destination", "/tmp/vol"}, {"type", "bind"}, {"source", vol_}, {"options", options}};
      if (!uid_maps.is_null()) m["uidMappings"] = uid_maps;
      if (!gid_maps.is_null()) m["gidMappings"] = gid_maps;
      s["mounts"].push_back(m);
      if (edit) edit(s);
    });
  }
  // An edit that gives the container a new user namespace with `maps` for uid and gid.
  static std::function<void(json&)> InUserNamespace(const json& maps) {
    return [maps](json& s) {
      s["linux"]["namespaces"].push_back({{"type", "user"}});
      s["linux"]["uidMappings"] = maps;
      s["linux"]["gidMappings"] = maps;
    };
  }
  std::string vol_;
  bool submount_ = false;
};

// No user namespace: disk ids 100000+N show as N, and root's new file is 100000's.
TEST_F(IdMap, MapsOwnersInsideAndKeepsThemOnTheHost) {
  ASSERT_EQ(::chown(vol_.c_str(), 100000, 100000), 0);
  MakeFile(vol_ + "/f", 100005, 100007);
  std::string bundle =
      Bundle({"sh", "-c", "stat -c %u:%g /tmp/vol /tmp/vol/f && touch /tmp/vol/new"}, {"bind"},
             json::array({Map(100000, 0, 65536)}), json::array({Map(100000, 0, 65536)}));
  auto r = Berth({"run", "-b", bundle, NewId()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0:0\n5:7\n");
  EXPECT_EQ(Owner(vol_), "100000:100000");
  EXPECT_EQ(Owner(vol_ + "/f"), "100005:100007");
  EXPECT_EQ(Owner(vol_ + "/new"), "100000:100000");
}

// The Kubernetes case: container root is host 100000, the volume is host root's, and the
// mount's mapping is the container's: inside, the volume is root's and so is what root makes.
TEST_F(IdMap, InAUserNamespaceTheVolumeBelongsToContainerRoot) {
  MakeFile(vol_ + "/f", 5, 7);
  json maps = json::array({Map(0, 100000, 65536)});
  std::string bundle = Bundle(
      {"sh", "-c", "stat -c %u:%g /tmp/vol /tmp/vol/f && touch /tmp/vol/new"}, {"rbind"}, maps,
      maps, InUserNamespace(maps));
  auto r = Berth({"run", "-b", bundle, NewId()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0:0\n5:7\n");
  EXPECT_EQ(Owner(vol_ + "/f"), "5:7");
  EXPECT_EQ(Owner(vol_ + "/new"), "0:0");
}

// idmap alone takes the container's own mappings (runtime-spec 1.2, #1224).
TEST_F(IdMap, IdmapWithoutMappingsUsesTheContainers) {
  MakeFile(vol_ + "/f", 5, 7);
  json maps = json::array({Map(0, 100000, 65536)});
  std::string bundle =
      Bundle({"stat", "-c", "%u:%g", "/tmp/vol/f"}, {"bind", "idmap"}, nullptr, nullptr,
             InUserNamespace(maps));
  auto r = Berth({"run", "-b", bundle, NewId()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "5:7\n");
}

TEST_F(IdMap, RidmapMapsSubmountsAndIdmapDoesNot) {
  MakeFile(vol_ + "/f", 100005, 100005);
  std::string sub = vol_ + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", sub.c_str(), "tmpfs", 0, "mode=755"), 0);
  submount_ = true;
  MakeFile(sub + "/g", 100006, 100006);
  json maps = json::array({Map(100000, 0, 65536)});
  std::vector<std::string> args = {"stat", "-c", "%u:%g", "/tmp/vol/f", "/tmp/vol/sub/g"};
  auto r = Berth({"run", "-b", Bundle(args, {"rbind", "idmap"}, maps, maps), NewId()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "5:5\n100006:100006\n");
  r = Berth({"run", "-b", Bundle(args, {"rbind", "ridmap"}, maps, maps), NewId()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "5:5\n6:6\n");
  // A plain bind with mappings is idmap: the submount is not even there.
  r = Berth({"run", "-b", Bundle({"stat", "-c", "%u:%g", "/tmp/vol/f"}, {"bind"}, maps, maps), NewId()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "5:5\n");
}

TEST_F(IdMap, ReadonlyIdmappedMount) {
  MakeFile(vol_ + "/f", 100000, 100000);
  json maps = json::array({Map(100000, 0, 65536)});
  auto r = Berth({"run", "-b",
                  Bundle({"sh", "-c", "stat -c %u /tmp/vol/f; touch /tmp/vol/new"}, {"bind", "ro"},
                         maps, maps),
                  NewId()});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out, "0\n");
  EXPECT_EQ(Owner(vol_ + "/new"), "missing");
}

class IdMapErrors : public IdMap {
 protected:
  void ExpectRefused(const std::string& bundle) {
    std::string id = NewId();
    std::string mounts_before = ReadFileOrEmpty("/proc/self/mountinfo");
    auto r = Berth({"create", "-b", bundle, id});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(Berth({"state", id}).status, 0);
    struct stat st;
    EXPECT_NE(::stat((root_ + "/" + id).c_str(), &st), 0) << "state dir left for " << id;
    EXPECT_TRUE(CgroupDirsNamed(id).empty()) << "cgroup left for " << id;
    EXPECT_EQ(ReadFileOrEmpty("/proc/self/mountinfo"), mounts_before);
  }
};

TEST_F(IdMapErrors, MappingsOnANonBindMount) {
  json maps = json::array({Map(0, 100000, 65536)});
  ExpectRefused(MakeBundle({"true"}, [&](json& s) {
    s["mounts"].push_back({{"destination", "/tmp/t"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                           {"uidMappings", maps}, {"gidMappings", maps}});
  }));
}

TEST_F(IdMapErrors, UidWithoutGidMappings) {
  ExpectRefused(Bundle({"true"}, {"bind"}, json::array({Map(0, 100000, 65536)}), nullptr));
}

TEST_F(IdMapErrors, SizeZero) {
  json maps = json::array({Map(0, 100000, 0)});
  ExpectRefused(Bundle({"true"}, {"bind"}, maps, maps));
}

TEST_F(IdMapErrors, Overflow) {
  json maps = json::array({Map(0, 4294967295u, 2)});
  ExpectRefused(Bundle({"true"}, {"bind"}, maps, maps));
}

TEST_F(IdMapErrors, IdmapWithoutAnyMappings) {
  ExpectRefused(Bundle({"true"}, {"bind", "idmap"}, nullptr, nullptr));
}

// Fails after planning, at mount_setattr: a hostID range no user namespace can hold
// is refused by the kernel, and nothing is left (no helper, fd or mount either).
TEST_F(IdMapErrors, KernelRefusalLeavesNothing) {
  json maps = json::array({Map(0, 100000, 65536), Map(10, 200000, 10)});  // overlapping
  ExpectRefused(Bundle({"true"}, {"bind"}, maps, maps));
}

// runc 1.4 on the very same bundle shows the same owners.
TEST_F(IdMap, SameAsRunc) {
  ASSERT_EQ(::chown(vol_.c_str(), 100000, 100000), 0);
  MakeFile(vol_ + "/f", 100005, 100007);
  std::string sub = vol_ + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", sub.c_str(), "tmpfs", 0, "mode=755"), 0);
  submount_ = true;
  MakeFile(sub + "/g", 100006, 100006);
  json maps = json::array({Map(100000, 0, 65536)});
  for (const char* kind : {"idmap", "ridmap"}) {
    std::string bundle = Bundle({"stat", "-c", "%u:%g", "/tmp/vol", "/tmp/vol/f", "/tmp/vol/sub/g"},
                                {"rbind", kind}, maps, maps);
    auto ours = Berth({"run", "-b", bundle, NewId()});
    ASSERT_EQ(ours.status, 0) << ours.err;
    // runc 1.1 predates id-mapped mounts: only runc 1.4 is compared.
    for (const auto& rt : SideBySideRuntimes()) {
      if (rt.name != "runc-1.4") continue;
      auto theirs = RunWith(rt, {"run", "-b", bundle, NewId()});
      ASSERT_EQ(theirs.status, 0) << theirs.err;
      EXPECT_EQ(ours.out, theirs.out) << kind;
    }
  }
}

}  // namespace
}  // namespace berth::testing
