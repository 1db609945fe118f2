// TwilioMessagingNormalizer: Twilio Programmable Messaging status callbacks
// (format "twilio-messaging"; docs/providers.md §1).
//
// Body: application/x-www-form-urlencoded, e.g.
//   MessageSid=SM...&SmsSid=SM...&MessageStatus=undelivered&To=%2B1...&
//   From=%2B1...&AccountSid=AC...&ApiVersion=2010-04-01&ErrorCode=30003
// Twilio adds fields without notice; unknown fields are ignored.
// Required: MessageSid and MessageStatus (present, non-empty, not repeated).
// Optional: To, From, ErrorCode (each at most once).
//
// Mapping (status values compared ignoring ASCII case, raw value kept):
//   queued, accepted, scheduled, sending -> queued
//   sent -> sent, delivered -> delivered, read -> read,
//   undelivered -> undelivered, failed -> failed,
//   canceled -> rejected (a scheduled message cancelled before sending: it
//     will never be delivered, so it is a terminal failure on our side),
//   anything else (partially_delivered, new values) -> unknown.
// Channel: whatsapp when To or From starts with "whatsapp:"; other when
// either carries another "<channel>:" prefix (messenger:, rcs:, ...);
// otherwise sms.
// verification_id = message_id = MessageSid; error_code = ErrorCode.
// Recipient/country: NormalizeRecipient(To); left empty when unusable.
// Dedupe key: the signature event id when present, else
// "<MessageSid>:<MessageStatus>" (docs/signatures.md §1 rule 6).
#pragma once

#include <memory>

#include <string_view>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

// The Messaging status table above: `raw` (compared ignoring ASCII case) to
// its normalized status, kUnknown for any other value. Shared with the
// message and attempt-dlr families of twilio-verify-events, which report the
// same Messaging vocabulary.
DeliveryStatus MapTwilioMessageStatus(std::string_view raw);

class TwilioMessagingNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "twilio"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeTwilioMessagingNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
