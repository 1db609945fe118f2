#include "core/providers/twilio/twilio_send.h"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "core/outbound/send_util.h"

namespace dlrd {
namespace {

using nlohmann::json;
using send_internal::Failure;

constexpr std::string_view kProvider = "twilio";

struct CodeRule {
  int64_t code;
  SendErrorClass error;
  const char* text;
};
// Twilio error codes with a meaning for the dispatcher (twilio.com/docs/
// api/errors/<code>).
constexpr CodeRule kCodeRules[] = {
    {60410, SendErrorClass::kFraud, "verification delivery blocked (fraud)"},
    {60412, SendErrorClass::kFraud, "blocked as a fraudulent sign-up"},
    {21211, SendErrorClass::kInvalidNumber, "invalid To number"},
    {21614, SendErrorClass::kInvalidNumber, "not a mobile number"},
    {60200, SendErrorClass::kInvalidNumber, "invalid parameter (To)"},
    {21610, SendErrorClass::kInvalidNumber, "recipient unsubscribed"},
    {60203, SendErrorClass::kRateLimited, "max send attempts reached"},
    {60212, SendErrorClass::kRateLimited, "too many concurrent requests"},
    {20429, SendErrorClass::kRateLimited, "too many requests"},
    {60205, SendErrorClass::kRejected, "SMS not supported by landline"},
};

bool IsAlnum(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return !s.empty();
}

}  // namespace

TwilioSendAdapter::TwilioSendAdapter(std::string url, std::string authorization)
    : url_(std::move(url)), authorization_(std::move(authorization)) {}

Result<std::unique_ptr<SendAdapter>> MakeTwilioSendAdapter(
    const ProviderConfig& config) {
  Result<std::string> account =
      send_internal::RequiredCredential(config, "account_sid");
  if (!account.ok()) return account.status();
  Result<std::string> token =
      send_internal::RequiredCredential(config, "auth_token");
  if (!token.ok()) return token.status();
  Result<std::string> service =
      send_internal::RequiredCredential(config, "service_sid");
  if (!service.ok()) return service.status();
  if (!IsAlnum(service.value())) {
    return Status::Error(send_internal::CredentialError(
        config.name, "service_sid", "must be letters and digits"));
  }
  return std::unique_ptr<SendAdapter>(new TwilioSendAdapter(
      config.base_url + "/v2/Services/" + service.value() + "/Verifications",
      send_internal::BasicAuth(account.value(), token.value())));
}

Result<HttpCall> TwilioSendAdapter::Build(const SendRequest& request) const {
  const char* channel = nullptr;
  switch (request.channel) {
    case Channel::kSms:
      channel = "sms";
      break;
    case Channel::kWhatsapp:
      channel = "whatsapp";
      break;
    case Channel::kVoice:
      channel = "call";
      break;
    case Channel::kOther:
      return send_internal::UnsupportedChannel(kProvider, request.channel);
  }
  if (!send_internal::IsE164(request.recipient)) {
    return send_internal::BadRecipient(kProvider);
  }
  HttpCall call;
  call.method = "POST";
  call.url = url_;
  call.headers.emplace_back("Authorization", authorization_);
  call.headers.emplace_back("Content-Type",
                            "application/x-www-form-urlencoded");
  call.body = "To=" + send_internal::PercentEncode(request.recipient) +
              "&Channel=" + channel;
  return call;
}

SendOutcome TwilioSendAdapter::Classify(const HttpReply& reply,
                                        int64_t now_ms) const {
  const std::optional<json> body = send_internal::ParseObject(reply.body);
  if (reply.status >= 200 && reply.status < 300) {
    return send_internal::Success(
        kProvider, reply, body ? send_internal::TextMember(*body, "sid") : "");
  }
  const std::optional<int64_t> code =
      body ? send_internal::IntMember(*body, "code") : std::nullopt;
  const std::string code_text = code ? std::to_string(*code) : "";
  if (code && reply.status < 500) {
    for (const CodeRule& rule : kCodeRules) {
      if (rule.code == *code) {
        return Failure(rule.error, kProvider, reply, code_text, rule.text,
                       now_ms);
      }
    }
  }
  const SendErrorClass error = send_internal::ClassByStatus(reply.status);
  const char* text = error == SendErrorClass::kRateLimited ? "too many requests"
                     : error == SendErrorClass::kServer    ? "server error"
                     : reply.status == 401                 ? "unauthorized"
                                                           : "rejected";
  return Failure(error, kProvider, reply, code_text, text, now_ms);
}

}  // namespace dlrd
