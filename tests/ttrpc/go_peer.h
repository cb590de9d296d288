// Running the ttrpc-go peer (go/ttrpc-peer) from the interop tests.
#pragma once

#include <gtest/gtest.h>
#include <grp.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace berth::ttrpc::testing {

#define BERTH_REQUIRE_GO_PEER()                                              \
  do {                                                                        \
    if (GoPeerPath().empty()) GTEST_SKIP() << "Go peer not built (no go)";    \
  } while (0)

// Runs `ttrpc-peer <args>` to completion; one JSON object per stdout line.
// `peer`: the binary, by default the one the build made.
inline std::vector<nlohmann::json> RunGoPeer(const std::vector<std::string>& args,
                                             std::function<void()> before_exec = {},
                                             const std::string& peer = GoPeerPath()) {
  std::vector<std::string> argv{peer};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(argv, std::move(before_exec));
  std::string out;
  int status = child.Wait(&out);
  EXPECT_TRUE(WIFEXITED(status)) << "ttrpc-peer died: status " << status << "\n" << out;
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
  }
  return lines;
}

// `ttrpc-peer serve`: a ttrpc-go server with the echo and containerd Events services.
class GoServer {
 public:
  explicit GoServer(const std::string& socket_path)
      : socket_(socket_path), child_({GoPeerPath(), "serve", "-socket", socket_path}) {
    auto ready = NextEvent(std::chrono::seconds(30));
    ready_ = ready && (*ready)["event"] == "ready";
  }
  bool ready() const { return ready_; }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return child_.pid(); }
  void Kill() { child_.Kill(SIGKILL); }

  std::optional<nlohmann::json> NextEvent(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto line = child_.ReadLine(timeout);
    if (!line) return std::nullopt;
    auto parsed = nlohmann::json::parse(*line, nullptr, false);
    if (parsed.is_discarded()) return std::nullopt;
    return parsed;
  }

 private:
  std::string socket_;
  ChildProcess child_;
  bool ready_ = false;
};

// For before_exec: become nobody/nogroup (or only change the group), as the peer
// credential tests need. Async-signal-safe.
inline void BecomeUser(uid_t uid, gid_t gid) {
  gid_t groups[] = {gid};
  if (::setgroups(1, groups) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) {
    ::_exit(126);
  }
}

}  // namespace berth::ttrpc::testing
