// VonageMessagesNormalizer: Vonage Messages API (v1) message status
// callbacks (format "vonage-messages"; docs/providers.md §1). Signed with the
// vonage-jwt scheme.
//
// Body: application/json, one object per callback, e.g.
//   { "message_uuid": "aaaaaaaa-...", "to": "447700900000",
//     "from": "447700900001", "timestamp": "2025-02-03T12:14:25Z",
//     "status": "rejected", "channel": "sms", "client_ref": "...",
//     "usage": {...}, "destination": {"network_code": "23410"},
//     "error": { "type": "https://developer.vonage.com/api-errors/
//       messages#1000", "title": "1000", "detail": "...", "instance": "..." } }
// Unknown and unread fields are ignored (timestamp, usage, destination and
// its MCC/MNC network code, sms, whatsapp, workflow, client_ref, from).
// Required: message_uuid and status (non-empty strings).
// Optional: channel and to (strings); error (an object) with type (string)
// and title (string or integer). A present field of the wrong JSON type is
// an error.
//
// Inbound messages: a body without `status` but with `message_type` or
// `text` is an inbound message (e.g. a STOP reply) posted here because the
// application's inbound_url points at dlrd too. It yields zero events and a
// 200, which acknowledges it without a payload_rejected warning per inbound
// message (Vonage retries only 429 and 5xx answers). A body with none of
// them is rejected as "status: missing".
//
// Mapping (values compared ignoring ASCII case, raw value kept):
//   submitted -> sent (handed to the channel provider or carrier),
//   delivered -> delivered, read -> read, rejected -> rejected,
//   undeliverable -> undelivered, anything else -> unknown.
// Channel: sms -> sms, whatsapp -> whatsapp; mms, rcs, viber_service,
// messenger and anything else -> other (the Messages API has no voice).
// error_code: error.title when it is a number (Vonage sends the Messages
// error code there, as "1000" or 1000); else the digits after '#' in
// error.type; else error.title as received; else empty.
// verification_id = message_id = message_uuid.
// Recipient/country: NormalizeRecipient(to, assume_international) for the
// channels whose `to` is a phone number without '+' (sms, mms, whatsapp,
// rcs, viber_service); empty for messenger (a page-scoped id) and others.
// latency_ms: never (the callback carries only the status time).
// Dedupe key: the signature event id when present, else
// "<message_uuid>:<status>" (docs/signatures.md §1 rule 6).
#pragma once

#include <memory>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class VonageMessagesNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "vonage"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeVonageMessagesNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
