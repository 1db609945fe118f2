#include "core/providers/vonage/vonage_messages_normalizer.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/model/phone.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;

// The body fields the normalizer reads, already type-checked.
struct MessagesFields {
  std::string message_uuid;
  std::string status;
  std::string channel;     // may be empty
  std::string to;          // may be empty
  std::string error_code;  // may be empty
};

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// See the header: a numeric title, else the numeric fragment of the type
// URL, else the title as received.
Result<std::string> ReadErrorCode(const json& body) {
  const json* error = Member(body, "error");
  if (error == nullptr) return std::string();
  if (!error->is_object()) return FieldError("error", "must be an object");
  Result<std::string> title =
      ReadStringOrInteger(*error, "title", "error.title", false);
  if (!title.ok()) return title.status();
  Result<std::string> type = ReadString(*error, "type", "error.type", false);
  if (!type.ok()) return type.status();
  if (AllDigits(title.value())) return std::move(title).value();
  const std::string& url = type.value();
  size_t hash = url.rfind('#');
  if (hash != std::string::npos) {
    std::string fragment = url.substr(hash + 1);
    if (AllDigits(fragment)) return fragment;
  }
  return std::move(title).value();
}

// An inbound message posted to this URL: no status, and the content fields
// of an inbound message.
bool IsInboundMessage(const json& body) {
  return Member(body, "status") == nullptr &&
         (Member(body, "message_type") != nullptr ||
          Member(body, "text") != nullptr);
}

// nullopt for an inbound message: no event.
Result<std::optional<MessagesFields>> ReadFields(const json& body) {
  using Fields = std::optional<MessagesFields>;
  MessagesFields f;
  Result<std::string> uuid =
      ReadString(body, "message_uuid", "message_uuid", true);
  if (!uuid.ok()) return uuid.status();
  f.message_uuid = std::move(uuid).value();
  if (IsInboundMessage(body)) return Fields();
  Result<std::string> status = ReadString(body, "status", "status", true);
  if (!status.ok()) return status.status();
  f.status = std::move(status).value();
  Result<std::string> channel = ReadString(body, "channel", "channel", false);
  if (!channel.ok()) return channel.status();
  f.channel = std::move(channel).value();
  Result<std::string> to = ReadString(body, "to", "to", false);
  if (!to.ok()) return to.status();
  f.to = std::move(to).value();
  Result<std::string> error_code = ReadErrorCode(body);
  if (!error_code.ok()) return error_code.status();
  f.error_code = std::move(error_code).value();
  return Fields(std::move(f));
}

DeliveryStatus MapStatus(std::string_view raw) {
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kTable[] = {
      {"submitted", DeliveryStatus::kSent},
      {"delivered", DeliveryStatus::kDelivered},
      {"read", DeliveryStatus::kRead},
      {"rejected", DeliveryStatus::kRejected},
      {"undeliverable", DeliveryStatus::kUndelivered},
  };
  for (const Entry& e : kTable) {
    if (EqualsIgnoreCase(raw, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

Channel MapChannel(std::string_view raw) {
  if (EqualsIgnoreCase(raw, "sms")) return Channel::kSms;
  if (EqualsIgnoreCase(raw, "whatsapp")) return Channel::kWhatsapp;
  return Channel::kOther;
}

// Channels whose `to` is a phone number (digits, no '+').
bool ToIsPhoneNumber(std::string_view channel) {
  for (std::string_view c :
       {"sms", "mms", "whatsapp", "rcs", "viber_service"}) {
    if (EqualsIgnoreCase(channel, c)) return true;
  }
  return false;
}

std::string DedupeKey(const MessagesFields& f, const NormalizeContext& ctx) {
  if (!ctx.event_id.empty()) return ctx.event_id;
  return JoinKeyParts({f.message_uuid, f.status});
}

DeliveryEvent ToEvent(MessagesFields f, const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "vonage";
  e.dedupe_key = DedupeKey(f, ctx);
  e.channel = MapChannel(f.channel);
  e.status = MapStatus(f.status);
  e.verification_id = f.message_uuid;
  e.message_id = std::move(f.message_uuid);
  e.raw_status = std::move(f.status);
  e.error_code = std::move(f.error_code);
  if (!f.to.empty() && ToIsPhoneNumber(f.channel)) {
    if (auto r = NormalizeRecipient(f.to, /*assume_international=*/true)) {
      e.recipient = std::move(r->e164);
      e.country = std::move(r->region);
    }
  }
  e.received_at_ms = ctx.received_at_ms;
  return e;
}

}  // namespace

Result<Normalized> VonageMessagesNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<json> body = ParseJsonObject(hook.body);
  if (!body.ok()) return body.status();
  Result<std::optional<MessagesFields>> fields = ReadFields(body.value());
  if (!fields.ok()) return fields.status();
  Normalized out;
  if (fields.value()) {
    out.events.push_back(ToEvent(std::move(*fields.value()), ctx));
  } else {
    // An inbound message: a STOP or START from the recipient is recorded.
    const json* text = Member(body.value(), "text");
    const json* from = Member(body.value(), "from");
    if (text && text->is_string() && from && from->is_string()) {
      AddKeywordOptChange("vonage", from->get<std::string>(),
                          text->get<std::string>(),
                          /*assume_international=*/true, &out);
    }
  }
  return out;
}

bool VonageMessagesNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeVonageMessagesNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<VonageMessagesNormalizer>());
}

}  // namespace dlrd
