// Sinch callbacks (docs/signatures.md §7), three variants chosen by `variant`.
//
// application (docs/signatures.md §7.1, Verification and Voice callbacks)
//   Authorization: Application <key>:<base64 HMAC-SHA256>
//   string to sign, joined by LF, no trailing LF:
//     METHOD, Content-MD5, Content-Type, "x-timestamp:" + x-timestamp, path
//   key = base64-decode(secret)
//   Check order, structural before semantic, MACs last:
//     1. Authorization and x-timestamp once, non-empty;   kMissingHeader /
//        Content-Type and Content-MD5 at most once         kDuplicateHeader
//     2. "<scheme> <key>:<sig>": scheme "Application" in   kBadEncoding
//        any case (so "Basic key:secret" is refused), one
//        space, one ':', a key, sig = 32 bytes of base64
//     3. key == application_key (constant time)            kKeyMismatch
//     4. x-timestamp is YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z       kBadTimestamp
//     5. now - tolerance <= x-timestamp <= now + tolerance kStale / kFuture
//     6. a Content-MD5 header, if sent, is                 kPayloadHashMismatch
//        base64(MD5(body))
//     7. some secret's HMAC equals the signature           kMismatch
//
// nonce (docs/signatures.md §7.2, Conversation API and SMS "Sinch events")
//   x-sinch-webhook-signature{,-algorithm,-nonce,-timestamp}
//   HMAC-SHA256(secret as raw bytes, body + "." + nonce + "." + timestamp)
//     1. all four headers once, non-empty    kMissingHeader / kDuplicateHeader
//     2. algorithm is exactly "HmacSHA256";  kBadEncoding
//        nonce has no '.'; sig = 32 bytes of base64
//     3. timestamp is 1..18 ASCII digits     kBadTimestamp
//     4. within +-tolerance of now           kStale / kFuture
//     5. some secret's HMAC matches          kMismatch
//   event_id = the nonce (the replay key), also on rejections once read.
//
// numbers (docs/signatures.md §7.3, Numbers API callbacks)
//   X-Sinch-Signature = hex HMAC-SHA1(secret as raw bytes, body), any case.
//     1. one non-empty header                kMissingHeader / kDuplicateHeader
//     2. 40 hex digits                       kBadEncoding
//     3. some secret's HMAC matches          kMismatch
//
// Decisions beyond the SDKs (which check no time and compare with ===):
// - The signed Content-MD5 line is always derived from the body, as both
//   SDKs do: base64(MD5(body)), or "" when the body is empty. A Content-MD5
//   header is optional; when sent it must be the true base64(MD5(body)),
//   otherwise the body was altered after hashing (kPayloadHashMismatch).
// - An absent Content-Type signs as "" (the Java SDK's rule).
// - The method and the path (request-target up to '?', undecoded) are
//   signed as received; the x-timestamp value is signed verbatim, so
//   fractional digits are never re-printed.
// - x-timestamp must be UTC with an uppercase 'T' and 'Z'; offsets,
//   lowercase, more than 7 fractional digits and second 60 are refused.
//   Fractions are truncated: freshness is compared in whole seconds.
// - Freshness is checked before any MAC, as in the other schemes, so
//   stale/future counts include unauthenticated requests.
// - Application secrets decode as base64 with or without '=' padding,
//   accepting the URL-safe '-' and '_' too (Node's Buffer does; the SDK's
//   own test secret "app-secret" needs it). Anything else fails, and so
//   does an empty key: nothing is skipped, so no secret decodes to a weak
//   key.
// - A nonce containing '.' is refused: body, nonce and timestamp are joined
//   with '.', so such a nonce would let a body suffix move into the nonce
//   under the same MAC (and dodge nonce dedupe).
// - The algorithm header is matched exactly; only HMAC-SHA256 is computed
//   whatever it says, so it cannot select a weaker MAC.
#include "core/providers/sinch/sinch_verifier.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/util/form.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/util/strings.h"
#include "dlrd/core/util/time.h"

