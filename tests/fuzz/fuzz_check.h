// What the fuzz targets share: a property that fails aborts, so that libFuzzer keeps
// the input as a crash (a plain assert would vanish under NDEBUG).
#pragma once

#include <cstdlib>

namespace berth::fuzz {

inline void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace berth::fuzz
