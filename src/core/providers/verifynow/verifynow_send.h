// VerifyNowSendAdapter: Message Central VerifyNow v3 "send OTP".
//
// Request (messagecentral.com VerifyNow API docs, v3):
//   POST {base_url}/verification/v3/send?countryCode=<cc>&customerId=<id>
//        &flowType=<SMS|WHATSAPP>&mobileNumber=<national number>
//   authToken: <auth_token>             (no body)
// The E.164 recipient is split with CallingCodeOf(): "+447700900001" ->
// countryCode=44, mobileNumber=7700900001. Channels: sms -> SMS, whatsapp
// -> WHATSAPP. The documented flowType values are SMS, WHATSAPP, RCS and
// SAUTH: there is no voice, so a voice step is a Build() error (the
// dispatcher escalates past it).
//
// Reply: JSON {responseCode, message, data: {verificationId, mobileNumber,
// responseCode, errorMessage, timeout, ...}}. Errors carry a responseCode
// in the body, with HTTP 200 or 4xx; the body code decides when present:
//   200 + data.verificationId   -> accepted (the id, string or number)
//   511 INVALID_COUNTRY_CODE    -> kInvalidNumber
//   400 BAD_REQUEST             -> kInvalidNumber when the message names the
//                                  mobile number, else kRejected
//   506 REQUEST_ALREADY_EXISTS  -> kRateLimited (an OTP to this number is
//                                  still live; it frees up at its timeout)
//   800 MAXIMUM_LIMIT_REACHED   -> kRateLimited
//   500 SERVER_ERROR            -> kServer
//   501 INVALID_CUSTOMER_ID, 409, others -> kRejected
// HTTP 429 -> kRateLimited and HTTP 5xx -> kServer whatever the body says.
// Message Central documents no fraud code; a reply whose message mentions
// fraud or a block is taken as kFraud (an assumption, see the mock).
//
// Idempotency: none documented; supports_idempotency_key() is false and a
// re-send after an unknown outcome may reach the user twice (or get 506).
// The auth token is the one the token API issued; refreshing it is not
// this adapter's job. Immutable; safe for concurrent use.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd {

class VerifyNowSendAdapter final : public SendAdapter {
 public:
  // Reads credentials auth_token and customer_id. Called by MakeSendAdapter
  // after its common checks (base_url, timeouts); use that instead.
  friend Result<std::unique_ptr<SendAdapter>> MakeVerifyNowSendAdapter(
      const ProviderConfig& config);

  Result<HttpCall> Build(const SendRequest& request) const override;
  SendOutcome Classify(const HttpReply& reply, int64_t now_ms) const override;
  std::string_view provider() const override { return "verifynow"; }
  bool supports_idempotency_key() const override { return false; }

 private:
  VerifyNowSendAdapter(std::string base_url, std::string auth_token,
                       std::string customer_id);

  std::string base_url_;
  std::string auth_token_;
  std::string customer_id_;
};

// The factory in the provider registry (see the class comment).
Result<std::unique_ptr<SendAdapter>> MakeVerifyNowSendAdapter(
    const ProviderConfig& config);

}  // namespace dlrd
