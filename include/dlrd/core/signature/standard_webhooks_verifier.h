// StandardWebhooksVerifier: Standard Webhooks v1 (and Svix's svix-* names).
//
// Signed content: `<id>.<timestamp>.<raw body>`, HMAC-SHA256, base64. The
// signature header is a space-separated list of `version,signature`; any v1
// entry that matches any key accepts. Other versions (v1a, v2) are skipped.
// Headers are read as svix-* first, then webhook-* (as Svix's own wrapper).
// The timestamp must be all digits and within +-tolerance of now, inclusive.
// Keys are `whsec_` + base64 (prefix optional, padding optional), decoded
// once at construction; an empty or undecodable key is refused by the
// factory. The webhook id is returned as SignatureCheck::event_id.
#pragma once

#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {

class StandardWebhooksVerifier final : public SignatureVerifier {
 public:
  // Decodes a configured secret to its HMAC key. nullopt when the secret is
  // not base64 or decodes to nothing.
  static std::optional<std::string> DecodeSecret(std::string_view secret);

  // REQUIRES: keys non-empty, each key non-empty (already decoded).
  StandardWebhooksVerifier(std::vector<std::string> keys,
                           int64_t tolerance_s);

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override;
  std::vector<RejectReason> Reasons() const override;
  size_t secret_count() const override { return keys_.size(); }
  std::vector<std::string> HeadersRead() const override;
  bool event_id_is_stable() const override { return true; }

 private:
  std::vector<std::string> keys_;
  int64_t tolerance_s_;
};

}  // namespace dlrd
