// Message Central VerifyNow: delivery callbacks (JSON) and the Verify send API.
// This provider's entry in the registry (../registry.h).
#pragma once

#include "core/providers/registry.h"

namespace dlrd {

extern const Provider kVerifyNowProvider;

}  // namespace dlrd
