// SendAdapter: one provider's "send a verification" API, as pure request
// building and response classification. No I/O: the dispatcher hands the
// HttpCall to an OutboundClient and the reply back to Classify().
//
// Contract:
// - Build() never logs and never puts credentials anywhere but the headers
//   the provider requires (Authorization / authToken).
// - Classify() maps every reply to exactly one SendOutcome; the error class
//   decides what the dispatcher does (see SendErrorClass).
// - The idempotency key is sent wherever the provider's API takes one;
//   `supports_idempotency_key()` says whether a re-send after an unknown
//   outcome is safe (the provider dedupes it) or may reach the user twice.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

// What to send: the next step of a root verification.
struct SendRequest {
  std::string root_id;  // the app's verification id (step 0)
  int step = 0;
  Channel channel = Channel::kSms;
  std::string recipient;        // E.164, "+<digits>"
  std::string idempotency_key;  // stable across retries of this job
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One outbound HTTPS request.
struct HttpCall {
  std::string method;  // "POST"
  std::string url;     // absolute: https://host[:port]/path?query
  HeaderList headers;  // Content-Type, Authorization, Idempotency-Key, ...
  std::string body;
};

struct HttpReply {
  int status = 0;
  HeaderList headers;
  std::string body;
};

enum class SendErrorClass {
  kNone,           // accepted
  kInvalidNumber,  // 400-type: the number is wrong; dead, no retry
  kFraud,          // 403-type: fraud/blocked; dead, and the root flagged
  kRateLimited,    // 429: wait max(Retry-After, backoff)
  kServer,         // 5xx: backoff, then escalate
  kTimeout,        // no answer in time (the request may have been taken)
  kNetwork,        // connect/reset/TLS failure
  kRejected,       // any other 4xx (auth, config): dead, escalate
};

inline constexpr SendErrorClass kAllSendErrorClasses[] = {
    SendErrorClass::kInvalidNumber, SendErrorClass::kFraud,
    SendErrorClass::kRateLimited,   SendErrorClass::kServer,
    SendErrorClass::kTimeout,       SendErrorClass::kNetwork,
    SendErrorClass::kRejected};

// The error_class metric label (docs/metrics.md §2): invalid_number,
// fraud_detected, rate_limited, server_error, timeout, connection,
// client_error.
std::string_view ToString(SendErrorClass c);

struct SendOutcome {
  SendErrorClass error = SendErrorClass::kNone;
  // accepted: the provider's new id. Empty only when the provider said the
  // request duplicates one it already accepted (Sinch 409/40900 on a reused
  // `reference`): the send happened, but its id is not in this reply.
  std::string provider_ref;
  int64_t retry_after_ms = -1;  // kRateLimited/kServer: from Retry-After
  std::string detail;           // short, no phone numbers, no secrets
  // The provider's own error code as text ("21610", "40300", "511",
  // "concurrent"), "" when the reply has none. Lets the caller apply the
  // policy tables (IsOptOutError, IsFraudError) to send errors too: Twilio
  // 21610 (unsubscribed) is kInvalidNumber here, and an opt-out there.
  std::string provider_code;
  bool accepted() const { return error == SendErrorClass::kNone; }
};

// Resolved provider settings (secrets already read from env:/file:).
struct ProviderConfig {
  std::string name;      // verifynow | twilio | vonage | sinch
  std::string base_url;  // https://host[:port][/prefix], no trailing '/'
  std::string ca_file;   // optional extra CA bundle (tests)
  int64_t connect_timeout_ms = 3000;
  int64_t request_timeout_ms = 10000;
  // Provider-specific, resolved: verifynow {auth_token, customer_id},
  // twilio {account_sid, auth_token, service_sid},
  // vonage {api_key, api_secret, brand, whatsapp_from (optional: the WABA
  // sender number; without it Vonage cannot send on whatsapp)},
  // sinch {application_key, application_secret}.
  std::map<std::string, std::string, std::less<>> credentials;
};

class SendAdapter {
 public:
  virtual ~SendAdapter() = default;
  virtual Result<HttpCall> Build(const SendRequest& request) const = 0;
  // `now_ms` resolves an HTTP-date Retry-After.
  virtual SendOutcome Classify(const HttpReply& reply,
                               int64_t now_ms) const = 0;
  virtual std::string_view provider() const = 0;
  virtual bool supports_idempotency_key() const = 0;
};

// Checks what all providers share (name; base_url: absolute https:// with a
// host, no user info, query or fragment, trailing '/' dropped; timeouts
// > 0), then the provider's credentials. Errors name the key
// ("providers.twilio.credentials.service_sid: missing") and never a value.
Result<std::unique_ptr<SendAdapter>> MakeSendAdapter(
    const ProviderConfig& config);

// Retry-After as milliseconds from now: delta-seconds or an HTTP-date
// (RFC 9110 §10.2.3); -1 when absent or unparsable; never negative
// otherwise.
int64_t ParseRetryAfterMs(std::string_view value, int64_t now_ms);

}  // namespace dlrd
