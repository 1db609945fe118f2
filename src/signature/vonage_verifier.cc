#include "dlrd/signature/vonage_verifier.h"

namespace dlrd {

Result<std::unique_ptr<SignatureVerifier>> MakeVonageJwtVerifier(
    const SignatureConfig&) {
  return Result<std::unique_ptr<SignatureVerifier>>::Error(
      "scheme: \"vonage-jwt\" is not implemented yet");
}

Result<std::unique_ptr<SignatureVerifier>> MakeVonageSigVerifier(
    const SignatureConfig&) {
  return Result<std::unique_ptr<SignatureVerifier>>::Error(
      "scheme: \"vonage-sig\" is not implemented yet");
}

}  // namespace dlrd
