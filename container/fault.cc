#include "container/fault.h"

namespace berth::container {

// Weak: the test builds' injector replaces it (fault.h).
[[gnu::weak]] Result<void> FaultPoint(const char*) { return {}; }

}  // namespace berth::container
