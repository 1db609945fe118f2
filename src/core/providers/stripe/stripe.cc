#include "core/providers/stripe/stripe.h"

#include "core/providers/stripe/stripe_verifier.h"

namespace dlrd {
namespace {

constexpr VerifierFactory kVerifiers[] = {
    {"stripe", MakeStripeVerifier},
};

}  // namespace

const Provider kStripeProvider = {"stripe", kVerifiers, {}, {}};

}  // namespace dlrd
