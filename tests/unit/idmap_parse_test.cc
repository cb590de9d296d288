// Id-mapped mounts in config.json: mappings and the idmap/ridmap options, checked
// when the config is parsed, before anything is created.
#include <gtest/gtest.h>

#include "linux/mount_options.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

Result<Spec> WithMount(const std::string& mount) {
  return ParseSpec(R"({"ociVersion":"1.3.0","root":{"path":"r"},"mounts":[)" + mount + "]}");
}

constexpr const char* kMap = R"([{"containerID":0,"hostID":100000,"size":65536}])";

std::string Bind(const std::string& options, const std::string& extra) {
  return R"({"destination":"/v","type":"bind","source":"/s","options":)" + options + extra + "}";
}

// The error names the field: its path is the start of the one line.
void ExpectRefusedAt(const Result<Spec>& spec, const std::string& path) {
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message.rfind(path, 0), 0u) << spec.error().message;
  EXPECT_EQ(spec.error().message.find('\n'), std::string::npos);
}

TEST(IdMapParse, ReadsMappingsOnABind) {
  auto spec = WithMount(Bind(R"(["rbind","ridmap"])", std::string(R"(,"uidMappings":)") + kMap +
                                                          R"(,"gidMappings":)" + kMap));
  ASSERT_TRUE(spec) << spec.error().message;
  const Mount& m = spec->mounts[0];
  ASSERT_EQ(m.uid_mappings.size(), 1u);
  EXPECT_EQ(m.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(m.gid_mappings[0].size, 65536u);
  EXPECT_TRUE(m.IsBind());
  EXPECT_TRUE(m.IsIdMapped());
}

TEST(IdMapParse, OptionsAloneAreIdMapped) {
  auto spec = WithMount(Bind(R"(["bind","idmap"])", ""));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_TRUE(spec->mounts[0].IsIdMapped());
  auto plain = WithMount(Bind(R"(["bind"])", ""));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->mounts[0].IsIdMapped());
}

TEST(IdMapParse, MappingsOnlyOnBindMounts) {
  ExpectRefusedAt(WithMount(std::string(R"({"destination":"/v","type":"tmpfs","source":"tmpfs",)") +
                            R"("uidMappings":)" + kMap + R"(,"gidMappings":)" + kMap + "}"),
                  "mounts[0].uidMappings");
  ExpectRefusedAt(WithMount(R"({"destination":"/v","type":"tmpfs","options":["idmap"]})"),
                  "mounts[0].options");
}

TEST(IdMapParse, BothKindsOfMapping) {
  ExpectRefusedAt(WithMount(Bind(R"(["bind"])", std::string(R"(,"uidMappings":)") + kMap)),
                  "mounts[0].gidMappings");
  ExpectRefusedAt(WithMount(Bind(R"(["bind"])", std::string(R"(,"gidMappings":)") + kMap)),
                  "mounts[0].uidMappings");
}

TEST(IdMapParse, SizeAndRange) {
  auto with = [](const std::string& uid) {
    return WithMount(Bind(R"(["bind"])", R"(,"uidMappings":)" + uid + R"(,"gidMappings":)" + kMap));
  };
  ExpectRefusedAt(with(R"([{"containerID":0,"hostID":1,"size":0}])"), "mounts[0].uidMappings[0].size");
  ExpectRefusedAt(with(R"([{"containerID":4294967295,"hostID":1,"size":2}])"),
                  "mounts[0].uidMappings[0]");
  ExpectRefusedAt(with(R"([{"containerID":0,"hostID":1,"size":1},{"containerID":1,"hostID":4294967295,"size":2}])"),
                  "mounts[0].uidMappings[1]");
  EXPECT_TRUE(with(R"([{"containerID":0,"hostID":4294967295,"size":1}])"));
  ExpectRefusedAt(with(R"([{"containerID":0,"hostID":-1,"size":1}])"), "mounts[0].uidMappings[0].hostID");
}

TEST(IdMapParse, MountOptionsAreNotFilesystemData) {
  auto o = linux::ParseMountOptions({"rbind", "idmap", "ro"});
  EXPECT_TRUE(o.idmap);
  EXPECT_FALSE(o.ridmap);
  EXPECT_TRUE(o.data.empty());
  auto r = linux::ParseMountOptions({"bind", "ridmap"});
  EXPECT_TRUE(r.ridmap);
  EXPECT_TRUE(r.data.empty());
}

}  // namespace
}  // namespace berth::oci
