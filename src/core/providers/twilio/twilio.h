// Twilio: X-Twilio-Signature, Messaging status callbacks (form), Verify events (JSON) and the Verify send API.
// This provider's entry in the registry (../registry.h).
#pragma once

#include "core/providers/registry.h"

namespace dlrd {

extern const Provider kTwilioProvider;

}  // namespace dlrd
