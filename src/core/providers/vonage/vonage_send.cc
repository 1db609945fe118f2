#include "core/providers/vonage/vonage_send.h"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/outbound/send_util.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;
using send_internal::Failure;

constexpr std::string_view kProvider = "vonage";
constexpr size_t kMaxBrand = 18;

bool IsAlnum(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return !s.empty();
}

// "https://developer.vonage.com/en/api-errors/verify-v2#concurrent" ->
// "concurrent"; "" without a fragment. Kept short and to [A-Za-z0-9_-].
std::string TypeCode(const json& problem) {
  const std::string type = send_internal::TextMember(problem, "type");
  const size_t hash = type.rfind('#');
  if (hash == std::string::npos) return "";
  std::string code = type.substr(hash + 1, 40);
  for (char c : code) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return "";
  }
  return code;
}

// 422: does the problem blame the recipient number?
bool BlamesNumber(const json& problem) {
  auto params = problem.find("invalid_parameters");
  if (params != problem.end() && params->is_array() && !params->empty()) {
    for (const json& p : *params) {
      const std::string name = send_internal::TextMember(p, "name");
      if (name == "to" ||
          (name.size() > 2 && name.ends_with("to") &&
           (name[name.size() - 3] == '.' || name[name.size() - 3] == ']'))) {
        return true;
      }
    }
    return false;
  }
  const std::string detail = send_internal::TextMember(problem, "detail");
  return ContainsIgnoreCase(detail, "number");
}

}  // namespace

VonageSendAdapter::VonageSendAdapter(std::string url, std::string authorization,
                                     std::string brand,
                                     std::string whatsapp_from)
    : url_(std::move(url)),
      authorization_(std::move(authorization)),
      brand_(std::move(brand)),
      whatsapp_from_(std::move(whatsapp_from)) {}

Result<std::unique_ptr<SendAdapter>> MakeVonageSendAdapter(
    const ProviderConfig& config) {
  Result<std::string> key =
      send_internal::RequiredCredential(config, "api_key");
  if (!key.ok()) return key.status();
  Result<std::string> secret =
      send_internal::RequiredCredential(config, "api_secret");
  if (!secret.ok()) return secret.status();
  Result<std::string> brand =
      send_internal::RequiredCredential(config, "brand");
  if (!brand.ok()) return brand.status();
  if (brand.value().size() > kMaxBrand ||
      brand.value().find_first_of("/{}:$") != std::string::npos) {
    return Status::Error(send_internal::CredentialError(
        config.name, "brand", "1-18 characters, none of / { } : $"));
  }
  Result<std::string> from =
      send_internal::OptionalCredential(config, "whatsapp_from");
  if (!from.ok()) return from.status();
  std::string whatsapp_from = from.value();
  if (!whatsapp_from.empty() && whatsapp_from.front() == '+') {
    whatsapp_from.erase(0, 1);
  }
  if (!from.value().empty() && !IsAlnum(whatsapp_from)) {
    return Status::Error(send_internal::CredentialError(
        config.name, "whatsapp_from", "must be letters and digits"));
  }
  return std::unique_ptr<SendAdapter>(new VonageSendAdapter(
      config.base_url + "/v2/verify",
      send_internal::BasicAuth(key.value(), secret.value()),
      std::move(brand).value(), std::move(whatsapp_from)));
}

Result<HttpCall> VonageSendAdapter::Build(const SendRequest& request) const {
  json step = json::object();
  switch (request.channel) {
    case Channel::kSms:
      step["channel"] = "sms";
      break;
    case Channel::kWhatsapp:
      if (whatsapp_from_.empty()) {
        return Status::Error(
            "vonage: channel whatsapp needs credentials.whatsapp_from");
      }
      step["channel"] = "whatsapp";
      step["from"] = whatsapp_from_;
      break;
    case Channel::kVoice:
      step["channel"] = "voice";
      break;
    case Channel::kOther:
      return send_internal::UnsupportedChannel(kProvider, request.channel);
  }
  if (!send_internal::IsE164(request.recipient)) {
    return send_internal::BadRecipient(kProvider);
  }
  step["to"] = request.recipient.substr(1);
  json body = json::object();
  body["brand"] = brand_;
  body["workflow"] = json::array({std::move(step)});
  HttpCall call;
  call.method = "POST";
  call.url = url_;
  call.headers.emplace_back("Authorization", authorization_);
  call.headers.emplace_back("Content-Type", "application/json");
  call.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return call;
}

SendOutcome VonageSendAdapter::Classify(const HttpReply& reply,
                                        int64_t now_ms) const {
  const std::optional<json> body = send_internal::ParseObject(reply.body);
  if (reply.status >= 200 && reply.status < 300) {
    return send_internal::Success(
        kProvider, reply,
        body ? send_internal::TextMember(*body, "request_id") : "");
  }
  const json empty = json::object();
  const json& problem = body ? *body : empty;
  const std::string code = TypeCode(problem);
  if (reply.status == 429 || reply.status >= 500) {
    const SendErrorClass error = send_internal::ClassByStatus(reply.status);
    return Failure(
        error, kProvider, reply, code,
        error == SendErrorClass::kServer ? "server error" : "too many requests",
        now_ms);
  }
  switch (reply.status) {
    case 409:
      return Failure(SendErrorClass::kRateLimited, kProvider, reply, code,
                     "concurrent verification to the number", now_ms);
    case 422:
      if (BlamesNumber(problem)) {
        return Failure(SendErrorClass::kInvalidNumber, kProvider, reply, code,
                       "invalid number", now_ms);
      }
      return Failure(SendErrorClass::kRejected, kProvider, reply, code,
                     "invalid parameters", now_ms);
    case 403: {
      bool fraud = false;
      for (const char* key : {"type", "title", "detail"}) {
        const std::string text = send_internal::TextMember(problem, key);
        fraud = fraud || ContainsIgnoreCase(text, "fraud") ||
                ContainsIgnoreCase(text, "block");
      }
      return Failure(fraud ? SendErrorClass::kFraud : SendErrorClass::kRejected,
                     kProvider, reply, code,
                     fraud ? "fraud check blocked the request" : "forbidden",
                     now_ms);
    }
    case 401:
      return Failure(SendErrorClass::kRejected, kProvider, reply, code,
                     "unauthorized", now_ms);
    case 402:
      return Failure(SendErrorClass::kRejected, kProvider, reply, code,
                     "low balance", now_ms);
    default:
      return Failure(SendErrorClass::kRejected, kProvider, reply, code,
                     "rejected", now_ms);
  }
}

}  // namespace dlrd
