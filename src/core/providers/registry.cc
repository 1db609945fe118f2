#include "core/providers/registry.h"

#include "core/providers/sinch/sinch.h"
#include "core/providers/stripe/stripe.h"
#include "core/providers/twilio/twilio.h"
#include "core/providers/verifynow/verifynow.h"
#include "core/providers/vonage/vonage.h"

namespace dlrd {
namespace {

constexpr VerifierFactory kGenericVerifiers[] = {
    {"hmac", MakeHmacVerifier},
    {"standard-webhooks", MakeStandardWebhooksVerifier},
};
const Provider kGeneric = {"generic", kGenericVerifiers, {}, {}};

// One line per provider.
const Provider* const kProviders[] = {
    &kGeneric,            //
    &kVerifyNowProvider,  //
    &kTwilioProvider,     //
    &kVonageProvider,     //
    &kSinchProvider,      //
    &kStripeProvider,     //
};

}  // namespace

std::span<const Provider* const> Providers() { return kProviders; }

}  // namespace dlrd
