// HmacVerifier: a MAC of the raw body in one header (the "hmac" scheme).
//
// The header value is `prefix` + encode(HMAC-alg(secret, raw body)). The
// prefix, when configured, must be present exactly (GitHub's "sha256=").
// Hex is compared after decoding, so upper- and lowercase hex both match.
// More than one instance of the header is refused as ambiguous.
#pragma once

#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {

class HmacVerifier final : public SignatureVerifier {
 public:
  enum class Encoding { kHex, kBase64 };
  // REQUIRES: secrets non-empty, each secret non-empty.
  HmacVerifier(std::string header, HashAlgorithm alg, Encoding encoding,
               std::string prefix, std::vector<std::string> secrets);

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override;
  std::vector<RejectReason> Reasons() const override;
  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override { return {header_}; }

 private:
  std::string header_;
  HashAlgorithm alg_;
  Encoding encoding_;
  std::string prefix_;
  std::vector<std::string> secrets_;
};

}  // namespace dlrd
