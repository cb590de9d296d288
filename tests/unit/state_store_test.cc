#include <gtest/gtest.h>

#include "container/state_store.h"

namespace berth::container {
namespace {

TEST(StateStore, RecordRoundTrips) {
  ContainerRecord r;
  r.id = "c1";
  r.bundle = "/b";
  r.pid = 42;
  r.start_time = 12345;
  r.annotations = {{"k", "v"}};
  r.joined_namespaces = {{"network", "/proc/1/ns/net"}};
  r.new_namespaces = {"pid", "mount"};
  auto back = RecordFromJson(RecordToJson(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, "c1");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_time, 12345u);
  EXPECT_EQ(back->annotations, r.annotations);
  EXPECT_EQ(back->joined_namespaces, r.joined_namespaces);
  EXPECT_EQ(back->new_namespaces, r.new_namespaces);
  EXPECT_FALSE(RecordFromJson("{"));
  EXPECT_FALSE(RecordFromJson("{}"));
}

TEST(StateStore, ContainerIdRules) {
  EXPECT_TRUE(ValidateContainerId("abc-1.2_3"));
  for (const char* bad : {"", ".", "..", "a/b", "a b", "tab\t"})
    EXPECT_FALSE(ValidateContainerId(bad)) << bad;
}

}  // namespace
}  // namespace berth::container
