#include "core/providers/vonage/vonage_verify_normalizer.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;

// One outcome to turn into an event, already checked.
struct Outcome {
  std::string channel;  // may be empty
  std::string status;
  std::optional<int64_t> latency_ms;
  std::string dedupe_key;
};

DeliveryStatus MapStatus(std::string_view raw) {
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kTable[] = {
      {"completed", DeliveryStatus::kVerified},
      {"failed", DeliveryStatus::kFailed},
      {"expired", DeliveryStatus::kExpired},
      {"user_rejected", DeliveryStatus::kRejected},
      {"rejected", DeliveryStatus::kRejected},
      {"blocked", DeliveryStatus::kRejected},
      {"action_pending", DeliveryStatus::kSent},
  };
  for (const Entry& e : kTable) {
    if (EqualsIgnoreCase(raw, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

Channel MapChannel(std::string_view raw) {
  if (EqualsIgnoreCase(raw, "sms")) return Channel::kSms;
  if (EqualsIgnoreCase(raw, "whatsapp") ||
      EqualsIgnoreCase(raw, "whatsapp_interactive")) {
    return Channel::kWhatsapp;
  }
  if (EqualsIgnoreCase(raw, "voice")) return Channel::kVoice;
  return Channel::kOther;
}

// finalized_at - triggered_at, when both parse and it is not negative.
Result<std::optional<int64_t>> ReadLatency(const json& body) {
  using Latency = std::optional<int64_t>;
  // The Node SDK's EventCallback type spells it "triggerd_at".
  const bool typo = Member(body, "triggered_at") == nullptr &&
                    Member(body, "triggerd_at") != nullptr;
  const char* trigger_key = typo ? "triggerd_at" : "triggered_at";
  Result<std::string> triggered =
      ReadString(body, trigger_key, trigger_key, false);
  if (!triggered.ok()) return triggered.status();
  Result<std::string> finalized =
      ReadString(body, "finalized_at", "finalized_at", false);
  if (!finalized.ok()) return finalized.status();
  std::optional<int64_t> start = ParseTimestampMs(triggered.value());
  std::optional<int64_t> end = ParseTimestampMs(finalized.value());
  if (!start || !end || *end < *start) return Latency();
  return Latency(*end - *start);
}

Result<std::vector<Outcome>> ReadEvent(const json& body,
                                       const std::string& request_id,
                                       std::string status,
                                       const NormalizeContext& ctx) {
  Outcome o;
  Result<std::string> channel = ReadString(body, "channel", "channel", false);
  if (!channel.ok()) return channel.status();
  o.channel = std::move(channel).value();
  Result<std::optional<int64_t>> latency = ReadLatency(body);
  if (!latency.ok()) return latency.status();
  o.latency_ms = latency.value();
  o.dedupe_key = !ctx.event_id.empty()
                     ? ctx.event_id
                     : JoinKeyParts({request_id, "event", o.channel, status});
  o.status = std::move(status);
  return std::vector<Outcome>{std::move(o)};
}

Result<Outcome> ReadStep(const json& step, size_t index,
                         const std::string& request_id,
                         const NormalizeContext& ctx) {
  const std::string path = FieldPath("workflow", index);
  if (!step.is_object()) return FieldError(path, "must be an object");
  Outcome o;
  Result<std::string> status =
      ReadString(step, "status", FieldPath(path, "status"), true);
  if (!status.ok()) return status.status();
  o.status = std::move(status).value();
  Result<std::string> channel =
      ReadString(step, "channel", FieldPath(path, "channel"), false);
  if (!channel.ok()) return channel.status();
  o.channel = std::move(channel).value();
  const std::string i = std::to_string(index);
  o.dedupe_key = !ctx.event_id.empty()
                     ? JoinKeyParts({ctx.event_id, i})
                     : JoinKeyParts({request_id, "event", o.channel, o.status});
  return o;
}

Result<std::vector<Outcome>> ReadSummary(const json& body,
                                         const std::string& request_id,
                                         std::string status,
                                         const NormalizeContext& ctx) {
  std::vector<Outcome> out;
  const json* workflow = Member(body, "workflow");
  if (workflow != nullptr && !workflow->is_array()) {
    return FieldError("workflow", "must be an array");
  }
  if (workflow != nullptr) {
    for (size_t i = 0; i < workflow->size(); ++i) {
      Result<Outcome> step = ReadStep((*workflow)[i], i, request_id, ctx);
      if (!step.ok()) return step.status();
      if (EqualsIgnoreCase(step.value().status, "unused")) continue;
      out.push_back(std::move(step).value());
    }
  }
  if (out.empty()) {
    Outcome o;
    o.dedupe_key = !ctx.event_id.empty()
                       ? ctx.event_id
                       : JoinKeyParts({request_id, "summary", status});
    o.status = std::move(status);
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<Outcome>> ReadOutcomes(const json& body,
                                          const std::string& request_id,
                                          const NormalizeContext& ctx) {
  Result<std::string> type = ReadString(body, "type", "type", true);
  if (!type.ok()) return type.status();
  const bool event = EqualsIgnoreCase(type.value(), "event");
  const bool summary = EqualsIgnoreCase(type.value(), "summary");
  if (!event && !summary) return std::vector<Outcome>();
  Result<std::string> status = ReadString(body, "status", "status", true);
  if (!status.ok()) return status.status();
  if (event) return ReadEvent(body, request_id, std::move(status).value(), ctx);
  return ReadSummary(body, request_id, std::move(status).value(), ctx);
}

DeliveryEvent ToEvent(Outcome o, const std::string& request_id,
                      const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "vonage";
  e.dedupe_key = std::move(o.dedupe_key);
  e.verification_id = request_id;
  e.channel = MapChannel(o.channel);
  e.status = MapStatus(o.status);
  e.raw_status = std::move(o.status);
  e.latency_ms = o.latency_ms;
  e.received_at_ms = ctx.received_at_ms;
  return e;
}

}  // namespace

Result<Normalized> VonageVerifyNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<json> body = ParseJsonObject(hook.body);
  if (!body.ok()) return body.status();
  Result<std::string> request_id =
      ReadString(body.value(), "request_id", "request_id", true);
  if (!request_id.ok()) return request_id.status();
  Result<std::vector<Outcome>> outcomes =
      ReadOutcomes(body.value(), request_id.value(), ctx);
  if (!outcomes.ok()) return outcomes.status();
  Normalized out;
  for (Outcome& o : outcomes.value()) {
    out.events.push_back(ToEvent(std::move(o), request_id.value(), ctx));
  }
  return out;
}

bool VonageVerifyNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeVonageVerifyNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<VonageVerifyNormalizer>());
}

}  // namespace dlrd
