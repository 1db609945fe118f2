// Vonage: signed JWTs and the legacy `sig` parameter, Messages API, SMS DLR and Verify v2 callbacks, and the Verify v2 send API.
// This provider's entry in the registry (../registry.h).
#pragma once

#include "core/providers/registry.h"

namespace dlrd {

extern const Provider kVonageProvider;

}  // namespace dlrd
