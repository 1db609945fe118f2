// Stripe `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`
// (docs/signatures.md §5).
//
// Parsing follows the SDKs: split the value on ',', each item on its first
// '='. Keys are matched exactly ("t", "v1"; no trimming, no case folding).
// Items without '=' and keys other than t/v1 (v0, future schemes) are
// ignored, so a v0 can never stand in for a v1 (no downgrade).
//
// Check order, structural before semantic, MACs last:
//   1. exactly one non-empty Stripe-Signature header   kMissingHeader /
//                                                      kDuplicateHeader
//   2. `t` at most once                                kBadToken
//   3. `t` present, 1..18 ASCII digits                 kBadTimestamp
//   4. at least one v1 of 64 hex digits (any case);    kBadEncoding
//      malformed v1 entries are skipped
//   5. now - tolerance <= t <= now + tolerance         kStale / kFuture
//   6. HMAC-SHA256(secret, t + "." + body) equals      kMismatch
//      some decoded v1, for some secret
//
// Decisions beyond Stripe's SDKs:
// - A repeated `t` is refused (kBadToken). stripe-python uses the first t
//   and stripe-node the last; Stripe never sends two, so refusing removes
//   the parser differential instead of picking a side.
// - The future is bounded too (kFuture): Stripe checks only the past.
// - tolerance_s = 0 means "the same second", not "no check" (stripe-node's
//   low-level verifyHeader treats 0 as off). Negative values are refused by
//   the factory.
// - The timestamp is signed as the digits received (Stripe re-prints the
//   parsed integer; identical for every header Stripe sends).
// - The secret is the whole configured string, `whsec_` prefix included, as
//   raw bytes; it is never base64-decoded (unlike Standard Webhooks).
// - No event id: Stripe's is in the body (`id`), which the format extracts.
#include "core/providers/stripe/stripe_verifier.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/signature/crypto.h"

namespace dlrd {
namespace {

constexpr std::string_view kHeader = "Stripe-Signature";
constexpr size_t kMacSize = 32;             // HMAC-SHA256

struct ParsedHeader {
  std::optional<std::string_view> timestamp;  // raw digits as received
  std::vector<std::string> v1;                // decoded, kMacSize bytes each
};

// kNone on success; kBadToken when `t` appears more than once.
RejectReason ParseHeader(std::string_view value, ParsedHeader* out) {
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view item = value.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view key = item.substr(0, eq);
      const std::string_view val = item.substr(eq + 1);
      if (key == "t") {
        if (out->timestamp) return RejectReason::kBadToken;
        out->timestamp = val;
      } else if (key == "v1") {
        std::optional<std::string> sig = HexDecode(val);
        if (sig && sig->size() == kMacSize) out->v1.push_back(std::move(*sig));
      }
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return RejectReason::kNone;
}

// kNone, kStale or kFuture. The distance is computed in uint64 so no pair
// of int64 values can overflow it.
RejectReason CheckAge(int64_t ts, int64_t now, int64_t tolerance) {
  const uint64_t limit = static_cast<uint64_t>(tolerance);
  if (now >= ts) {
    uint64_t age = static_cast<uint64_t>(now) - static_cast<uint64_t>(ts);
    return age > limit ? RejectReason::kStale : RejectReason::kNone;
  }
  uint64_t ahead = static_cast<uint64_t>(ts) - static_cast<uint64_t>(now);
  return ahead > limit ? RejectReason::kFuture : RejectReason::kNone;
}

class StripeVerifier final : public SignatureVerifier {
 public:
  // REQUIRES: secrets non-empty, each non-empty; tolerance_s >= 0.
  StripeVerifier(std::vector<std::string> secrets, int64_t tolerance_s)
      : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override {
    const int count = hook.HeaderCount(kHeader);
    if (count == 0) return Rejected(RejectReason::kMissingHeader);
    if (count > 1) return Rejected(RejectReason::kDuplicateHeader);
    const std::string_view value = *hook.Header(kHeader);
    if (value.empty()) return Rejected(RejectReason::kMissingHeader);

    ParsedHeader parsed;
    RejectReason r = ParseHeader(value, &parsed);
    if (r != RejectReason::kNone) return Rejected(r);
    if (!parsed.timestamp) return Rejected(RejectReason::kBadTimestamp);
    const std::optional<int64_t> ts = ParseUnixSeconds(*parsed.timestamp);
    if (!ts) return Rejected(RejectReason::kBadTimestamp);
    if (parsed.v1.empty()) return Rejected(RejectReason::kBadEncoding);
    r = CheckAge(*ts, now_unix, tolerance_s_);
    if (r != RejectReason::kNone) return Rejected(r);

    std::string signed_payload;
    signed_payload.reserve(parsed.timestamp->size() + 1 + hook.body.size());
    signed_payload.append(*parsed.timestamp).append(".").append(hook.body);
    for (size_t i = 0; i < secrets_.size(); ++i) {
      const std::optional<std::string> mac =
          Hmac(HashAlgorithm::kSha256, secrets_[i], signed_payload);
      for (const std::string& sig : parsed.v1) {
        if (MacEquals(mac, sig)) {
          SignatureCheck ok;
          ok.valid = true;
          ok.secret_index = static_cast<int>(i);
          return ok;
        }
      }
    }
    return Rejected(RejectReason::kMismatch);
  }

  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
            RejectReason::kBadToken,      RejectReason::kBadTimestamp,
            RejectReason::kBadEncoding,   RejectReason::kStale,
            RejectReason::kFuture,        RejectReason::kMismatch};
  }

  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {std::string(kHeader)};
  }

 private:
  std::vector<std::string> secrets_;  // raw bytes, `whsec_` included
  int64_t tolerance_s_;
};

}  // namespace

Result<std::unique_ptr<SignatureVerifier>> MakeStripeVerifier(
    const SignatureConfig& config) {
  using VerifierResult = Result<std::unique_ptr<SignatureVerifier>>;
  if (config.tolerance_s < 0) {
    return VerifierResult::Error("tolerance_s: must be >= 0");
  }
  if (Status s = ValidateSecrets(config); !s.ok()) return s;
  return std::unique_ptr<SignatureVerifier>(
      std::make_unique<StripeVerifier>(config.secrets, config.tolerance_s));
}

}  // namespace dlrd
