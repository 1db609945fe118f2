// SignatureVerifier: decides whether a callback was signed by its provider.
//
// Contract:
// - Verify() performs no I/O and reads no clock: the caller passes `now`.
// - A verifier is immutable after construction and safe for concurrent use
//   from many threads without synchronization.
// - Every comparison of MAC bytes is constant-time (ConstantTimeEquals).
// - A rejection always carries a reason. Reasons are for metrics and logs;
//   the HTTP response never carries them, nor any expected signature.
// - Secrets are tried in configured order; on success `secret_index` names
//   the one that matched, so operators can see when an old secret is unused.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

enum class RejectReason {
  kNone,
  kMissingHeader,        // a required signature header is absent or empty
  kDuplicateHeader,      // a signature header appears more than once
  kBadEncoding,          // header present but not in the scheme's format
  kBadTimestamp,         // timestamp header is not an integer
  kTimestampSkew,        // timestamp outside the tolerance window
  kMismatch,             // well-formed, but no secret produces that signature
  kUrlMismatch,          // twilio: no URL variant verifies (public_url wrong?)
  kPayloadHashMismatch,  // signed hash of the body != hash of the body
  kAlgNotAllowed,        // JWT alg other than the one allowed (incl. "none")
  kBadToken,             // JWT or structured header not parseable
  kStale,                // signed timestamp older than the tolerance
  kFuture,               // signed timestamp newer than the tolerance
  kKeyMismatch,          // sinch: Authorization names another application key
};

inline constexpr RejectReason kAllRejectReasons[] = {
    RejectReason::kNone,
    RejectReason::kMissingHeader,
    RejectReason::kDuplicateHeader,
    RejectReason::kBadEncoding,
    RejectReason::kBadTimestamp,
    RejectReason::kTimestampSkew,
    RejectReason::kMismatch,
    RejectReason::kUrlMismatch,
    RejectReason::kPayloadHashMismatch,
    RejectReason::kAlgNotAllowed,
    RejectReason::kBadToken,
    RejectReason::kStale,
    RejectReason::kFuture,
    RejectReason::kKeyMismatch};

// Stable snake_case name used in metrics, logs and `dlrd verify` output.
std::string_view ToString(RejectReason r);

struct SignatureCheck {
  bool valid = false;
  RejectReason reason = RejectReason::kNone;
  int secret_index = -1;  // >= 0 iff valid
  // A scheme-provided event id (Standard Webhooks `webhook-id`); empty when
  // the scheme has none. Used as the dedupe key when present.
  std::string event_id;
};

class SignatureVerifier {
 public:
  virtual ~SignatureVerifier() = default;
  virtual SignatureCheck Verify(const InboundWebhook& hook,
                                int64_t now_unix) const = 0;
  // Every reason this scheme can return; metrics pre-create one series each.
  virtual std::vector<RejectReason> Reasons() const = 0;
  virtual size_t secret_count() const = 0;
  // Every request header Verify() may read. Nothing else in the head is
  // needed to verify the request again, so a credential header outside
  // this list is redacted before the request is stored (core/redact.h).
  virtual std::vector<std::string> HeadersRead() const = 0;
  // True iff event_id names the event, not the delivery attempt: the sender
  // repeats it on every retry (Standard Webhooks' webhook-id), so it can be
  // the dedupe key. A JWT jti or a Sinch nonce is new per attempt: false.
  virtual bool event_id_is_stable() const { return false; }
  // True iff the sender is known to post an UNSIGNED copy of a genuine
  // callback when its own signing fails (Vonage, docs/signatures.md §6.3), and
  // retries a 5xx but drops a 4xx. A request with no signature at all is
  // then answered 503 so the sender retries it signed; it is still never
  // accepted.
  virtual bool unsigned_is_retryable() const { return false; }
};

// Building blocks for scheme implementations.
inline SignatureCheck Rejected(RejectReason reason, std::string event_id = {}) {
  SignatureCheck check;
  check.reason = reason;
  check.event_id = std::move(event_id);
  return check;
}
inline SignatureCheck Accepted(size_t secret_index, std::string event_id = {}) {
  SignatureCheck check;
  check.valid = true;
  check.secret_index = static_cast<int>(secret_index);
  check.event_id = std::move(event_id);
  return check;
}
// 1-18 ASCII digits (fits int64) -> value; nullopt for anything else,
// including signs, spaces and the empty string.
std::optional<int64_t> ParseUnixSeconds(std::string_view digits);

// The `signature` object of a source, after secrets are resolved to bytes.
struct SignatureConfig {
  // "hmac" | "standard-webhooks" | "twilio" | "vonage-jwt" | "vonage-sig" |
  // "sinch" | "stripe"
  std::string scheme;
  std::string header = "X-Signature";  // hmac
  std::string algorithm = "sha256";    // hmac: sha1 | sha256 | sha512
  std::string encoding = "hex";        // hmac: hex | base64
  std::string prefix;                  // hmac: e.g. "sha256="
  std::vector<std::string> secrets;    // resolved values, in config order
  int64_t tolerance_s = 300;           // every scheme with a timestamp
  std::string public_url;       // twilio: callback URL as configured, no query
  std::string variant;          // sinch: application | nonce | numbers
  std::string application_key;  // sinch application: expected key
};

// Ok iff there is at least one secret and none is empty; the error names
// the key (`secrets[1]: empty secret`), never a secret's bytes.
Status ValidateSecrets(const SignatureConfig& config);

// The two generic schemes, as registered in the provider registry
// (src/core/providers/registry.cc); callers use MakeSignatureVerifier.
// "hmac": a MAC of the raw body in one header (hmac_verifier.h).
Result<std::unique_ptr<SignatureVerifier>> MakeHmacVerifier(
    const SignatureConfig& config);
// "standard-webhooks": webhook-id/-timestamp/-signature
// (standard_webhooks_verifier.h).
Result<std::unique_ptr<SignatureVerifier>> MakeStandardWebhooksVerifier(
    const SignatureConfig& config);

// Builds the verifier for `config`. Fails (naming the problem, with secret
// indexes but never secret bytes) on an unknown scheme or algorithm, no
// secrets, an empty secret, or a secret that does not decode.
Result<std::unique_ptr<SignatureVerifier>> MakeSignatureVerifier(
    const SignatureConfig& config);

}  // namespace dlrd
