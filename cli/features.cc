// `features`: what this build of berth supports (runtime-spec features.md).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "linux/capabilities.h"
#include "linux/files.h"
#include "linux/namespaces.h"

namespace berth::cli {
namespace {

using OJson = nlohmann::ordered_json;

bool AppArmorEnabled() {
  auto v = linux::ReadFile("/sys/module/apparmor/parameters/enabled");
  return v && !v->empty() && (*v)[0] == 'Y';
}

OJson Features() {
  OJson j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = std::string(oci::kSpecVersion);
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                "poststop"};
  j["mountOptions"] = {
      "async",     "atime",     "bind",        "defaults",    "dev",        "diratime",
      "dirsync",   "exec",      "iversion",    "lazytime",    "loud",       "mand",
      "noatime",   "nodev",     "nodiratime",  "noexec",      "noiversion", "nolazytime",
      "nomand",    "norelatime", "nostrictatime", "nosuid",   "private",    "rbind",
      "rdev",      "rdiratime", "relatime",    "remount",     "rexec",      "rnoatime",
      "rnodev",    "rnodiratime", "rnoexec",   "rnosuid",     "rnosymfollow", "ro",
      "rprivate",  "rrelatime", "rro",         "rrw",         "rshared",    "rslave",
      "rstrictatime", "rsuid",  "rsymfollow",  "runbindable", "rw",         "shared",
      "silent",    "slave",     "strictatime", "suid",        "sync",       "unbindable"};
  OJson linux_part;
  size_t n;
  const linux::NamespaceKind* kinds = linux::NamespaceKinds(&n);
  OJson ns = OJson::array();
  for (size_t i = 0; i < n; ++i) ns.push_back(std::string(kinds[i].spec_name));
  linux_part["namespaces"] = ns;
  linux_part["capabilities"] = linux::KnownCapabilityNames();
  linux_part["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}};
  linux_part["seccomp"] = {
      {"enabled", true},
      {"actions",
       {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
        "SCMP_ACT_TRAP"}},
      {"operators",
       {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
        "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
      {"archs",
       {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32"}},
      {"knownFlags",
       {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
      {"supportedFlags",
       {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}}};
  linux_part["apparmor"] = {{"enabled", AppArmorEnabled()}};
  linux_part["selinux"] = {{"enabled", linux::PathExists("/sys/fs/selinux/enforce")}};
  linux_part["intelRdt"] = {{"enabled", false}};
  j["linux"] = linux_part;
  j["annotations"] = {{"org.opencontainers.runtime-spec.features.berth.version", "0.1.0"}};
  return j;
}

}  // namespace

void AddFeatures(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("features", "print what berth supports, as JSON");
  cmd->callback([&action] {
    action = [](const container::Runtime&) -> Result<int> {
      std::printf("%s\n", Features().dump(4).c_str());
      return 0;
    };
  });
}

}  // namespace berth::cli
