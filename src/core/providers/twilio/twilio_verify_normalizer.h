// TwilioVerifyEventsNormalizer: Twilio Verify Events delivered by an Event
// Streams webhook sink (format "twilio-verify-events"; docs/providers.md §1).
//
// Body: a JSON array of CloudEvents (a batched sink, the default), or one
// CloudEvent object (a sink created with "batch_events": false). Each event:
//   {"specversion", "type", "source", "id", "dataschema", "datacontenttype",
//    "time", "data": {...}}
// Content-Type: application/json, application/cloudevents-batch+json or
// application/cloudevents+json.
//
// Event types read (everything after the family prefix is the status):
// - com.twilio.accountsecurity.verify.message.<status> (Message Status
//   stream; sent, delivered, read, undelivered, failed). data:
//   verification_sid, attempt_sid, channel, message_status, error_code, to,
//   created_at (when the attempt was created), mcc, mnc, has_fallback, ...
// - com.twilio.accountsecurity.verify.attempt-dlr.<status> (the older,
//   restricted attempt DLR stream; existing subscriptions still deliver).
//   Same data with dlr_status instead of message_status.
// - com.twilio.accountsecurity.verify.verification.<status> (Verification
//   stream; pending, approved, canceled, expired, max-attempts-reached).
//   data: verification_sid, to, verification_status, send_code_attempts
//   {count, attempts[{attempt_sid, channel, time, ...}]}, ...
// Any other type (other Twilio products share the sink, the sink's test
// event, unknown Verify families) yields no event and is not an error, so
// one unrelated event never costs the batch. Such elements need only an id
// and a type.
//
// Required per element: "id" and "type" (non-empty strings); for the three
// families above also "data" (an object) and data.verification_sid. One
// malformed element rejects the whole body, e.g. "[2].data.verification_sid:
// missing" (no "[i]" prefix for a single-object body). Optional fields, when
// present, must have their JSON type (strings; error_code string or
// integer). An empty array is valid and yields no events.
//
// Status (from the type's <status>, compared ignoring ASCII case; the type
// is the event's discriminator, and Twilio's own examples show a
// message.failed event whose message_status says DELIVERED):
//   message / attempt-dlr: queued, accepted, scheduled, sending -> queued;
//     sent -> sent; delivered -> delivered; read -> read; undelivered ->
//     undelivered; failed -> failed; canceled -> rejected.
//   verification: pending -> sent (a code went out, delivery unknown);
//     approved -> verified; canceled -> rejected; expired -> expired;
//     max-attempts-reached -> failed.
//   Any other status -> unknown.
// raw_status = data.message_status / dlr_status / verification_status as
// received when present and non-empty, else the type's <status>.
// Channel (ignoring case): SMS -> sms, WHATSAPP -> whatsapp, CALL or VOICE ->
// voice, anything else (EMAIL, SNA, RCS, ...) or absent -> other. Taken from
// data.channel; verification events carry none, so the channel of the last
// element of data.send_code_attempts.attempts is used (ignored when that
// structure is malformed).
// verification_id = data.verification_sid; message_id = data.attempt_sid
// (empty for verification events); error_code = data.error_code as text.
// Recipient/country: NormalizeRecipient(data.to); empty when it is not a
// phone number (email channel). mcc and mnc are not in the model: ignored.
// latency_ms: for message / attempt-dlr events that map to delivered, the
// CloudEvent "time" minus data.created_at when both parse and the
// difference is not negative; otherwise nullopt.
// Dedupe key: JoinKeyParts({id}), the CloudEvent id, which Event Streams
// keeps across its retries and which is unique per event. When the
// signature scheme supplied an event id, JoinKeyParts({event_id, id}), so
// the events of one batch never share a key.
#pragma once

#include <memory>

#include "dlrd/core/normalize/payload_normalizer.h"

namespace dlrd {

class TwilioVerifyEventsNormalizer final : public PayloadNormalizer {
 public:
  Result<Normalized> Normalize(const InboundWebhook& hook,
                               const NormalizeContext& ctx) const override;
  std::string_view provider() const override { return "twilio"; }
  bool AcceptsContentType(std::string_view content_type) const override;
};

// The factory in the provider registry.
Result<std::unique_ptr<PayloadNormalizer>> MakeTwilioVerifyEventsNormalizer(
    const FormatOptions& options);

}  // namespace dlrd
