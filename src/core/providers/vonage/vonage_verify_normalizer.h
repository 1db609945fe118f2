// VonageVerifyNormalizer: Vonage Verify v2 callbacks (format
// "vonage-verify"; docs/providers.md §1). Signed with the vonage-jwt scheme.
// The payloads carry no phone number.
//
// Body: application/json, one object whose `type` selects the shape:
//   "event": { "request_id": "c11236f4-...", "type": "event",
//     "triggered_at": "2020-01-01T14:00:00.032Z", "channel": "sms",
//     "status": "completed", "finalized_at": "2020-01-01T15:00:00.001Z",
//     "client_ref": "..." }  -> one event.
//   "summary": { "request_id": "...", "type": "summary",
//     "submitted_at": "...", "status": "completed", "channel_timeout": 300,
//     "workflow": [ { "channel": "sms", "initiated_at": "...",
//                     "status": "expired" }, ... ], "price": ..., ... }
//     -> one event per workflow step whose status is not "unused", in
//     workflow order. The overall status repeats what the steps say, so it
//     yields an event (channel other) only when no step does (workflow
//     absent, empty or all unused), so that no outcome is counted twice.
//   any other type -> zero events (a shape this format does not know; a
//     400 would only make Vonage retry it).
// Unknown and unread fields are ignored (client_ref, submitted_at,
// initiated_at, channel_timeout, price, action, ...).
// Required: type, request_id and status (non-empty strings); for a
// summary, each workflow element is an object with a non-empty string
// status ("workflow[2].status: missing"; one bad step rejects the body).
// Optional: channel (string), triggered_at and finalized_at (strings; the
// Node SDK's type spells the former "triggerd_at", which is read when
// triggered_at is absent), workflow (an array). A present field of the
// wrong JSON type is an error; an unparsable timestamp only drops latency.
//
// Mapping (values compared ignoring ASCII case, raw value kept), shared by
// events, steps and the overall status:
//   completed -> verified (an event: the user passed the check on that
//     channel, e.g. entered the code or tapped "yes" on WhatsApp;
//     a step: the request completed on that step),
//   failed -> failed, expired -> expired,
//   user_rejected, rejected, blocked -> rejected (the user declined, or
//     Vonage refused the request, e.g. a velocity rule),
//   action_pending -> sent (silent auth waits for the device to open the
//     check URL), anything else -> unknown.
// Channel: sms -> sms, whatsapp and whatsapp_interactive -> whatsapp,
// voice -> voice; email, silent_auth, rcs and anything else -> other.
// verification_id = request_id; message_id, error_code, recipient and
// country are empty.
// latency_ms (events only): finalized_at - triggered_at when both parse and
// the difference is not negative: the time from the request being
// triggered to this outcome, including the user's time to respond; else
// none.
// Dedupe key: the signature event id when present (with ":<step index>"
// appended for summary steps), else
//   event:   "<request_id>:event:<channel>:<status>",
//   step:    the same key as the event callback that reported the same
//            outcome, "<request_id>:event:<step channel>:<step status>":
//            Vonage sends both, and the summary must not count an outcome
//            a second time. Two steps on one channel with one status are
//            one outcome for the same reason.
//   overall: "<request_id>:summary:<status>".
#pragma once

#include <memory>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class VonageVerifyNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "vonage"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeVonageVerifyNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
