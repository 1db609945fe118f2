// VerifyNowNormalizer: Message Central VerifyNow delivery callbacks.
//
// Body (JSON object; the shape in the issue, which Message Central's public
// API pages do not document -- docs/providers.md §2 -- so it is kept permissive):
//   { "verificationId": <string|number>, "deliveryStatus": "DELIVERED" |
//     "FAILED" | "PENDING", "channel": "SMS" | "WHATSAPP" | "VOICE",
//     "latencyMs": <non-negative integer, optional>,
//     "mobileNumber": <optional>, "countryCode": <optional>, ... }
// Mapping: DELIVERED -> delivered, FAILED -> failed, PENDING -> sent, other
// values -> unknown (raw kept). Channels map case-insensitively; others ->
// other. The recipient is taken as E.164 ("+" countryCode mobileNumber) when
// both are present and form 8-15 digits; otherwise it is left empty.
// Dedupe key: the signature event id when present, else
// "<verificationId>:<channel>:<deliveryStatus>".
#pragma once

#include <memory>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class VerifyNowNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "verifynow"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeVerifyNowNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
