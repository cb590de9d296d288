// linux.intelRdt: berth does not drive resctrl. A config that asks for it is refused at
// create, before anything is made, with the reason (the spec requires an error where no
// resctrl is mounted; where one is, berth would have to write it, which it cannot yet).
#pragma once

#include "base/result.h"
#include "oci/spec.h"

namespace berth::container {

Result<void> CheckIntelRdt(const oci::Spec& spec);

// A resctrl filesystem in our mount namespace.
bool ResctrlMounted();

}  // namespace berth::container
