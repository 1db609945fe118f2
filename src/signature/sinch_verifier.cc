#include "dlrd/signature/sinch_verifier.h"

namespace dlrd {

Result<std::unique_ptr<SignatureVerifier>> MakeSinchVerifier(
    const SignatureConfig&) {
  return Result<std::unique_ptr<SignatureVerifier>>::Error(
      "scheme: \"sinch\" is not implemented yet");
}

}  // namespace dlrd
