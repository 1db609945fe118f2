// VonageSendAdapter: Vonage Verify v2 "request a verification".
//
// Request (developer.vonage.com Verify v2 API reference, newRequest):
//   POST {base_url}/v2/verify
//   Authorization: Basic base64(api_key:api_secret)   (basicAuth scheme)
//   Content-Type: application/json
//   {"brand": <brand>, "workflow": [{"channel": "sms"|"voice", "to": <digits,
//    no +>}]}  or, for whatsapp, [{"channel": "whatsapp", "from":
//    <whatsapp_from>, "to": <digits>}]
// One channel per request: the workflow holds only the step dlrd sends (the
// fallback chain is dlrd's, not Vonage's). WhatsApp needs a WABA sender
// number, credentials.whatsapp_from; without it a whatsapp step is a
// Build() error. base_url is https://api.nexmo.com in production. brand is
// 1-18 characters without / { } : $ (Vonage answers 422 otherwise).
//
// Reply: 202 JSON {request_id} -> accepted. Errors are RFC 7807
// problem+json {type, title, detail, instance}; provider_code is the
// fragment of `type` ("concurrent", "invalid-params", "throttled"):
//   409 concurrent verification to the number -> kRateLimited (the live one
//       must expire, fail or complete first)
//   422 invalid params naming `to` (invalid_parameters[].name "to" or
//       "...to"), or, without that list, a detail about the number
//                                              -> kInvalidNumber
//   422 naming other params                    -> kRejected (config)
//   403 whose text mentions fraud or a block   -> kFraud
//   429 -> kRateLimited, 5xx -> kServer (with Retry-After when present),
//   401, 402 (low balance), other 4xx          -> kRejected
// Vonage reports network blocks of its anti-fraud system in callbacks, not
// here; a synchronous 403 fraud reply is an assumption (see the mock).
//
// Idempotency: Verify v2 documents no idempotency key;
// supports_idempotency_key() is false (a re-send usually gets 409 while
// the first request is live). Immutable; safe for concurrent use.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd {

class VonageSendAdapter final : public SendAdapter {
 public:
  // Reads credentials api_key, api_secret, brand and whatsapp_from
  // (optional; letters and digits, a leading '+' is dropped). Called by
  // MakeSendAdapter after its common checks; use that instead.
  friend Result<std::unique_ptr<SendAdapter>> MakeVonageSendAdapter(
      const ProviderConfig& config);

  Result<HttpCall> Build(const SendRequest& request) const override;
  SendOutcome Classify(const HttpReply& reply, int64_t now_ms) const override;
  std::string_view provider() const override { return "vonage"; }
  bool supports_idempotency_key() const override { return false; }

 private:
  VonageSendAdapter(std::string url, std::string authorization,
                    std::string brand, std::string whatsapp_from);

  std::string url_;  // .../v2/verify
  std::string authorization_;
  std::string brand_;
  std::string whatsapp_from_;  // "" when not configured
};

// The factory in the provider registry (see the class comment).
Result<std::unique_ptr<SendAdapter>> MakeVonageSendAdapter(
    const ProviderConfig& config);

}  // namespace dlrd
