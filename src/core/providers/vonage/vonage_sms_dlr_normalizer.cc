#include "core/providers/vonage/vonage_sms_dlr_normalizer.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dlrd/core/util/form.h"
#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/model/phone.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;

constexpr char kFormMedia[] = "application/x-www-form-urlencoded";

// The receipt fields the normalizer reads, already checked.
struct DlrFields {
  std::string message_id;
  std::string status;
  std::string msisdn;    // may be empty
  std::string err_code;  // as received, may be empty
};

using MaybeFields = std::optional<DlrFields>;

bool HasParam(const FormParams& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return true;
  }
  return false;
}

// An SMS API inbound message: no status, and the `type` every inbound
// message carries (text, unicode or binary).
bool IsInboundForm(const FormParams& params) {
  return !HasParam(params, "status") && HasParam(params, "type");
}

bool IsInboundJson(const json& body) {
  return Member(body, "status") == nullptr && Member(body, "type") != nullptr;
}

Result<DlrFields> ReadForm(const FormParams& params) {
  DlrFields f;
  Result<std::string> id = FormRead(params, "messageId", true);
  if (!id.ok()) return id.status();
  f.message_id = std::move(id).value();
  Result<std::string> status = FormRead(params, "status", true);
  if (!status.ok()) return status.status();
  f.status = std::move(status).value();
  Result<std::string> msisdn = FormRead(params, "msisdn", false);
  if (!msisdn.ok()) return msisdn.status();
  f.msisdn = std::move(msisdn).value();
  Result<std::string> err_code = FormRead(params, "err-code", false);
  if (!err_code.ok()) return err_code.status();
  f.err_code = std::move(err_code).value();
  return f;
}

Result<DlrFields> ReadJson(const json& body) {
  DlrFields f;
  Result<std::string> id =
      ReadStringOrInteger(body, "messageId", "messageId", true);
  if (!id.ok()) return id.status();
  f.message_id = std::move(id).value();
  Result<std::string> status = ReadString(body, "status", "status", true);
  if (!status.ok()) return status.status();
  f.status = std::move(status).value();
  Result<std::string> msisdn =
      ReadStringOrInteger(body, "msisdn", "msisdn", false);
  if (!msisdn.ok()) return msisdn.status();
  f.msisdn = std::move(msisdn).value();
  Result<std::string> err_code =
      ReadStringOrInteger(body, "err-code", "err-code", false);
  if (!err_code.ok()) return err_code.status();
  f.err_code = std::move(err_code).value();
  return f;
}

Result<MaybeFields> FromForm(std::string_view text) {
  if (text.empty()) return Status::Error("body: empty");
  std::optional<FormParams> params = ParseForm(text);
  if (!params) return Status::Error("body: malformed form encoding");
  if (IsInboundForm(*params)) return MaybeFields();
  Result<DlrFields> fields = ReadForm(*params);
  if (!fields.ok()) return fields.status();
  return MaybeFields(std::move(fields).value());
}

Result<MaybeFields> FromJson(std::string_view text) {
  Result<json> body = ParseJsonObject(text);
  if (!body.ok()) return body.status();
  if (IsInboundJson(body.value())) return MaybeFields();
  Result<DlrFields> fields = ReadJson(body.value());
  if (!fields.ok()) return fields.status();
  return MaybeFields(std::move(fields).value());
}

// nullopt for an inbound message: no event.
Result<MaybeFields> ReadFields(const InboundWebhook& hook) {
  std::optional<std::string_view> type = hook.Header("Content-Type");
  if (type && MediaTypeIs(*type, kFormMedia)) return FromForm(hook.body);
  return FromJson(hook.body);
}

DeliveryStatus MapStatus(std::string_view raw) {
  struct Entry {
    std::string_view raw;
    DeliveryStatus status;
  };
  static constexpr Entry kTable[] = {
      {"accepted", DeliveryStatus::kSent},
      {"buffered", DeliveryStatus::kSent},
      {"delivered", DeliveryStatus::kDelivered},
      {"expired", DeliveryStatus::kExpired},
      {"failed", DeliveryStatus::kFailed},
      {"rejected", DeliveryStatus::kRejected},
      {"unknown", DeliveryStatus::kUnknown},
  };
  for (const Entry& e : kTable) {
    if (EqualsIgnoreCase(raw, e.raw)) return e.status;
  }
  return DeliveryStatus::kUnknown;
}

std::string DedupeKey(const DlrFields& f, const NormalizeContext& ctx) {
  if (!ctx.event_id.empty()) return ctx.event_id;
  return JoinKeyParts({f.message_id, f.status, f.err_code});
}

DeliveryEvent ToEvent(DlrFields f, const NormalizeContext& ctx) {
  DeliveryEvent e;
  e.source = ctx.source;
  e.provider = "vonage";
  e.dedupe_key = DedupeKey(f, ctx);
  e.channel = Channel::kSms;
  e.status = MapStatus(f.status);
  e.verification_id = f.message_id;
  e.message_id = std::move(f.message_id);
  e.raw_status = std::move(f.status);
  if (f.err_code != "0") e.error_code = std::move(f.err_code);
  if (!f.msisdn.empty()) {
    if (auto r = NormalizeRecipient(f.msisdn, /*assume_international=*/true)) {
      e.recipient = std::move(r->e164);
      e.country = std::move(r->region);
    }
  }
  e.received_at_ms = ctx.received_at_ms;
  return e;
}

}  // namespace

Result<Normalized> VonageSmsDlrNormalizer::Normalize(
    const InboundWebhook& hook, const NormalizeContext& ctx) const {
  Result<MaybeFields> fields = ReadFields(hook);
  if (!fields.ok()) return fields.status();
  Normalized out;
  if (fields.value()) {
    out.events.push_back(ToEvent(std::move(*fields.value()), ctx));
  }
  return out;
}

bool VonageSmsDlrNormalizer::AcceptsContentType(
    std::string_view content_type) const {
  return MediaTypeIs(content_type, "application/json") ||
         MediaTypeIs(content_type, kFormMedia);
}

Result<std::unique_ptr<PayloadNormalizer>> MakeVonageSmsDlrNormalizer(
    const FormatOptions& /*options*/) {
  return std::unique_ptr<PayloadNormalizer>(std::make_unique<VonageSmsDlrNormalizer>());
}

}  // namespace dlrd