namespace dlrd {
namespace {

using VerifierResult = Result<std::unique_ptr<SignatureVerifier>>;

constexpr size_t kSha256Size = 32;
constexpr size_t kSha1Size = 20;
constexpr size_t kMaxFractionDigits = 7;
constexpr size_t kMaxUnixDigits = 18;  // fits int64 without overflow

constexpr std::string_view kAuthorization = "Authorization";
constexpr std::string_view kXTimestamp = "x-timestamp";
constexpr std::string_view kContentType = "Content-Type";
constexpr std::string_view kContentMd5 = "Content-MD5";
constexpr std::string_view kNonceSignature = "x-sinch-webhook-signature";
constexpr std::string_view kNonceAlgorithm =
    "x-sinch-webhook-signature-algorithm";
constexpr std::string_view kNonceNonce = "x-sinch-webhook-signature-nonce";
constexpr std::string_view kNonceTimestamp =
    "x-sinch-webhook-signature-timestamp";
constexpr std::string_view kNumbersSignature = "X-Sinch-Signature";

// A header that must appear exactly once with a non-empty value.
RejectReason RequiredHeader(const InboundWebhook& hook, std::string_view name,
                            std::string_view* value) {
  int count = hook.HeaderCount(name);
  if (count == 0) return RejectReason::kMissingHeader;
  if (count > 1) return RejectReason::kDuplicateHeader;
  *value = *hook.Header(name);
  return value->empty() ? RejectReason::kMissingHeader : RejectReason::kNone;
}

// A header that may be absent but not repeated. `*value` stays nullopt
// when it is absent.
RejectReason OptionalHeader(const InboundWebhook& hook, std::string_view name,
                            std::optional<std::string_view>* value) {
  int count = hook.HeaderCount(name);
  if (count > 1) return RejectReason::kDuplicateHeader;
  *value = hook.Header(name);
  return RejectReason::kNone;
}

// kNone when `ts` is within `tolerance` of `now`, else kStale or kFuture.
// The distance is computed in uint64 so no pair of int64s overflows it.
RejectReason Freshness(int64_t ts, int64_t now, int64_t tolerance) {
  if (now >= ts) {
    uint64_t age = static_cast<uint64_t>(now) - static_cast<uint64_t>(ts);
    return age <= static_cast<uint64_t>(tolerance) ? RejectReason::kNone
                                                   : RejectReason::kStale;
  }
  uint64_t ahead = static_cast<uint64_t>(ts) - static_cast<uint64_t>(now);
  return ahead <= static_cast<uint64_t>(tolerance) ? RejectReason::kNone
                                                   : RejectReason::kFuture;
}

// Reads exactly `n` ASCII digits at `*pos`, advancing it.
std::optional<int> Digits(std::string_view s, size_t* pos, size_t n) {
  if (s.size() - *pos < n) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  return v;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

// "YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z" -> Unix seconds, fraction truncated.
std::optional<int64_t> ParseIsoUtc(std::string_view s) {
  size_t pos = 0;
  std::optional<int> year = Digits(s, &pos, 4);
  if (!year || !Expect(s, &pos, '-')) return std::nullopt;
  std::optional<int> month = Digits(s, &pos, 2);
  if (!month || !Expect(s, &pos, '-')) return std::nullopt;
  std::optional<int> day = Digits(s, &pos, 2);
  if (!day || !Expect(s, &pos, 'T')) return std::nullopt;
  std::optional<int> hour = Digits(s, &pos, 2);
  if (!hour || !Expect(s, &pos, ':')) return std::nullopt;
  std::optional<int> minute = Digits(s, &pos, 2);
  if (!minute || !Expect(s, &pos, ':')) return std::nullopt;
  std::optional<int> second = Digits(s, &pos, 2);
  if (!second) return std::nullopt;
  if (Expect(s, &pos, '.')) {
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ++pos;
      ++digits;
    }
    if (digits == 0 || digits > kMaxFractionDigits) return std::nullopt;
  }
  if (!Expect(s, &pos, 'Z') || pos != s.size()) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 ||
      *day > DaysInMonth(*year, *month) || *hour > 23 || *minute > 59 ||
      *second > 59) {
    return std::nullopt;
  }
  return DaysFromCivil(*year, *month, *day) * 86400 + *hour * 3600 +
         *minute * 60 + *second;
}

// Base64 with or without padding, standard or URL-safe alphabet.
std::optional<std::string> DecodeApplicationSecret(std::string_view secret) {
  std::string text(secret);
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  std::optional<std::string> key = Base64Decode(text);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

// ---------------------------------------------------------------------------

class ApplicationVerifier : public SignatureVerifier {
 public:
  ApplicationVerifier(std::string application_key,
                      std::vector<std::string> keys, int64_t tolerance_s)
      : application_key_(std::move(application_key)),
        keys_(std::move(keys)),
        tolerance_s_(tolerance_s) {}

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override {
    std::string_view authorization, timestamp;
    std::optional<std::string_view> content_type, content_md5;
    RejectReason r = RequiredHeader(hook, kAuthorization, &authorization);
    if (r == RejectReason::kNone) {
      r = RequiredHeader(hook, kXTimestamp, &timestamp);
    }
    if (r == RejectReason::kNone) {
      r = OptionalHeader(hook, kContentType, &content_type);
    }
    if (r == RejectReason::kNone) {
      r = OptionalHeader(hook, kContentMd5, &content_md5);
    }
    if (r != RejectReason::kNone) return Rejected(r);

    std::string_view key;
    std::string signature;
    if (!ParseAuthorization(authorization, &key, &signature)) {
      return Rejected(RejectReason::kBadEncoding);
    }
    if (!ConstantTimeEquals(key, application_key_)) {
      return Rejected(RejectReason::kKeyMismatch);
    }
    std::optional<int64_t> ts = ParseIsoUtc(timestamp);
    if (!ts) return Rejected(RejectReason::kBadTimestamp);
    r = Freshness(*ts, now_unix, tolerance_s_);
    if (r != RejectReason::kNone) return Rejected(r);

    std::optional<std::string> md5 = Digest(HashAlgorithm::kMd5, hook.body);
    if (!md5) return Rejected(RejectReason::kMismatch);
    const std::string body_md5 = Base64Encode(*md5);
    if (content_md5 && !ConstantTimeEquals(*content_md5, body_md5)) {
      return Rejected(RejectReason::kPayloadHashMismatch);
    }

    std::string to_sign;
    to_sign.append(hook.method).append("\n");
    if (!hook.body.empty()) to_sign.append(body_md5);
    to_sign.append("\n");
    to_sign.append(content_type.value_or("")).append("\n");
    to_sign.append(kXTimestamp).append(":").append(timestamp).append("\n");
    to_sign.append(PathOf(hook.target));
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (MacEquals(Hmac(HashAlgorithm::kSha256, keys_[i], to_sign),
                    signature)) {
        return Accepted(i);
      }
    }
    return Rejected(RejectReason::kMismatch);
  }

  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
            RejectReason::kBadEncoding,   RejectReason::kKeyMismatch,
            RejectReason::kBadTimestamp,  RejectReason::kStale,
            RejectReason::kFuture,        RejectReason::kPayloadHashMismatch,
            RejectReason::kMismatch};
  }

  size_t secret_count() const override { return keys_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {std::string(kAuthorization), std::string(kXTimestamp),
            std::string(kContentType), std::string(kContentMd5)};
  }

 private:
  // "Application <key>:<base64 signature>", as the Node SDK splits it: one
  // space between scheme and credentials, one ':' between key and MAC.
  static bool ParseAuthorization(std::string_view value, std::string_view* key,
                                 std::string* signature) {
    size_t space = value.find(' ');
    if (space == std::string_view::npos) return false;
    std::string_view scheme = value.substr(0, space);
    std::string_view credentials = value.substr(space + 1);
    if (!EqualsIgnoreCase(scheme, "Application") ||
        credentials.find(' ') != std::string_view::npos) {
      return false;
    }
    size_t colon = credentials.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        credentials.find(':', colon + 1) != std::string_view::npos) {
      return false;
    }
    std::optional<std::string> mac =
        Base64Decode(credentials.substr(colon + 1));
    if (!mac || mac->size() != kSha256Size) return false;
    *key = credentials.substr(0, colon);
    *signature = std::move(*mac);
    return true;
  }

  const std::string application_key_;
  const std::vector<std::string> keys_;  // base64-decoded secrets
  const int64_t tolerance_s_;
};

