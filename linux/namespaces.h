// Namespace kinds: config.json names, clone(2) flags and /proc/<pid>/ns names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::linux {

struct NamespaceKind {
  std::string_view spec_name;  // "network"
  std::string_view proc_name;  // "net"
  int clone_flag;              // CLONE_NEWNET
};

// The kinds in the order namespaces must be joined: user first, then the rest.
const NamespaceKind* NamespaceKinds(size_t* count);
std::optional<NamespaceKind> FindNamespaceKind(std::string_view spec_name);

// setns(2) into the namespace file at `path`, checking it is of kind `clone_flag`.
Result<void> JoinNamespace(const std::string& path, int clone_flag);

}  // namespace berth::linux
