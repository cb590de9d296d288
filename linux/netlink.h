// rtnetlink, for what linux.netDevices needs: moving a network interface into another
// network namespace, renamed, with its permanent global addresses, and up.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::linux {

// An interface name the kernel accepts (dev_valid_name): 1 to 15 bytes, not "." or
// "..", without '/', ':' or whitespace.
bool ValidInterfaceName(std::string_view name);

// Moves interface `name` of the caller's network namespace into the one of `netns_fd`
// as `new_name` (one RTM_NEWLINK: no clash with a name of either namespace on the way),
// then gives it back its permanent addresses of global scope (the kernel drops them on
// a move) and sets it up, as runc 1.4's devChangeNetNamespace does.
Result<void> MoveInterface(const std::string& name, const std::string& new_name, int netns_fd);

}  // namespace berth::linux
