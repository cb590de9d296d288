// ENOSYS for syscalls the profile does not know: with a denying default action, a
// syscall numbered above every syscall of the profile fails with ENOSYS (glibc then
// falls back from clone3, faccessat2, ... in an image built for a newer kernel),
// while one the profile knows and does not allow gets the default errno. runc makes
// this rule (libcontainer/seccomp/patchbpf); so does berth (linux/seccomp_enosys.cc).
#include <sys/syscall.h>

#include <fstream>
#include <sstream>

#include "tests/integration/harness.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class SeccompEnosys : public BerthTest {};

TEST_F(SeccompEnosys, UnknownSyscallIsEnosysDeniedOneTheDefaultErrno) {
  std::stringstream docker;
  docker << std::ifstream(BERTH_SOURCE_DIR "/tests/fixtures/docker-default-seccomp.json").rdbuf();
  json profile = json::parse(docker.str());
  ASSERT_EQ(profile["defaultAction"], "SCMP_ACT_ERRNO");
  // 1000: above every syscall; add_key: known, not in Docker's profile (default EPERM).
  std::vector<std::string> args = {"/tmp/probe", "1000", std::to_string(SYS_add_key)};
  std::string bundle = MakeBundle(args, [&](json& s) {
    s["linux"]["seccomp"] = profile;
    s["mounts"].push_back({{"destination", "/tmp/probe"},
                           {"type", "bind"},
                           {"source", BERTH_SYSCALL_PROBE},
                           {"options", {"bind", "ro"}}});
  });
  for (const auto& rt : SideBySideRuntimes()) {
    SCOPED_TRACE(rt.name);
    auto r = RunWith(rt, {"run", "-b", bundle, NewId()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "ENOSYS\nEPERM\n");
  }
}

}  // namespace
}  // namespace berth::testing
