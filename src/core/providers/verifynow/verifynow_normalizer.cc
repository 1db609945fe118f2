#include "core/providers/verifynow/verifynow_normalizer.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/model/phone.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;

// The body fields the normalizer reads, already type-checked.
struct VerifyNowFields {
  std::string verification_id;
  std::string delivery_status;
  std::string channel;
  std::optional<int64_t> latency_ms;
  std::string recipient;  // E.164 or empty
};

Result<std::optional<int64_t>> ReadLatency(const json& body) {
  constexpr const char* kKey = "latencyMs";
  const json* v = Member(body, kKey);
  if (v == nullptr) return std::optional<int64_t>();
  // nlohmann stores every non-negative integer literal as unsigned.
  if (v->is_number_unsigned()) {
    uint64_t n = v->get<uint64_t>();
    if (n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::optional<int64_t>(static_cast<int64_t>(n));
    }
  }
  return FieldError(kKey, "must be a non-negative integer");
}

// The digits of a phone-number part written as text. Spaces, '-', '.', '(',
// ')' are dropped, and one leading '+' when `allow_plus`; anything else makes
// the part unusable (nullopt).
std::optional<std::string> PhoneDigits(std::string_view s, bool allow_plus) {
  if (allow_plus && !s.empty() && s.front() == '+') s.remove_prefix(1);
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return std::nullopt;
    }
  }
  if (digits.empty()) return std::nullopt;
  return digits;
}

// The digits of an optional phone-number part (string or integer). nullopt
// when absent or unusable; an error only when the JSON type is wrong.
Result<std::optional<std::string>> ReadPhoneDigits(const json& body,
                                                   const char* key,
                                                   bool allow_plus) {
  using Digits = std::optional<std::string>;
  const json* v = Member(body, key);
  if (v == nullptr) return Digits();
  if (v->is_number_unsigned()) {
    return Digits(std::to_string(v->get<uint64_t>()));
  }
  if (v->is_number_integer()) return Digits();  // negative
  if (!v->is_string()) return FieldError(key, "must be a string or integer");
  return PhoneDigits(v->get_ref<const std::string&>(), allow_plus);
}

// "+<cc><nsn>" when the calling code is 1-3 digits without a leading zero and
// the whole number has 8-15 digits (E.164), else empty.
std::string FormE164(const std::string& cc, const std::string& nsn) {
  if (cc.size() > 3 || cc.front() == '0') return "";
  size_t total = cc.size() + nsn.size();
  if (total < 8 || total > 15) return "";
  return "+" + cc + nsn;
}

Result<std::string> ReadRecipient(const json& body) {
  Result<std::optional<std::string>> cc =
      ReadPhoneDigits(body, "countryCode", /*allow_plus=*/true);
  if (!cc.ok()) return cc.status();
  Result<std::optional<std::string>> nsn =
      ReadPhoneDigits(body, "mobileNumber", /*allow_plus=*/false);
  if (!nsn.ok()) return nsn.status();
  if (!cc.value() || !nsn.value()) return std::string();
  return FormE164(*cc.value(), *nsn.value());
}

Result<VerifyNowFields> ReadFields(const json& body) {
  VerifyNowFields f;
  Result<std::string> id =
      ReadStringOrInteger(body, "verificationId", "verificationId", true);
  if (!id.ok()) return id.status();
  f.verification_id = std::move(id).value();
  Result<std::string> status =
      ReadString(body, "deliveryStatus", "deliveryStatus", true);
  if (!status.ok()) return status.status();
  f.delivery_status = std::move(status).value();
  Result<std::string> channel = ReadString(body, "channel", "channel", true);
  if (!channel.ok()) return channel.status();
  f.channel = std::move(channel).value();
  Result<std::optional<int64_t>> latency = ReadLatency(body);
  if (!latency.ok()) return latency.status();
  f.latency_ms = latency.value();
  Result<std::string> recipient = ReadRecipient(body);
  if (!recipient.ok()) return recipient.status();
  f.recipient = std::move(recipient).value();
  return f;
}

Channel MapChannel(std::string_view raw) {
  if (EqualsIgnoreCase(raw, "SMS")) return Channel::kSms;
  if (EqualsIgnoreCase(raw, "WHATSAPP")) return Channel::kWhatsapp;
  if (EqualsIgnoreCase(raw, "VOICE")) return Channel::kVoice;
  return Channel::kOther;
}

DeliveryStatus MapStatus(std::string_view raw) {
  if (EqualsIgnoreCase(raw, "DELIVERED")) return DeliveryStatus::kDelivered;
  if (EqualsIgnoreCase(raw, "FAILED")) return DeliveryStatus::kFailed;
  if (EqualsIgnoreCase(raw, "PENDING")) return DeliveryStatus::kSent;
  return DeliveryStatus::kUnknown;
}

std::string DedupeKey(const VerifyNowFields& f, const NormalizeContext& ctx) {
  if (!ctx.event_id.empty()) return ctx.event_id;
  return JoinKeyParts({f.verification_id, f.channel, f.delivery_status});
}

DeliveryEvent ToEvent(VerifyNowFields f, const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "verifynow";
  e.dedupe_key = DedupeKey(f, ctx);
  e.channel = MapChannel(f.channel);
  e.status = MapStatus(f.delivery_status);
  e.verification_id = std::move(f.verification_id);
  e.raw_status = std::move(f.delivery_status);
  e.latency_ms = f.latency_ms;
  if (!f.recipient.empty()) {
    if (auto r = NormalizeRecipient(f.recipient)) {
      e.recipient = std::move(r->e164);
      e.country = std::move(r->region);
    }
  }
  e.received_at_ms = ctx.received_at_ms;
  return e;
}

}  // namespace

Result<Normalized> VerifyNowNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<json> body = ParseJsonObject(hook.body);
  if (!body.ok()) return body.status();
  Result<VerifyNowFields> fields = ReadFields(body.value());
  if (!fields.ok()) return fields.status();
  Normalized out;
  out.events.push_back(ToEvent(std::move(fields).value(), ctx));
  return out;
}

bool VerifyNowNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeVerifyNowNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<VerifyNowNormalizer>());
}

}  // namespace dlrd
