#include "core/providers/verifynow/verifynow_send.h"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "dlrd/core/model/phone.h"
#include "core/outbound/send_util.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;
using send_internal::Failure;

constexpr std::string_view kProvider = "verifynow";

// Message Central's body responseCode values for a send (their response
// code table; the names are theirs).
struct CodeRule {
  int64_t code;
  SendErrorClass error;
  const char* name;
};
constexpr CodeRule kCodeRules[] = {
    {409, SendErrorClass::kRejected, "DUPLICATE_RESOURCE"},
    {500, SendErrorClass::kServer, "SERVER_ERROR"},
    {501, SendErrorClass::kRejected, "INVALID_CUSTOMER_ID"},
    {506, SendErrorClass::kRateLimited, "REQUEST_ALREADY_EXISTS"},
    {511, SendErrorClass::kInvalidNumber, "INVALID_COUNTRY_CODE"},
    {800, SendErrorClass::kRateLimited, "MAXIMUM_LIMIT_REACHED"},
};

}  // namespace

VerifyNowSendAdapter::VerifyNowSendAdapter(std::string base_url,
                                           std::string auth_token,
                                           std::string customer_id)
    : base_url_(std::move(base_url)),
      auth_token_(std::move(auth_token)),
      customer_id_(std::move(customer_id)) {}

Result<std::unique_ptr<SendAdapter>> MakeVerifyNowSendAdapter(
    const ProviderConfig& config) {
  Result<std::string> token =
      send_internal::RequiredCredential(config, "auth_token");
  if (!token.ok()) return token.status();
  Result<std::string> customer =
      send_internal::RequiredCredential(config, "customer_id");
  if (!customer.ok()) return customer.status();
  return std::unique_ptr<SendAdapter>(new VerifyNowSendAdapter(
      config.base_url, std::move(token).value(), std::move(customer).value()));
}

Result<HttpCall> VerifyNowSendAdapter::Build(const SendRequest& request) const {
  const char* flow = nullptr;
  switch (request.channel) {
    case Channel::kSms:
      flow = "SMS";
      break;
    case Channel::kWhatsapp:
      flow = "WHATSAPP";
      break;
    case Channel::kVoice:
    case Channel::kOther:
      return send_internal::UnsupportedChannel(kProvider, request.channel);
  }
  if (!send_internal::IsE164(request.recipient)) {
    return send_internal::BadRecipient(kProvider);
  }
  const std::string cc = CallingCodeOf(request.recipient);
  if (cc.empty()) {
    return Status::Error("verifynow: recipient has no known calling code");
  }
  const std::string national = request.recipient.substr(1 + cc.size());
  HttpCall call;
  call.method = "POST";
  call.url = base_url_ + "/verification/v3/send?countryCode=" + cc +
             "&customerId=" + send_internal::PercentEncode(customer_id_) +
             "&flowType=" + flow + "&mobileNumber=" + national;
  call.headers.emplace_back("authToken", auth_token_);
  return call;
}

SendOutcome VerifyNowSendAdapter::Classify(const HttpReply& reply,
                                           int64_t now_ms) const {
  if (reply.status == 429) {
    return Failure(SendErrorClass::kRateLimited, kProvider, reply, "",
                   "too many requests", now_ms);
  }
  if (reply.status >= 500) {
    return Failure(SendErrorClass::kServer, kProvider, reply, "",
                   "server error", now_ms);
  }
  const std::optional<json> body = send_internal::ParseObject(reply.body);
  const json empty = json::object();
  const json& obj = body ? *body : empty;
  const json* data = nullptr;
  if (auto it = obj.find("data"); it != obj.end() && it->is_object()) {
    data = &*it;
  }
  const std::optional<int64_t> code =
      send_internal::IntMember(obj, "responseCode");
  const bool ok_status = reply.status >= 200 && reply.status < 300;
  if (ok_status && (!code || *code == 200)) {
    return send_internal::Success(
        kProvider, reply,
        data ? send_internal::TextMember(*data, "verificationId") : "");
  }
  const std::string message = send_internal::TextMember(obj, "message");
  const std::string error_message =
      data ? send_internal::TextMember(*data, "errorMessage") : "";
  const std::string code_text = code ? std::to_string(*code) : "";
  for (const std::string* m : {&message, &error_message}) {
    if (ContainsIgnoreCase(*m, "fraud") ||
        ContainsIgnoreCase(*m, "block")) {
      return Failure(SendErrorClass::kFraud, kProvider, reply, code_text,
                     "fraud or blocked", now_ms);
    }
  }
  if (!code || *code == 200) {
    const bool auth = reply.status == 401 || reply.status == 403;
    return Failure(SendErrorClass::kRejected, kProvider, reply, "",
                   auth ? "unauthorized" : "rejected", now_ms);
  }
  for (const CodeRule& rule : kCodeRules) {
    if (rule.code == *code) {
      return Failure(rule.error, kProvider, reply, code_text, rule.name,
                     now_ms);
    }
  }
  if (*code == 400) {
    const bool names_number =
        ContainsIgnoreCase(message, "mobile") ||
        ContainsIgnoreCase(message, "number") ||
        ContainsIgnoreCase(error_message, "mobile") ||
        ContainsIgnoreCase(error_message, "number");
    return Failure(names_number ? SendErrorClass::kInvalidNumber
                                : SendErrorClass::kRejected,
                   kProvider, reply, code_text,
                   names_number ? "invalid mobile number" : "BAD_REQUEST",
                   now_ms);
  }
  return Failure(SendErrorClass::kRejected, kProvider, reply, code_text,
                 "rejected", now_ms);
}

}  // namespace dlrd
