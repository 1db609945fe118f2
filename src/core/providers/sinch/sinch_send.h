// SinchSendAdapter: Sinch Verification "start a verification".
//
// Request (developers.sinch.com Verification API reference,
// verifications-start):
//   POST {base_url}/verification/v1/verifications
//   Authorization: Basic base64(application_key:application_secret)
//     (Sinch's basic authentication; the signed-request scheme is not used)
//   Content-Type: application/json
//   {"identity": {"type": "number", "endpoint": "+<E.164>"},
//    "method": "sms"|"whatsapp"|"callout", "reference": <idempotency_key>}
// Channels: sms -> sms, whatsapp -> whatsapp, voice -> callout (a phone
// call that speaks the code). base_url is https://verification.api.sinch.com
// in production. `reference` is omitted when the key is empty.
//
// Reply: 200 JSON {id, method, _links, ...} -> accepted with `id`.
// Errors: JSON {errorCode, message, reference} (errorCode as a number or a
// string); by Sinch's error table:
//   409 40900 "reference already defined"  -> accepted, provider_ref empty:
//       an earlier request with this reference was taken (see below)
//   403 40300 "identity is blacklisted"    -> kFraud
//   400 40001 (parameter validation) or 40003 (invalid identity) whose
//       message names the number or identity -> kInvalidNumber
//   429 (42900 capacity, 42901 same number too quickly) -> kRateLimited
//   5xx (50000, 50300, 50301)              -> kServer
//   401 (401xx), 402 40200 (no credit), 422 42200/42201 (app not
//   configured, no route to destination), other 4xx -> kRejected
//
// Idempotency: Sinch answers 409/40900 to a second start with the same
// `reference`, so sending the job's idempotency key there makes a re-send
// after an unknown outcome safe: supports_idempotency_key() is true. The
// reference also comes back in Sinch's callbacks, and a verification can
// be looked up by it (GET .../verifications/reference/{reference}) when
// the 409 leaves the id unknown. Immutable; safe for concurrent use.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd {

class SinchSendAdapter final : public SendAdapter {
 public:
  // Reads credentials application_key and application_secret. Called by
  // MakeSendAdapter after its common checks; use that instead.
  friend Result<std::unique_ptr<SendAdapter>> MakeSinchSendAdapter(
      const ProviderConfig& config);

  Result<HttpCall> Build(const SendRequest& request) const override;
  SendOutcome Classify(const HttpReply& reply, int64_t now_ms) const override;
  std::string_view provider() const override { return "sinch"; }
  bool supports_idempotency_key() const override { return true; }

 private:
  SinchSendAdapter(std::string url, std::string authorization);

  std::string url_;  // .../verification/v1/verifications
  std::string authorization_;
};

// The factory in the provider registry (see the class comment).
Result<std::unique_ptr<SendAdapter>> MakeSinchSendAdapter(
    const ProviderConfig& config);

}  // namespace dlrd
