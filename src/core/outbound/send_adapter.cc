#include "dlrd/core/outbound/send_adapter.h"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/util/http_date.h"
#include "dlrd/core/util/strings.h"
#include "core/outbound/send_util.h"
#include "core/providers/registry.h"

namespace dlrd {
namespace {

constexpr int64_t kMsPerSecond = 1000;
// RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31.
constexpr int64_t kMaxDeltaSeconds = int64_t{1} << 31;
constexpr size_t kMaxProviderRef = 128;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool HasControl(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Checks and normalizes what every provider shares: base_url (absolute
// https, a host, no user info, query or fragment; trailing '/' dropped) and
// the timeouts.
Result<ProviderConfig> CheckCommon(const ProviderConfig& config) {
  const std::string prefix = "providers." + config.name + ".";
  ProviderConfig out = config;
  std::string_view url = out.base_url;
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty())
    return Result<ProviderConfig>::Error(prefix + "base_url: missing");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Result<ProviderConfig>::Error(prefix +
                                         "base_url: not an absolute URL");
  }
  if (!EqualsIgnoreCase(parsed->scheme(), "https")) {
    return Result<ProviderConfig>::Error(prefix + "base_url: must be https://");
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return Result<ProviderConfig>::Error(prefix + "base_url: no host");
  }
  if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment()) {
    return Result<ProviderConfig>::Error(
        prefix + "base_url: user info, query and fragment are not allowed");
  }
  out.base_url = std::string(url);
  if (out.connect_timeout_ms <= 0) {
    return Result<ProviderConfig>::Error(prefix +
                                         "connect_timeout_ms: must be > 0");
  }
  if (out.request_timeout_ms <= 0) {
    return Result<ProviderConfig>::Error(prefix +
                                         "request_timeout_ms: must be > 0");
  }
  return out;
}

}  // namespace

std::string_view ToString(SendErrorClass c) {
  // The error_class label values of docs/metrics.md §2.
  switch (c) {
    case SendErrorClass::kNone:
      return "none";
    case SendErrorClass::kInvalidNumber:
      return "invalid_number";
    case SendErrorClass::kFraud:
      return "fraud_detected";
    case SendErrorClass::kRateLimited:
      return "rate_limited";
    case SendErrorClass::kServer:
      return "server_error";
    case SendErrorClass::kTimeout:
      return "timeout";
    case SendErrorClass::kNetwork:
      return "connection";
    case SendErrorClass::kRejected:
      return "client_error";
  }
  return "client_error";
}

int64_t ParseRetryAfterMs(std::string_view value, int64_t now_ms) {
  std::string_view v = TrimOws(value);
  if (v.empty()) return -1;
  std::string_view digits = v;
  const bool negative = digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  bool all_digits = !digits.empty();
  for (char c : digits) all_digits = all_digits && IsDigit(c);
  if (all_digits) {
    if (negative) return 0;
    int64_t seconds = 0;
    for (char c : digits) {
      seconds = seconds * 10 + (c - '0');
      if (seconds >= kMaxDeltaSeconds) {
        seconds = kMaxDeltaSeconds;
        break;
      }
    }
    return seconds * kMsPerSecond;
  }
  std::optional<int64_t> at = ParseHttpDateMs(v, now_ms);
  if (!at) return -1;
  return *at > now_ms ? *at - now_ms : 0;
}

Result<std::unique_ptr<SendAdapter>> MakeSendAdapter(
    const ProviderConfig& config) {
  using R = Result<std::unique_ptr<SendAdapter>>;
  if (config.name.empty()) return R::Error("providers: provider name missing");
  const SenderFactory* factory = nullptr;
  std::string known;
  for (const Provider* p : Providers()) {
    for (const SenderFactory& f : p->senders) {
      if (f.name == config.name) factory = &f;
      known += (known.empty() ? "" : ", ") + std::string(f.name);
    }
  }
  if (factory == nullptr) {
    return R::Error("providers." + config.name + ": unknown provider (" +
                    known + ")");
  }
  Result<ProviderConfig> checked = CheckCommon(config);
  if (!checked.ok()) return checked.status();
  return factory->make(checked.value());
}

namespace send_internal {

std::string CredentialError(std::string_view provider, std::string_view key,
                            std::string_view what) {
  std::string out = "providers.";
  out.append(provider).append(".credentials.").append(key).append(": ");
  out.append(what);
  return out;
}

Result<std::string> OptionalCredential(const ProviderConfig& config,
                                       std::string_view key) {
  auto it = config.credentials.find(key);
  if (it == config.credentials.end()) return std::string();
  if (HasControl(it->second)) {
    return Result<std::string>::Error(
        CredentialError(config.name, key, "contains control characters"));
  }
  return it->second;
}

Result<std::string> RequiredCredential(const ProviderConfig& config,
                                       std::string_view key) {
  Result<std::string> value = OptionalCredential(config, key);
  if (value.ok() && value.value().empty()) {
    return Result<std::string>::Error(
        CredentialError(config.name, key, "missing"));
  }
  return value;
}

std::string BasicAuth(std::string_view user, std::string_view password) {
  std::string pair(user);
  pair += ':';
  pair.append(password);
  return "Basic " + Base64Encode(pair);
}

std::string PercentEncode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

bool IsE164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') {
    return false;
  }
  for (char c : s.substr(1)) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

Status UnsupportedChannel(std::string_view provider, Channel channel) {
  std::string out(provider);
  out.append(": channel ").append(ToString(channel)).append(" not supported");
  return Status::Error(std::move(out));
}

Status BadRecipient(std::string_view provider) {
  std::string out(provider);
  out += ": recipient is not E.164 (+ and 8-15 digits)";
  return Status::Error(std::move(out));
}

std::optional<std::string_view> FindHeader(const HeaderList& headers,
                                           std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<nlohmann::json> ParseObject(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string TextMember(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

std::optional<int64_t> IntMember(const nlohmann::json& object,
                                 std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return std::nullopt;
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}


SendErrorClass ClassByStatus(int status) {
  if (status == 429) return SendErrorClass::kRateLimited;
  if (status >= 500) return SendErrorClass::kServer;
  return SendErrorClass::kRejected;
}

SendOutcome Failure(SendErrorClass error, std::string_view provider,
                    const HttpReply& reply, std::string_view code,
                    std::string_view text, int64_t now_ms) {
  SendOutcome out;
  out.error = error;
  out.provider_code = std::string(code);
  out.detail = std::string(provider) + " " + std::to_string(reply.status);
  if (!code.empty()) out.detail.append(" ").append(code);
  out.detail.append(": ").append(text);
  if (error == SendErrorClass::kRateLimited ||
      error == SendErrorClass::kServer) {
    if (auto ra = FindHeader(reply.headers, "Retry-After")) {
      out.retry_after_ms = ParseRetryAfterMs(*ra, now_ms);
    }
  }
  return out;
}

SendOutcome Success(std::string_view provider, const HttpReply& reply,
                    std::string id) {
  SendOutcome out;
  out.detail = std::string(provider) + " " + std::to_string(reply.status);
  if (id.empty()) {
    out.error = SendErrorClass::kRejected;
    out.detail += ": no id in reply";
    return out;
  }
  // The id is stored and logged: refuse one that is not a short token.
  bool printable = id.size() <= kMaxProviderRef;
  for (char c : id) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    out.error = SendErrorClass::kRejected;
    out.detail += ": malformed id in reply";
    return out;
  }
  out.provider_ref = std::move(id);
  out.detail += ": accepted";
  return out;
}

}  // namespace send_internal
}  // namespace dlrd
