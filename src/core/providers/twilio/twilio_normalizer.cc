#include "core/providers/twilio/twilio_normalizer.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/util/form.h"
#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/model/phone.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

// The form fields the normalizer reads, already checked.
struct TwilioFields {
  std::string message_sid;
  std::string message_status;
  std::string to;          // may be empty
  std::string from;        // may be empty
  std::string error_code;  // may be empty
};

Result<TwilioFields> ReadFields(const FormParams& params) {
  TwilioFields f;
  Result<std::string> sid = FormRead(params, "MessageSid", true);
  if (!sid.ok()) return sid.status();
  f.message_sid = std::move(sid).value();
  Result<std::string> status = FormRead(params, "MessageStatus", true);
  if (!status.ok()) return status.status();
  f.message_status = std::move(status).value();
  Result<std::string> to = FormRead(params, "To", false);
  if (!to.ok()) return to.status();
  f.to = std::move(to).value();
  Result<std::string> from = FormRead(params, "From", false);
  if (!from.ok()) return from.status();
  f.from = std::move(from).value();
  Result<std::string> error_code = FormRead(params, "ErrorCode", false);
  if (!error_code.ok()) return error_code.status();
  f.error_code = std::move(error_code).value();
  return f;
}

// The "<channel>:" prefix of an address ("whatsapp:+1..."), or "" for a
// plain number or alphanumeric sender id.
std::string_view AddressPrefix(std::string_view address) {
  size_t colon = address.find(':');
  if (colon == std::string_view::npos || colon == 0) return "";
  std::string_view prefix = address.substr(0, colon);
  for (char c : prefix) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter && c != '-' && c != '_') return "";
  }
  return prefix;
}

Channel MapChannel(std::string_view to, std::string_view from) {
  std::string_view to_prefix = AddressPrefix(to);
  std::string_view from_prefix = AddressPrefix(from);
  if (EqualsIgnoreCase(to_prefix, "whatsapp") ||
      EqualsIgnoreCase(from_prefix, "whatsapp")) {
    return Channel::kWhatsapp;
  }
  if (!to_prefix.empty() || !from_prefix.empty()) return Channel::kOther;
  return Channel::kSms;
}

std::string DedupeKey(const TwilioFields& f, const NormalizeContext& ctx) {
  if (!ctx.event_id.empty()) return ctx.event_id;
  return JoinKeyParts({f.message_sid, f.message_status});
}

DeliveryEvent ToEvent(TwilioFields f, const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "twilio";
  e.dedupe_key = DedupeKey(f, ctx);
  e.channel = MapChannel(f.to, f.from);
  e.status = MapTwilioMessageStatus(f.message_status);
  e.verification_id = f.message_sid;
  e.message_id = std::move(f.message_sid);
  e.raw_status = std::move(f.message_status);
  e.error_code = std::move(f.error_code);
  if (!f.to.empty()) {
    if (auto r = NormalizeRecipient(f.to)) {
      e.recipient = std::move(r->e164);
      e.country = std::move(r->region);
    }
  }
  e.received_at_ms = ctx.received_at_ms;
  return e;
}

}  // namespace

DeliveryStatus MapTwilioMessageStatus(std::string_view raw) {
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kTable[] = {
      {"queued", DeliveryStatus::kQueued},
      {"accepted", DeliveryStatus::kQueued},
      {"scheduled", DeliveryStatus::kQueued},
      {"sending", DeliveryStatus::kQueued},
      {"sent", DeliveryStatus::kSent},
      {"delivered", DeliveryStatus::kDelivered},
      {"read", DeliveryStatus::kRead},
      {"undelivered", DeliveryStatus::kUndelivered},
      {"failed", DeliveryStatus::kFailed},
      {"canceled", DeliveryStatus::kRejected},
  };
  for (const Entry& e : kTable) {
    if (EqualsIgnoreCase(raw, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

Result<Normalized> TwilioMessagingNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  if (hook.body.empty()) return Status::Error("body: empty");
  std::optional<FormParams> params = ParseForm(hook.body);
  if (!params) return Status::Error("body: malformed form encoding");
  Normalized out;
  Result<std::string> status = FormRead(*params, "MessageStatus", false);
  if (!status.ok()) return status.status();
  Result<std::string> body = FormRead(*params, "Body", false);
  if (!body.ok()) return body.status();
  const bool has_body =
      std::any_of(params->begin(), params->end(),
                  [](const auto& kv) { return kv.first == "Body"; });
  if (status.value().empty() && has_body) {
    // An incoming message (the "A message comes in" webhook): no delivery
    // event, but a STOP or START from the recipient is recorded.
    Result<std::string> from = FormRead(*params, "From", true);
    if (!from.ok()) return from.status();
    std::string_view number = from.value();
    if (size_t colon = number.find(':'); colon != std::string_view::npos) {
      number = number.substr(colon + 1);  // "whatsapp:+44..."
    }
    AddKeywordOptChange("twilio", number, body.value(),
                        /*assume_international=*/false, &out);
    return out;
  }
  Result<TwilioFields> fields = ReadFields(*params);
  if (!fields.ok()) return fields.status();
  out.events.push_back(ToEvent(std::move(fields).value(), ctx));
  return out;
}

bool TwilioMessagingNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/x-www-form-urlencoded");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeTwilioMessagingNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<TwilioMessagingNormalizer>());
}

}  // namespace dlrd