// ---------------------------------------------------------------------------

class NonceVerifier : public SignatureVerifier {
 public:
  NonceVerifier(std::vector<std::string> secrets, int64_t tolerance_s)
      : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override {
    std::string_view signature_b64, algorithm, nonce, timestamp;
    RejectReason r = RequiredHeader(hook, kNonceNonce, &nonce);
    const std::string event_id(nonce);  // empty until the nonce is read
    if (r == RejectReason::kNone) {
      r = RequiredHeader(hook, kNonceSignature, &signature_b64);
    }
    if (r == RejectReason::kNone) {
      r = RequiredHeader(hook, kNonceAlgorithm, &algorithm);
    }
    if (r == RejectReason::kNone) {
      r = RequiredHeader(hook, kNonceTimestamp, &timestamp);
    }
    if (r != RejectReason::kNone) return Rejected(r, event_id);

    if (algorithm != "HmacSHA256" ||
        nonce.find('.') != std::string_view::npos) {
      return Rejected(RejectReason::kBadEncoding, event_id);
    }
    std::optional<std::string> signature = Base64Decode(signature_b64);
    if (!signature || signature->size() != kSha256Size) {
      return Rejected(RejectReason::kBadEncoding, event_id);
    }
    std::optional<int64_t> ts = ParseUnix(timestamp);
    if (!ts) return Rejected(RejectReason::kBadTimestamp, event_id);
    r = Freshness(*ts, now_unix, tolerance_s_);
    if (r != RejectReason::kNone) return Rejected(r, event_id);

    std::string to_sign;
    to_sign.reserve(hook.body.size() + nonce.size() + timestamp.size() + 2);
    to_sign.append(hook.body).append(".").append(nonce).append(".").append(
        timestamp);
    for (size_t i = 0; i < secrets_.size(); ++i) {
      if (MacEquals(Hmac(HashAlgorithm::kSha256, secrets_[i], to_sign),
                    *signature)) {
        return Accepted(i, event_id);
      }
    }
    return Rejected(RejectReason::kMismatch, event_id);
  }

  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
            RejectReason::kBadEncoding,   RejectReason::kBadTimestamp,
            RejectReason::kStale,         RejectReason::kFuture,
            RejectReason::kMismatch};
  }

  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {std::string(kNonceSignature), std::string(kNonceAlgorithm),
            std::string(kNonceNonce), std::string(kNonceTimestamp)};
  }

 private:
  static std::optional<int64_t> ParseUnix(std::string_view ts) {
    if (ts.empty() || ts.size() > kMaxUnixDigits) return std::nullopt;
    int64_t v = 0;
    for (char c : ts) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  }

  const std::vector<std::string> secrets_;  // raw bytes, as configured
  const int64_t tolerance_s_;
};

