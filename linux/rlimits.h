// process.rlimits names -> RLIMIT_* numbers.
#pragma once

#include <string_view>
#include <vector>
#include <string>

namespace berth::linux {

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown.
int RlimitNumber(std::string_view name);
std::vector<std::string> KnownRlimitNames();

}  // namespace berth::linux
