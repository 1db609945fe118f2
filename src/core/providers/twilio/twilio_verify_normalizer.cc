#include "core/providers/twilio/twilio_verify_normalizer.h"

#include <cstdint>
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
#include "core/providers/twilio/twilio_normalizer.h"

namespace dlrd {
namespace {

using nlohmann::json;

enum class Family { kMessage, kAttemptDlr, kVerification };

struct FamilyInfo {
  std::string_view prefix;      // the type up to and including the last '.'
  std::string_view status_key;  // the data member carrying the raw status
  Family family;
};

constexpr FamilyInfo kFamilies[] = {
    {"com.twilio.accountsecurity.verify.message.", "message_status",
     Family::kMessage},
    {"com.twilio.accountsecurity.verify.attempt-dlr.", "dlr_status",
     Family::kAttemptDlr},
    {"com.twilio.accountsecurity.verify.verification.", "verification_status",
     Family::kVerification},
};

// The family of a CloudEvent type, or nullptr for a type this format does
// not read. The part after the prefix must be a non-empty single segment.
const FamilyInfo* FindFamily(std::string_view type) {
  for (const FamilyInfo& f : kFamilies) {
    if (type.size() <= f.prefix.size()) continue;
    if (type.substr(0, f.prefix.size()) != f.prefix) continue;
    if (type.find('.', f.prefix.size()) != std::string_view::npos) continue;
    return &f;
  }
  return nullptr;
}

// The fields of one Verify CloudEvent, already type-checked.
struct VerifyFields {
  const FamilyInfo* family = nullptr;
  std::string id;
  std::string type_status;  // the type's last segment
  std::string time;         // may be empty
  std::string verification_sid;
  std::string attempt_sid;  // may be empty
  std::string raw_status;   // the data status member, may be empty
  std::string channel;      // may be empty
  std::string error_code;   // may be empty
  std::string to;           // may be empty
  std::string created_at;   // may be empty
};

// The channel of the last send attempt of a verification event; "" when
// absent or not shaped as documented (it only refines the channel).
std::string LastAttemptChannel(const json& data) {
  const json* sends = Member(data, "send_code_attempts");
  if (sends == nullptr) return "";
  const json* attempts = Member(*sends, "attempts");
  if (attempts == nullptr || !attempts->is_array() || attempts->empty()) {
    return "";
  }
  const json* channel = Member(attempts->back(), "channel");
  if (channel == nullptr || !channel->is_string()) return "";
  return channel->get<std::string>();
}

Status ReadData(const json& data, const std::string& path, VerifyFields* f) {
  struct Optional {
    std::string_view key;
    std::string* out;
  };
  Result<std::string> sid = ReadString(
      data, "verification_sid", FieldPath(path, "verification_sid"), true);
  if (!sid.ok()) return sid.status();
  f->verification_sid = std::move(sid).value();
  const Optional kStrings[] = {
      {"attempt_sid", &f->attempt_sid}, {f->family->status_key, &f->raw_status},
      {"channel", &f->channel},         {"to", &f->to},
      {"created_at", &f->created_at},
  };
  for (const Optional& o : kStrings) {
    Result<std::string> v = ReadString(data, o.key, FieldPath(path, o.key),
                                       /*required=*/false);
    if (!v.ok()) return v.status();
    *o.out = std::move(v).value();
  }
  Result<std::string> error_code = ReadStringOrInteger(
      data, "error_code", FieldPath(path, "error_code"), /*required=*/false);
  if (!error_code.ok()) return error_code.status();
  f->error_code = std::move(error_code).value();
  if (f->channel.empty() && f->family->family == Family::kVerification) {
    f->channel = LastAttemptChannel(data);
  }
  return Status::Ok();
}

// One element of the body. nullopt for a type this format does not read.
// `path` is "[i]" for an array element, "" for a single-object body.
Result<std::optional<VerifyFields>> ReadElement(const json& element,
                                                const std::string& path) {
  using Out = std::optional<VerifyFields>;
  if (!element.is_object()) return FieldError(path, "must be an object");
  Result<std::string> id =
      ReadString(element, "id", FieldPath(path, "id"), true);
  if (!id.ok()) return id.status();
  Result<std::string> type =
      ReadString(element, "type", FieldPath(path, "type"), true);
  if (!type.ok()) return type.status();
  const FamilyInfo* family = FindFamily(type.value());
  if (family == nullptr) return Out();

  VerifyFields f;
  f.family = family;
  f.id = std::move(id).value();
  f.type_status = type.value().substr(family->prefix.size());
  Result<std::string> time =
      ReadString(element, "time", FieldPath(path, "time"), false);
  if (!time.ok()) return time.status();
  f.time = std::move(time).value();
  const std::string data_path = FieldPath(path, "data");
  const json* data = Member(element, "data");
  if (data == nullptr) return FieldError(data_path, "missing");
  if (!data->is_object()) return FieldError(data_path, "must be an object");
  if (Status s = ReadData(*data, data_path, &f); !s.ok()) return s;
  return Out(std::move(f));
}

DeliveryStatus MapStatus(Family family, std::string_view status) {
  // message and attempt-dlr events report the Messaging vocabulary.
  if (family != Family::kVerification) return MapTwilioMessageStatus(status);
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kVerificationTable[] = {
      {"pending", DeliveryStatus::kSent},
      {"approved", DeliveryStatus::kVerified},
      {"canceled", DeliveryStatus::kRejected},
      {"expired", DeliveryStatus::kExpired},
      {"max-attempts-reached", DeliveryStatus::kFailed},
  };
  for (const Entry& e : kVerificationTable) {
    if (EqualsIgnoreCase(status, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

Channel MapChannel(std::string_view raw) {
  if (EqualsIgnoreCase(raw, "sms")) return Channel::kSms;
  if (EqualsIgnoreCase(raw, "whatsapp")) return Channel::kWhatsapp;
  if (EqualsIgnoreCase(raw, "call") || EqualsIgnoreCase(raw, "voice")) {
    return Channel::kVoice;
  }
  return Channel::kOther;
}

// Event time minus attempt creation, for a delivery report only.
std::optional<int64_t> Latency(const VerifyFields& f, DeliveryStatus status) {
  if (f.family->family == Family::kVerification) return std::nullopt;
  if (status != DeliveryStatus::kDelivered) return std::nullopt;
  std::optional<int64_t> at = ParseTimestampMs(f.time);
  std::optional<int64_t> created = ParseTimestampMs(f.created_at);
  if (!at || !created || *at < *created) return std::nullopt;
  return *at - *created;
}

std::string DedupeKey(const VerifyFields& f, const NormalizeContext& ctx) {
  if (!ctx.event_id.empty()) return JoinKeyParts({ctx.event_id, f.id});
  return JoinKeyParts({f.id});
}

DeliveryEvent ToEvent(VerifyFields f, const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "twilio";
  e.dedupe_key = DedupeKey(f, ctx);
  e.status = MapStatus(f.family->family, f.type_status);
  e.latency_ms = Latency(f, e.status);
  e.channel = MapChannel(f.channel);
  e.verification_id = std::move(f.verification_sid);
  e.message_id = std::move(f.attempt_sid);
  e.raw_status =
      f.raw_status.empty() ? std::move(f.type_status) : std::move(f.raw_status);
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

Result<Normalized> TwilioVerifyEventsNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<json> body = ParseJsonBody(hook.body);
  if (!body.ok()) return body.status();
  const json& doc = body.value();
  if (!doc.is_array() && !doc.is_object()) {
    return Status::Error("body: not a JSON array or object");
  }
  // Read every element before building events: one bad element rejects
  // the whole body, and no partial batch is ever returned.
  std::vector<VerifyFields> fields;
  if (doc.is_object()) {
    Result<std::optional<VerifyFields>> f = ReadElement(doc, "");
    if (!f.ok()) return f.status();
    if (f.value()) fields.push_back(std::move(*f.value()));
  } else {
    fields.reserve(doc.size());
    for (size_t i = 0; i < doc.size(); ++i) {
      Result<std::optional<VerifyFields>> f =
          ReadElement(doc[i], FieldPath("", i));
      if (!f.ok()) return f.status();
      if (f.value()) fields.push_back(std::move(*f.value()));
    }
  }
  Normalized out;
  out.events.reserve(fields.size());
  for (VerifyFields& f : fields)
    out.events.push_back(ToEvent(std::move(f), ctx));
  return out;
}

bool TwilioVerifyEventsNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json") ||
         MediaTypeIs(content_type, "application/cloudevents-batch+json") ||
         MediaTypeIs(content_type, "application/cloudevents+json");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeTwilioVerifyEventsNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<TwilioVerifyEventsNormalizer>());
}

}  // namespace dlrd