// ---------------------------------------------------------------------------

class NumbersVerifier : public SignatureVerifier {
 public:
  explicit NumbersVerifier(std::vector<std::string> secrets)
      : secrets_(std::move(secrets)) {}

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t /*now_unix*/) const override {
    std::string_view value;
    RejectReason r = RequiredHeader(hook, kNumbersSignature, &value);
    if (r != RejectReason::kNone) return Rejected(r);
    std::optional<std::string> signature = HexDecode(value);
    if (!signature || signature->size() != kSha1Size) {
      return Rejected(RejectReason::kBadEncoding);
    }
    for (size_t i = 0; i < secrets_.size(); ++i) {
      if (MacEquals(Hmac(HashAlgorithm::kSha1, secrets_[i], hook.body),
                    *signature)) {
        return Accepted(i);
      }
    }
    return Rejected(RejectReason::kMismatch);
  }

  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
            RejectReason::kBadEncoding, RejectReason::kMismatch};
  }

  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {std::string(kNumbersSignature)};
  }

 private:
  const std::vector<std::string> secrets_;  // raw bytes, as configured
};

std::string SecretKey(size_t i) { return "secrets[" + std::to_string(i) + "]"; }

}  // namespace

Result<std::unique_ptr<SignatureVerifier>> MakeSinchVerifier(
    const SignatureConfig& config) {
  const std::string& variant = config.variant;
  if (variant != "application" && variant != "nonce" && variant != "numbers") {
    return VerifierResult::Error(
        "variant: \"" + variant +
        "\" is not one of application, nonce, numbers");
  }
  if (Status s = ValidateSecrets(config); !s.ok()) return s;
  if (variant == "numbers") {
    return std::unique_ptr<SignatureVerifier>(
        std::make_unique<NumbersVerifier>(config.secrets));
  }
  if (config.tolerance_s < 0) {
    return VerifierResult::Error("tolerance_s: must be >= 0");
  }
  if (variant == "nonce") {
    return std::unique_ptr<SignatureVerifier>(
        std::make_unique<NonceVerifier>(config.secrets, config.tolerance_s));
  }

  if (config.application_key.empty()) {
    return VerifierResult::Error("application_key: required");
  }
  if (config.application_key.find_first_of(": \t") != std::string::npos) {
    return VerifierResult::Error(
        "application_key: must not contain ':' or whitespace");
  }
  std::vector<std::string> keys;
  keys.reserve(config.secrets.size());
  for (size_t i = 0; i < config.secrets.size(); ++i) {
    std::optional<std::string> key = DecodeApplicationSecret(config.secrets[i]);
    if (!key) {
      return VerifierResult::Error(SecretKey(i) + ": not valid base64");
    }
    keys.push_back(std::move(*key));
  }
  return std::unique_ptr<SignatureVerifier>(
      std::make_unique<ApplicationVerifier>(
          config.application_key, std::move(keys), config.tolerance_s));
}

}  // namespace dlrd
