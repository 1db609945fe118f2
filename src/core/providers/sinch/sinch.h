// Sinch: callback signing (application, nonce and numbers variants), Verification and SMS delivery-report callbacks, and the Verification send API.
// This provider's entry in the registry (../registry.h).
#pragma once

#include "core/providers/registry.h"

namespace dlrd {

extern const Provider kSinchProvider;

}  // namespace dlrd
