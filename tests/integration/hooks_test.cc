// All six hooks: order, state on stdin, namespaces, and failure handling.
#include <unistd.h>

#include <sstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Hooks : public BerthTest {
 protected:
  // A hook that appends "<name> <stdin>" and the hostname it sees to `log`.
  static json Hook(const std::string& name, const std::string& log) {
    return {{"path", "/bin/sh"},
            {"args", {"sh", "-c", "echo \"" + name + " $(hostname) $(cat)\" >> " + log}}};
  }
};

TEST_F(Hooks, RunInOrderWithStateOnStdinAndInTheRightNamespaces) {
  // A number in the id that once served as the pid's marker (issue 17 point 6).
  std::string id = NewId() + "-987654321";
  ids_.push_back(id);
  std::string log = dir_ + "/hooks.log";
  std::string bundle = MakeBundle({"true"}, [&](json& s) {
    s["hooks"] = {{"prestart", {Hook("prestart", log)}},
                  {"createRuntime", {Hook("createRuntime", log)}},
                  {"createContainer", {Hook("createContainer", log)}},
                  {"startContainer", {Hook("startContainer", log)}},
                  {"poststart", {Hook("poststart", log)}},
                  {"poststop", {Hook("poststop", log)}}};
    s["annotations"] = {{"org.example/key", "value"}};
    // startContainer runs after pivot_root: give it the log at the same path.
    s["mounts"].push_back({{"destination", dir_}, {"type", "bind"}, {"source", dir_},
                           {"options", {"rbind"}}});
  });
  ASSERT_EQ(Berth({"create", "-b", bundle, id}).status, 0);
  int pid = State(id)["pid"].get<int>();
  ASSERT_EQ(Berth({"start", id}).status, 0);
  ASSERT_TRUE(WaitForStatus(id, "stopped"));
  ASSERT_EQ(Berth({"delete", id}).status, 0);

  char host[256] = {};
  ::gethostname(host, sizeof host);
  std::istringstream in(ReadFileOrEmpty(log));
  std::vector<std::string> order;
  std::string name, hostname;
  while (in >> name >> hostname) {
    std::string rest;
    std::getline(in, rest);
    order.push_back(name);
    json state = json::parse(rest, nullptr, false);
    ASSERT_TRUE(state.is_object()) << name << ": " << rest;
    EXPECT_EQ(state["id"], id) << name;
    EXPECT_EQ(state["bundle"], bundle) << name;
    EXPECT_EQ(state["annotations"]["org.example/key"], "value") << name;
    if (name != "poststop") EXPECT_EQ(state["pid"], pid) << name;
    std::string expected_status = name == "poststart" ? "running"
                                  : name == "poststop" ? "stopped"
                                                       : "created";
    EXPECT_EQ(state["status"], expected_status) << name;
    // Runtime-namespace hooks see the host's hostname, container ones the container's.
    bool in_container = name == "createContainer" || name == "startContainer";
    EXPECT_EQ(hostname, in_container ? "berth" : host) << name;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                             "startContainer", "poststart", "poststop"}));
}

TEST_F(Hooks, FailingPoststartAndPoststopAreOnlyWarnings) {
  std::string id = NewId();
  json fail = {{"path", "/bin/false"}};
  std::string bundle = MakeBundle({"sleep", "100"}, [&](json& s) {
    s["hooks"] = {{"poststart", {fail}}, {"poststop", {fail}}};
  });
  ASSERT_EQ(Berth({"create", "-b", bundle, id}).status, 0);
  auto s = Berth({"start", id});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.err.find("poststart hook 0 (/bin/false) exited with status 1"), std::string::npos)
      << s.err;
  EXPECT_EQ(State(id)["status"], "running");
  auto d = Berth({"delete", "--force", id});
  EXPECT_EQ(d.status, 0);
  EXPECT_NE(d.err.find("poststop"), std::string::npos) << d.err;
  EXPECT_NE(Berth({"state", id}).status, 0);
}

TEST_F(Hooks, FailingStartContainerHookFailsStart) {
  std::string id = NewId();
  std::string bundle = MakeBundle({"sleep", "100"}, [&](json& s) {
    s["hooks"] = {{"startContainer", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exit 4"}}}}}};
  });
  ASSERT_EQ(Berth({"create", "-b", bundle, id}).status, 0);
  auto s = Berth({"start", id});
  EXPECT_EQ(s.status, 1);
  EXPECT_NE(s.err.find("startContainer hook 0 (/bin/sh) exited with status 4"), std::string::npos)
      << s.err;
  EXPECT_TRUE(WaitForStatus(id, "stopped"));
}

TEST_F(Hooks, HookTimeoutKillsTheHookAndFailsCreate) {
  std::string id = NewId();
  std::string bundle = MakeBundle({"true"}, [&](json& s) {
    s["hooks"] = {{"createRuntime", {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}}}};
  });
  auto start = std::chrono::steady_clock::now();
  auto r = Berth({"create", "-b", bundle, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_NE(Berth({"state", id}).status, 0);
}

}  // namespace
}  // namespace berth::testing
