#include "core/providers/sinch/sinch_verification_normalizer.h"

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

constexpr std::string_view kRequestEvent = "VerificationRequestEvent";
constexpr std::string_view kResultEvent = "VerificationResultEvent";
constexpr std::string_view kSmsDeliveredEvent = "VerificationSmsDeliveredEvent";

enum class EventKind { kRequest, kResult, kSmsDelivered, kOther };

// The body fields the normalizer reads, already type-checked.
struct SinchVerificationFields {
  std::string id;
  std::string event;
  EventKind kind = EventKind::kOther;
  std::string method;         // may be empty
  std::string result;         // status or smsResult; empty for a request
  std::string reason;         // may be empty
  std::string identity_type;  // may be empty
  std::string endpoint;       // may be empty
};

EventKind KindOf(std::string_view event) {
  if (event == kRequestEvent) return EventKind::kRequest;
  if (event == kResultEvent) return EventKind::kResult;
  if (event == kSmsDeliveredEvent) return EventKind::kSmsDelivered;
  return EventKind::kOther;
}

Status ReadIdentity(const json& body, SinchVerificationFields* f) {
  const json* identity = Member(body, "identity");
  if (identity == nullptr) return Status::Ok();
  if (!identity->is_object()) {
    return FieldError("identity", "must be an object");
  }
  Result<std::string> type =
      ReadString(*identity, "type", "identity.type", false);
  if (!type.ok()) return type.status();
  f->identity_type = std::move(type).value();
  Result<std::string> endpoint =
      ReadString(*identity, "endpoint", "identity.endpoint", false);
  if (!endpoint.ok()) return endpoint.status();
  f->endpoint = std::move(endpoint).value();
  return Status::Ok();
}

// The status-like member of the event kind: `status` for a result,
// `smsResult` for an SMS delivery; none for a request.
Result<std::string> ReadResult(const json& body, EventKind kind) {
  if (kind == EventKind::kResult) {
    return ReadString(body, "status", "status", true);
  }
  if (kind == EventKind::kSmsDelivered) {
    return ReadString(body, "smsResult", "smsResult", true);
  }
  return std::string();
}

Result<SinchVerificationFields> ReadFields(const json& body) {
  SinchVerificationFields f;
  Result<std::string> id = ReadStringOrInteger(body, "id", "id", true);
  if (!id.ok()) return id.status();
  f.id = std::move(id).value();
  Result<std::string> event = ReadString(body, "event", "event", true);
  if (!event.ok()) return event.status();
  f.event = std::move(event).value();
  f.kind = KindOf(f.event);
  if (f.kind == EventKind::kOther) return f;  // nothing else is read

  Result<std::string> result = ReadResult(body, f.kind);
  if (!result.ok()) return result.status();
  f.result = std::move(result).value();
  Result<std::string> method = ReadString(body, "method", "method", false);
  if (!method.ok()) return method.status();
  f.method = std::move(method).value();
  if (f.kind == EventKind::kResult) {
    Result<std::string> reason = ReadString(body, "reason", "reason", false);
    if (!reason.ok()) return reason.status();
    f.reason = std::move(reason).value();
  }
  if (Status s = ReadIdentity(body, &f); !s.ok()) return s;
  return f;
}

Channel MapMethod(std::string_view method) {
  if (EqualsIgnoreCase(method, "sms")) return Channel::kSms;
  if (EqualsIgnoreCase(method, "whatsapp")) return Channel::kWhatsapp;
  if (EqualsIgnoreCase(method, "callout")) return Channel::kVoice;
  if (EqualsIgnoreCase(method, "flashcall")) return Channel::kVoice;
  return Channel::kOther;
}

DeliveryStatus MapResultStatus(std::string_view raw) {
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kTable[] = {
      {"PENDING", DeliveryStatus::kSent},
      {"SUCCESSFUL", DeliveryStatus::kVerified},
      {"FAIL", DeliveryStatus::kFailed},
      {"ERROR", DeliveryStatus::kFailed},
      {"DENIED", DeliveryStatus::kRejected},
      {"ABORTED", DeliveryStatus::kRejected},
  };
  for (const Entry& e : kTable) {
    if (EqualsIgnoreCase(raw, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

DeliveryStatus MapSmsResult(std::string_view raw) {
  if (EqualsIgnoreCase(raw, "Successful")) return DeliveryStatus::kDelivered;
  if (EqualsIgnoreCase(raw, "Failed")) return DeliveryStatus::kFailed;
  return DeliveryStatus::kUnknown;
}

std::string DedupeKey(const SinchVerificationFields& f,
                      const NormalizeContext& ctx) {
  if (!ctx.event_id.empty()) return ctx.event_id;
  if (f.kind == EventKind::kRequest) return JoinKeyParts({f.id, f.event});
  return JoinKeyParts({f.id, f.event, f.result});
}

DeliveryEvent ToEvent(SinchVerificationFields f, const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "sinch";
  e.dedupe_key = DedupeKey(f, ctx);
  switch (f.kind) {
    case EventKind::kRequest:
      e.channel = MapMethod(f.method);
      e.status = DeliveryStatus::kQueued;
      e.raw_status = f.event;
      break;
    case EventKind::kResult:
      e.channel = MapMethod(f.method);
      e.status = MapResultStatus(f.result);
      e.raw_status = std::move(f.result);
      e.error_code = std::move(f.reason);
      break;
    case EventKind::kSmsDelivered:
    case EventKind::kOther:  // not reached: Normalize makes no event of it
      e.channel = Channel::kSms;
      e.status = MapSmsResult(f.result);
      e.raw_status = std::move(f.result);
      break;
  }
  e.verification_id = std::move(f.id);
  const bool is_number =
      f.identity_type.empty() || EqualsIgnoreCase(f.identity_type, "number");
  if (is_number && !f.endpoint.empty()) {
    if (auto r = NormalizeRecipient(f.endpoint,
                                    /*assume_international=*/true)) {
      e.recipient = std::move(r->e164);
      e.country = std::move(r->region);
    }
  }
  e.received_at_ms = ctx.received_at_ms;
  return e;
}

WebhookReply RequestReply(const FormatOptions& options) {
  const bool deny = options.request_action == "deny";
  return WebhookReply{"application/json",
                      deny ? R"({"action":"deny"})" : R"({"action":"allow"})"};
}

}  // namespace

Result<Normalized> SinchVerificationNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<json> body = ParseJsonObject(hook.body);
  if (!body.ok()) return body.status();
  Result<SinchVerificationFields> fields = ReadFields(body.value());
  if (!fields.ok()) return fields.status();
  Normalized out;
  const EventKind kind = fields.value().kind;
  if (kind == EventKind::kOther) return out;
  if (kind == EventKind::kRequest) out.reply = RequestReply(options_);
  out.events.push_back(ToEvent(std::move(fields).value(), ctx));
  return out;
}

bool SinchVerificationNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeSinchVerificationNormalizer(
    const FormatOptions& options) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<SinchVerificationNormalizer>(options));
}

}  // namespace dlrd
