#include "core/providers/sinch/sinch_sms_normalizer.h"

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

enum class ReportKind { kRecipient, kBatch, kOther };

struct ReportType {
  ReportKind kind = ReportKind::kOther;
  Channel channel = Channel::kOther;
};

ReportType TypeOf(std::string_view type) {
  if (type == "recipient_delivery_report_sms") {
    return {ReportKind::kRecipient, Channel::kSms};
  }
  if (type == "recipient_delivery_report_mms") {
    return {ReportKind::kRecipient, Channel::kOther};
  }
  if (type == "delivery_report_sms") return {ReportKind::kBatch, Channel::kSms};
  if (type == "delivery_report_mms") {
    return {ReportKind::kBatch, Channel::kOther};
  }
  return {};
}

DeliveryStatus MapStatus(std::string_view raw) {
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kTable[] = {
      {"Queued", DeliveryStatus::kQueued},
      {"Dispatched", DeliveryStatus::kSent},
      {"Delivered", DeliveryStatus::kDelivered},
      {"Failed", DeliveryStatus::kFailed},
      {"Expired", DeliveryStatus::kExpired},
      {"Rejected", DeliveryStatus::kRejected},
      {"Aborted", DeliveryStatus::kRejected},
      {"Cancelled", DeliveryStatus::kRejected},
      {"Deleted", DeliveryStatus::kRejected},
      {"Unknown", DeliveryStatus::kUnknown},
  };
  for (const Entry& e : kTable) {
    if (EqualsIgnoreCase(raw, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

// One (status, code, recipient) fact; `recipient` is empty for a summary
// entry.
struct Fact {
  std::string status;
  std::string code;       // may be empty
  std::string recipient;  // raw, as received
};

// Builds the events of one body; every event shares the batch id and
// channel.
class EventBuilder {
 public:
  EventBuilder(std::string batch_id, Channel channel,
               const NormalizeContext& ctx)
      : batch_id_(std::move(batch_id)), channel_(channel), ctx_(ctx) {}

  // `single`: the body is one recipient report, so a signature event id
  // alone is its key.
  DeliveryEvent Build(Fact f, bool single) const {
    DeliveryEvent e;
    e.source = ctx_.source;
    e.provider = "sinch";
    e.verification_id = batch_id_;
    e.message_id = batch_id_;
    e.channel = channel_;
    e.status = MapStatus(f.status);
    std::string key_recipient = f.recipient;
    if (!f.recipient.empty()) {
      if (auto r = NormalizeRecipient(f.recipient,
                                      /*assume_international=*/true)) {
        e.recipient = std::move(r->e164);
        e.country = std::move(r->region);
        key_recipient = e.recipient;
      }
    }
    e.dedupe_key = DedupeKey(f, key_recipient, single);
    e.raw_status = std::move(f.status);
    e.error_code = std::move(f.code);
    e.received_at_ms = ctx_.received_at_ms;
    return e;
  }

 private:
  std::string DedupeKey(const Fact& f, std::string_view recipient,
                        bool single) const {
    const std::string& event_id = ctx_.event_id;
    if (!event_id.empty() && single) return event_id;
    const std::string_view head = event_id.empty() ? batch_id_ : event_id;
    if (f.recipient.empty()) {
      return JoinKeyParts({head, "summary", f.status, f.code});
    }
    return JoinKeyParts({head, recipient, f.status});
  }

  const std::string batch_id_;
  const Channel channel_;
  const NormalizeContext& ctx_;
};

Status ReadRecipientReport(const json& body, const EventBuilder& builder,
                           Normalized* out) {
  Fact f;
  Result<std::string> status = ReadString(body, "status", "status", true);
  if (!status.ok()) return status.status();
  f.status = std::move(status).value();
  Result<std::string> recipient =
      ReadString(body, "recipient", "recipient", true);
  if (!recipient.ok()) return recipient.status();
  f.recipient = std::move(recipient).value();
  Result<std::string> code = ReadStringOrInteger(body, "code", "code", false);
  if (!code.ok()) return code.status();
  f.code = std::move(code).value();
  out->events.push_back(builder.Build(std::move(f), /*single=*/true));
  return Status::Ok();
}

// The recipients of one statuses[] entry; empty when it lists none.
Result<std::vector<std::string>> ReadRecipients(const json& entry,
                                                const std::string& path) {
  std::vector<std::string> out;
  const json* list = Member(entry, "recipients");
  if (list == nullptr) return out;
  const std::string field = FieldPath(path, "recipients");
  if (!list->is_array()) return FieldError(field, "must be an array");
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const json& r = (*list)[i];
    const std::string item = FieldPath(field, i);
    if (!r.is_string()) return FieldError(item, "must be a string");
    const std::string& s = r.get_ref<const std::string&>();
    if (s.empty()) return FieldError(item, "must not be empty");
    out.push_back(s);
  }
  return out;
}

Status ReadBatchEntry(const json& entry, const std::string& path,
                      const EventBuilder& builder, Normalized* out) {
  if (!entry.is_object()) return FieldError(path, "must be an object");
  Result<std::string> status =
      ReadString(entry, "status", FieldPath(path, "status"), true);
  if (!status.ok()) return status.status();
  Result<std::string> code =
      ReadStringOrInteger(entry, "code", FieldPath(path, "code"), false);
  if (!code.ok()) return code.status();
  Result<std::vector<std::string>> recipients = ReadRecipients(entry, path);
  if (!recipients.ok()) return recipients.status();
  if (recipients.value().empty()) {
    out->events.push_back(
        builder.Build(Fact{status.value(), code.value(), ""}, false));
    return Status::Ok();
  }
  for (std::string& r : recipients.value()) {
    out->events.push_back(
        builder.Build(Fact{status.value(), code.value(), std::move(r)}, false));
  }
  return Status::Ok();
}

Status ReadBatchReport(const json& body, const EventBuilder& builder,
                       Normalized* out) {
  const json* statuses = Member(body, "statuses");
  if (statuses == nullptr) return FieldError("statuses", "missing");
  if (!statuses->is_array()) return FieldError("statuses", "must be an array");
  for (size_t i = 0; i < statuses->size(); ++i) {
    Status s =
        ReadBatchEntry((*statuses)[i], FieldPath("statuses", i), builder, out);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<Normalized> SinchSmsNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<json> body = ParseJsonObject(hook.body);
  if (!body.ok()) return body.status();
  Result<std::string> type = ReadString(body.value(), "type", "type", true);
  if (!type.ok()) return type.status();
  const ReportType report = TypeOf(type.value());
  Normalized out;
  if (type.value() == "mo_text") {
    // An inbound (mobile-originated) message: a STOP or START from the
    // recipient is recorded.
    Result<std::string> from = ReadString(body.value(), "from", "from", true);
    if (!from.ok()) return from.status();
    Result<std::string> text = ReadString(body.value(), "body", "body", false);
    if (!text.ok()) return text.status();
    AddKeywordOptChange("sinch", from.value(), text.value(),
                        /*assume_international=*/true, &out);
    return out;
  }
  if (report.kind == ReportKind::kOther) return out;
  Result<std::string> batch_id =
      ReadString(body.value(), "batch_id", "batch_id", true);
  if (!batch_id.ok()) return batch_id.status();
  EventBuilder builder(std::move(batch_id).value(), report.channel, ctx);
  Status s = report.kind == ReportKind::kRecipient
                 ? ReadRecipientReport(body.value(), builder, &out)
                 : ReadBatchReport(body.value(), builder, &out);
  if (!s.ok()) return s;
  return out;
}

bool SinchSmsNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json");
}

Result<std::unique_ptr<PayloadNormalizer>> MakeSinchSmsNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<SinchSmsNormalizer>());
}

}  // namespace dlrd
