// SinchSmsNormalizer: Sinch SMS API delivery-report callbacks (format
// "sinch-sms"; docs/providers.md §1). Use with scheme "sinch", variant "nonce".
//
// Body: application/json, one object whose `type` names its kind.
// 1. Recipient report (batch sent with delivery_report per_recipient or
//    per_recipient_final): one event.
//      {"type":"recipient_delivery_report_sms","batch_id":"01FC...",
//       "recipient":"+44...","code":401,"status":"Dispatched",
//       "at":"...","operator_status_at":"...","client_reference":"...",
//       "applied_originator":"...","encoding":"...",
//       "number_of_message_parts":1,"operator":"..."}
//    Required: batch_id, status, recipient (non-empty strings; the
//    recipient tells apart the reports of a multi-recipient batch).
// 2. Batch report (delivery_report summary or full): one event per
//    (statuses[] entry, recipient).
//      {"type":"delivery_report_sms","batch_id":"01FC...",
//       "statuses":[{"code":0,"count":1,"status":"Delivered",
//                    "recipients":["44..."]}],
//       "total_message_count":1,"client_reference":"..."}
//    Required: batch_id; statuses (an array, may be empty -> no event); in
//    each entry an object with `status`. `recipients` (full reports only)
//    is an optional array of non-empty strings. An entry that lists no
//    recipient (summary reports) yields ONE event without recipient: it
//    still says what became of the batch, which for an OTP is one message.
//    One malformed entry rejects the whole body ("statuses[2].status:
//    missing").
// The `_mms` variants of both types are read the same way. Any other
// `type` (inbound mo_text, new kinds) -> no event. `code` (integer or
// string) is optional everywhere; mcc/mnc, operator, encoding, counts and
// timestamps are not in the model and are ignored, as are unknown fields.
//
// Mapping (status compared ignoring ASCII case, raw value kept):
//   Queued -> queued, Dispatched -> sent, Delivered -> delivered,
//   Failed -> failed, Expired -> expired,
//   Rejected, Aborted, Cancelled, Deleted -> rejected,
//   Unknown and anything else -> unknown.
// Channel: sms for *_sms; other for *_mms (the model has no mms, and MMS
// failures must not count against SMS delivery).
// verification_id = message_id = batch_id; error_code = `code` as text
// ("0" when delivered, "401", "402"...: Sinch's status code is kept raw).
// latency_ms: never set; a report carries when the operator reported the
// status (`operator_status_at`) and when Sinch built it (`at`), but not
// when the message was submitted.
// Recipient/country: NormalizeRecipient(recipient, assume_international)
// (full reports list "447700900123" without '+'); empty when unusable.
// Dedupe key (docs/signatures.md §1 rule 6), with R = the E.164 recipient, or
// the raw one when it does not normalize:
//   recipient report and full-report entry: "<batch_id>:<R>:<status>", so
//     the same fact keys the same whichever report type carried it;
//   summary entry: "<batch_id>:summary:<status>:<code>" (entries are per
//     status code, so the code tells two Failed entries apart).
// With a signature event id E: a recipient report uses E; batch events use
// "<E>:<R>:<status>" / "<E>:summary:<status>:<code>", so no two events of
// one body share a key.
#pragma once

#include <memory>

#include <string_view>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class SinchSmsNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "sinch"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeSinchSmsNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
