// Vonage signed webhooks: vonage-jwt (Authorization: Bearer HS256 JWT + payload_hash) and vonage-sig (legacy sig parameter).
// Byte-exact rules: docs/signatures.md and the vectors in
// src/core/providers/<name>/testdata/vectors. Contract as in
// signature_verifier.h: pure, immutable, constant-time, a reason per
// rejection. Errors from the factory name the key relative to the
// source's signature object.
#pragma once

#include <memory>

#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {

Result<std::unique_ptr<SignatureVerifier>> MakeVonageJwtVerifier(
    const SignatureConfig& config);
Result<std::unique_ptr<SignatureVerifier>> MakeVonageSigVerifier(
    const SignatureConfig& config);

}  // namespace dlrd
