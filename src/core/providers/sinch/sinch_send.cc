#include "core/providers/sinch/sinch_send.h"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "core/outbound/send_util.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;
using send_internal::Failure;

constexpr std::string_view kProvider = "sinch";

}  // namespace

SinchSendAdapter::SinchSendAdapter(std::string url, std::string authorization)
    : url_(std::move(url)), authorization_(std::move(authorization)) {}

Result<std::unique_ptr<SendAdapter>> MakeSinchSendAdapter(
    const ProviderConfig& config) {
  Result<std::string> key =
      send_internal::RequiredCredential(config, "application_key");
  if (!key.ok()) return key.status();
  Result<std::string> secret =
      send_internal::RequiredCredential(config, "application_secret");
  if (!secret.ok()) return secret.status();
  return std::unique_ptr<SendAdapter>(new SinchSendAdapter(
      config.base_url + "/verification/v1/verifications",
      send_internal::BasicAuth(key.value(), secret.value())));
}

Result<HttpCall> SinchSendAdapter::Build(const SendRequest& request) const {
  const char* method = nullptr;
  switch (request.channel) {
    case Channel::kSms:
      method = "sms";
      break;
    case Channel::kWhatsapp:
      method = "whatsapp";
      break;
    case Channel::kVoice:
      method = "callout";
      break;
    case Channel::kOther:
      return send_internal::UnsupportedChannel(kProvider, request.channel);
  }
  if (!send_internal::IsE164(request.recipient)) {
    return send_internal::BadRecipient(kProvider);
  }
  json body = json::object();
  body["identity"] = {{"type", "number"}, {"endpoint", request.recipient}};
  body["method"] = method;
  if (!request.idempotency_key.empty()) {
    body["reference"] = request.idempotency_key;
  }
  HttpCall call;
  call.method = "POST";
  call.url = url_;
  call.headers.emplace_back("Authorization", authorization_);
  call.headers.emplace_back("Content-Type", "application/json");
  call.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return call;
}

SendOutcome SinchSendAdapter::Classify(const HttpReply& reply,
                                       int64_t now_ms) const {
  const std::optional<json> body = send_internal::ParseObject(reply.body);
  if (reply.status >= 200 && reply.status < 300) {
    return send_internal::Success(
        kProvider, reply, body ? send_internal::TextMember(*body, "id") : "");
  }
  const std::optional<int64_t> code =
      body ? send_internal::IntMember(*body, "errorCode") : std::nullopt;
  const std::string code_text = code ? std::to_string(*code) : "";
  const std::string message =
      body ? send_internal::TextMember(*body, "message") : "";
  if (reply.status == 429 || reply.status >= 500) {
    const SendErrorClass error = send_internal::ClassByStatus(reply.status);
    return Failure(
        error, kProvider, reply, code_text,
        error == SendErrorClass::kServer ? "server error" : "too many requests",
        now_ms);
  }
  if (reply.status == 409 && code == 40900) {
    SendOutcome out;
    out.provider_code = code_text;
    out.detail = "sinch 409 40900: duplicate reference, accepted earlier";
    return out;
  }
  if (reply.status == 403 && code == 40300) {
    return Failure(SendErrorClass::kFraud, kProvider, reply, code_text,
                   "identity is blacklisted", now_ms);
  }
  if (reply.status == 400 && (code == 40001 || code == 40003) &&
      (ContainsIgnoreCase(message, "number") ||
       ContainsIgnoreCase(message, "identity") ||
       ContainsIgnoreCase(message, "endpoint"))) {
    return Failure(SendErrorClass::kInvalidNumber, kProvider, reply, code_text,
                   "invalid number", now_ms);
  }
  const char* text = reply.status == 401 ? "unauthorized"
                     : code == 40200     ? "not enough credit"
                     : code == 42201     ? "no route to destination"
                     : code == 42200     ? "application not configured"
                                         : "rejected";
  return Failure(SendErrorClass::kRejected, kProvider, reply, code_text, text,
                 now_ms);
}

}  // namespace dlrd
