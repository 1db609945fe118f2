// TwilioSendAdapter: Twilio Verify v2 "create a verification".
//
// Request (twilio.com/docs/verify/api/verification):
//   POST {base_url}/v2/Services/{service_sid}/Verifications
//   Authorization: Basic base64(account_sid:auth_token)
//   Content-Type: application/x-www-form-urlencoded
//   To=<E.164, percent-encoded>&Channel=<sms|whatsapp|call>
// Channels: sms -> sms, whatsapp -> whatsapp, voice -> call. base_url is
// https://verify.twilio.com in production. (An API key SID and secret work
// as account_sid and auth_token too.)
//
// Reply: 201 JSON {sid: "VE...", status: "pending", ...} -> accepted with
// the sid. Errors: JSON {code, message, more_info, status}; the code
// decides first:
//   60410 (Fraud Guard blocked the prefix), 60412 (fraudulent sign-up
//     prevention)                                   -> kFraud
//   21211 (invalid To), 21614 (not a mobile number), 60200 (invalid
//     parameter: every other parameter is ours, so it is To) -> kInvalidNumber
//   21610 (recipient unsubscribed: an opt-out)      -> kInvalidNumber, with
//     provider_code "21610" for the opt-out table
//   60203 (max send attempts), 60212 (concurrent requests to the number),
//     20429 (too many requests)                     -> kRateLimited
//   60205 (SMS to a landline)                       -> kRejected (voice may
//     still work, so the dispatcher escalates)
// then the status: 429 -> kRateLimited, 5xx -> kServer (both with
// Retry-After when present), other 4xx -> kRejected.
//
// Idempotency: Verify has no idempotency key (docs/reliability.md §5.2);
// supports_idempotency_key() is false: a re-send after an unknown outcome
// may reach the user twice. Immutable; safe for concurrent use.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd {

class TwilioSendAdapter final : public SendAdapter {
 public:
  // Reads credentials account_sid, auth_token and service_sid (letters and
  // digits only: it is a path segment). Called by MakeSendAdapter after its
  // common checks; use that instead.
  friend Result<std::unique_ptr<SendAdapter>> MakeTwilioSendAdapter(
      const ProviderConfig& config);

  Result<HttpCall> Build(const SendRequest& request) const override;
  SendOutcome Classify(const HttpReply& reply, int64_t now_ms) const override;
  std::string_view provider() const override { return "twilio"; }
  bool supports_idempotency_key() const override { return false; }

 private:
  TwilioSendAdapter(std::string url, std::string authorization);

  std::string url_;            // .../v2/Services/{sid}/Verifications
  std::string authorization_;  // "Basic ..."
};

// The factory in the provider registry (see the class comment).
Result<std::unique_ptr<SendAdapter>> MakeTwilioSendAdapter(
    const ProviderConfig& config);

}  // namespace dlrd
