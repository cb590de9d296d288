// Shared pieces of the CVE regression tests: a fixture over the integration
// harness, the in-container attacker binary, private rootfs copies, and access
// to a running container's files from the host.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace berth::testing {

class CveTest : public BerthTest {
 protected:
  void SetUp() override;

  // A detached container; returns its id.
  std::string StartContainer(const std::vector<std::string>& args,
                             const std::function<void(nlohmann::json&)>& edit = nullptr);
  pid_t InitPid(const std::string& id);
  // `path` inside the container of init `pid`, seen from the host.
  static std::string Inside(pid_t pid, const std::string& path);
  // `berth exec args...`
  CommandResult Exec(std::vector<std::string> args, const SpawnOptions& options = {});

  // A writable copy of the busybox rootfs this test may change.
  std::string PrivateRootfs();
  // A mount of the attacker binary's directory at /attacker (read-only).
  nlohmann::json AttackerMount() const;

  std::string attacker_dir_;  // holds "attacker"
};

// Runs `body` in a child in private mount, uts, ipc and network namespaces and
// returns what it wrote.
std::string InPrivateMountNamespace(const std::function<std::string()>& body);

// The readable errno name for the tests' messages ("EXDEV", "ELOOP", ...).
std::string ErrnoName(int err);

}  // namespace berth::testing
