// SinchVerificationNormalizer: Sinch Verification callbacks (format
// "sinch-verification"; docs/providers.md §1). Use with scheme "sinch", variant
// "application".
//
// Body: application/json, one object whose `event` names its kind:
//   {"id":"1234567890","event":"VerificationResultEvent","method":"sms",
//    "identity":{"type":"number","endpoint":"+44..."},"status":"FAIL",
//    "reason":"Fraud","source":"manual","reference":"...","custom":"..."}
// Required: `id` (string or integer) and `event` (string); `status` for a
// VerificationResultEvent and `smsResult` for a VerificationSmsDeliveredEvent
// (present, non-empty strings). Optional, type-checked when present:
// `method`, `reason` (strings) and `identity` (an object with string `type`
// and `endpoint`). `price`, `reference`, `custom`, `source` and unknown
// fields are ignored.
//
// Events (event names matched exactly, as Sinch documents them):
//   VerificationRequestEvent -> one event, status queued (a verification
//     was requested), raw_status "VerificationRequestEvent", and a reply:
//     200 with {"action":"allow"} or {"action":"deny"} from
//     FormatOptions::request_action ("deny" denies, anything else allows;
//     the config accepts only those two). `action` is the only required
//     member of Sinch's answer; the per-method objects (sms code, flashCall
//     cli, ...) are optional and never sent. A deny is followed by Sinch's
//     VerificationResultEvent DENIED / "Denied by callback".
//   VerificationResultEvent -> one event; status (compared ignoring ASCII
//     case, raw value kept):
//       SUCCESSFUL -> verified, PENDING -> sent, FAIL -> failed,
//       ERROR -> failed, DENIED -> rejected,
//       ABORTED -> rejected (Sinch: "aborted by requesting a new
//         verification"; replaced, not timed out, so not expired),
//       anything else -> unknown.
//     error_code = `reason` as sent ("Fraud", "SMS delivery failure",
//     "Expired", ...), so the fallback engine can tell fraud from
//     delivery failures.
//   VerificationSmsDeliveredEvent -> one event, channel sms whatever
//     `method` says; smsResult Successful -> delivered, Failed -> failed,
//     anything else -> unknown (compared ignoring case, raw value kept).
//   Any other `event` -> no event and no reply (dlrd's own 200 answer):
//     Sinch may add event kinds, and a 4xx for them would be noise. A body
//     without `id` or `event` is still an error.
// Channel from `method` (ignoring case): sms -> sms, whatsapp -> whatsapp,
// callout -> voice, flashcall -> voice (a missed call on the voice network;
// its failures are voice-reachability failures), anything else (seamless,
// absent, new values) -> other.
// verification_id = `id` (Sinch's verification id, shared by every event of
// one verification); message_id is empty; latency_ms is never set (no
// timestamps in the body).
// Recipient/country: NormalizeRecipient(identity.endpoint) when
// identity.type is "number" or absent; empty otherwise or when unusable.
// Dedupe key: the signature event id when present, else
// "<id>:VerificationRequestEvent", "<id>:VerificationResultEvent:<status>"
// or "<id>:VerificationSmsDeliveredEvent:<smsResult>" (JoinKeyParts).
#pragma once

#include <memory>

#include <string_view>
#include <utility>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class SinchVerificationNormalizer final : public PayloadNormalizer {
 public:
  explicit SinchVerificationNormalizer(FormatOptions options)
      : options_(std::move(options)) {}
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "sinch"; }
  bool AcceptsContentType(std::string_view content_type) const override;

 private:
  FormatOptions options_;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeSinchVerificationNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
