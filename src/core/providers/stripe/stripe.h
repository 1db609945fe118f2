// Stripe-style signing (`Stripe-Signature: t=..,v1=..`), for senders that sign that way. A scheme only: no payload format or send API.
// This provider's entry in the registry (../registry.h).
#pragma once

#include "core/providers/registry.h"

namespace dlrd {

extern const Provider kStripeProvider;

}  // namespace dlrd
