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

// Found by the state_record fuzzer: a negative pid was taken (kill(2) of -5 signals
// process group 5), and a pid or start_time written as an out-of-range or fractional
// double was converted with undefined behaviour.
TEST(StateStore, RecordRefusesPidsAndStartTimesBerthNeverWrites) {
  for (const char* bad : {R"({"id":"c1","bundle":"/b","pid":-5})",
                          R"({"id":"c1","bundle":"/b","pid":1e30})",
                          R"({"id":"c1","bundle":"/b","pid":4294967296})",
                          R"({"id":"c1","bundle":"/b","start_time":-1.5})",
                          R"({"id":"c1","bundle":"/b","start_time":"7"})"})
    EXPECT_FALSE(RecordFromJson(bad)) << bad;
  auto absent = RecordFromJson(R"({"id":"c1","bundle":"/b"})");
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_EQ(absent->pid, 0);
  EXPECT_EQ(absent->start_time, 0u);
}

TEST(StateStore, ContainerIdRules) {
  EXPECT_TRUE(ValidateContainerId("abc-1.2_3"));
  for (const char* bad : {"", ".", "..", "a/b", "a b", "tab\t"})
    EXPECT_FALSE(ValidateContainerId(bad)) << bad;
}

}  // namespace
}  // namespace berth::container
