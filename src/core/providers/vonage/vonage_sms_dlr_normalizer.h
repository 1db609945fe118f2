// VonageSmsDlrNormalizer: Vonage SMS API delivery receipts (format
// "vonage-sms-dlr"; docs/providers.md §1). Signed with the vonage-sig scheme
// when signed webhooks are enabled on the account.
//
// Body: the dashboard's "POST-JSON" sends application/json, its "POST"
// sends application/x-www-form-urlencoded (dlrd takes POST only, so the
// "GET" method is not supported). The same flat parameters either way:
//   { "msisdn": "447700900000", "to": "Vonage", "network-code": "23410",
//     "messageId": "0B00000127FDBC63", "price": "0.03330000",
//     "status": "delivered", "scts": "1810251310", "err-code": "0",
//     "message-timestamp": "2018-10-25 12:10:29", "api-key": "...",
//     "client-ref": "...", "timestamp": "...", "nonce": "...", "sig": "..." }
// The body is parsed as a form iff the Content-Type media type is
// application/x-www-form-urlencoded, otherwise as a JSON object.
// Unknown and unread fields are ignored (to, network-code with its MCC/MNC,
// price, scts, message-timestamp, api-key, client-ref and the signature
// parameters timestamp, nonce, sig).
// Inbound messages: a body without `status` but with `type` (text, unicode
// or binary) is an SMS API inbound message, posted here when the inbound
// webhook URL points at dlrd too. It yields zero events and a 200, so
// Vonage does not resend it and no payload_rejected warning is logged.
// Required: messageId and status (present, non-empty; in a form, not
// repeated). Optional: msisdn and err-code. In JSON, messageId, msisdn and
// err-code may be strings or integers, status must be a string; a present
// field of the wrong type is an error.
//
// Mapping (values compared ignoring ASCII case, raw value kept):
//   accepted, buffered -> sent (the carrier has the message: accepted for
//     delivery, or buffered for later delivery; neither is final),
//   delivered -> delivered, expired -> expired, failed -> failed,
//   rejected -> rejected, unknown and anything else -> unknown.
// Channel: always sms.
// error_code: err-code as received, except "0" (no error) -> empty.
// verification_id = message_id = messageId (one per SMS part: a long
// message is concatenated and each part gets its own id and DLRs).
// Recipient/country: NormalizeRecipient(msisdn, assume_international).
// latency_ms: never. message-timestamp is when Vonage started pushing the
// receipt and scts is when the carrier reported it (minute precision);
// neither is the submission time, so no latency can be derived.
// Dedupe key: the signature event id when present, else
// "<messageId>:<status>:<err-code>" (err-code as received, "" when absent):
// stable across Vonage's retries of one receipt, distinct for an
// intermediate and a final receipt of the same part.
#pragma once

#include <memory>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class VonageSmsDlrNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "vonage"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeVonageSmsDlrNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
