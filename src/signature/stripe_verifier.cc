#include "dlrd/signature/stripe_verifier.h"

namespace dlrd {

Result<std::unique_ptr<SignatureVerifier>> MakeStripeVerifier(
    const SignatureConfig&) {
  return Result<std::unique_ptr<SignatureVerifier>>::Error(
      "scheme: \"stripe\" is not implemented yet");
}

}  // namespace dlrd
