#include "dlrd/signature/twilio_verifier.h"

namespace dlrd {

Result<std::unique_ptr<SignatureVerifier>> MakeTwilioVerifier(
    const SignatureConfig&) {
  return Result<std::unique_ptr<SignatureVerifier>>::Error(
      "scheme: \"twilio\" is not implemented yet");
}

}  // namespace dlrd
