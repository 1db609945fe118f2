// vonage-jwt check order (docs/signatures.md §6.1): Authorization present and
// single, a Bearer token of three base64url parts, header alg == HS256
// (before any MAC), the MAC under some secret, and only then the claims:
// iss, payload_hash against the raw body, iat/exp/nbf against `now`. Claims
// are parsed only once the MAC has authenticated them.
//
// vonage-sig check order (docs/signatures.md §6.2): parameters readable, one non-empty `sig`,
// `sig` is hex of the method's digest length, the digest under some secret,
// then the signed `timestamp`. Timestamps are checked after the MAC, as for
// the JWT, so a well-formed but forged request is always a mismatch, never
// stale.
#include "core/providers/vonage/vonage_verifier.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/util/form.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;
using VerifierResult = Result<std::unique_ptr<SignatureVerifier>>;

constexpr size_t kJwtMacSize = 32;  // HMAC-SHA256

// kStale if `ts` is more than `tolerance` seconds before `now`, kFuture if
// more than `tolerance` after it, else kNone. Exactly `tolerance` either way
// is accepted. The distance is computed in uint64 so no pair overflows.
RejectReason CheckWindow(int64_t ts, int64_t now, int64_t tolerance) {
  const uint64_t tol = static_cast<uint64_t>(tolerance);
  if (now >= ts) {
    return static_cast<uint64_t>(now) - static_cast<uint64_t>(ts) > tol
               ? RejectReason::kStale
               : RejectReason::kNone;
  }
  return static_cast<uint64_t>(ts) - static_cast<uint64_t>(now) > tol
             ? RejectReason::kFuture
             : RejectReason::kNone;
}

Status CheckSecrets(const SignatureConfig& config) {
  if (Status s = ValidateSecrets(config); !s.ok()) return s;
  if (config.tolerance_s < 0) {
    return Status::Error("tolerance_s: must be >= 0");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- vonage-jwt

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Unpadded base64url (RFC 7515 §2). Padding, other characters, a dangling
// 6-bit group and non-zero trailing bits are all refused, so every byte
// string has exactly one accepted encoding.
// TODO(core): belongs in core/encoding.h next to Base64Decode.
std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = ((acc << 6) | static_cast<unsigned>(v)) & 0xFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// A JSON object, or nullopt (never throws).
std::optional<json> ParseObject(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// An integral NumericDate claim. Values above INT64_MAX clamp to it (far
// future); fractional or non-numeric values are refused.
std::optional<int64_t> IntegerClaim(const json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(std::min(u, kMax));
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

const json* FindMember(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

class VonageJwtVerifier final : public SignatureVerifier {
 public:
  VonageJwtVerifier(std::vector<std::string> secrets, int64_t tolerance_s)
      : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

  bool unsigned_is_retryable() const override { return true; }

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override;
  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader,
            RejectReason::kDuplicateHeader,
            RejectReason::kBadEncoding,
            RejectReason::kBadToken,
            RejectReason::kAlgNotAllowed,
            RejectReason::kMismatch,
            RejectReason::kPayloadHashMismatch,
            RejectReason::kStale,
            RejectReason::kFuture};
  }
  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {"Authorization"};
  }

 private:
  // Checks of the authenticated claims, in order.
  RejectReason CheckClaims(const json& claims, const InboundWebhook& hook,
                           int64_t now_unix) const;

  std::vector<std::string> secrets_;  // raw signature secrets
  int64_t tolerance_s_;
};

SignatureCheck VonageJwtVerifier::Verify(const InboundWebhook& hook,
                                         int64_t now_unix) const {
  constexpr std::string_view kAuthorization = "Authorization";
  int count = hook.HeaderCount(kAuthorization);
  if (count == 0) return Rejected(RejectReason::kMissingHeader);
  if (count > 1) return Rejected(RejectReason::kDuplicateHeader);
  std::string_view value = TrimOws(*hook.Header(kAuthorization));
  if (value.empty()) return Rejected(RejectReason::kMissingHeader);

  // "Bearer" (any case), whitespace, the token.
  constexpr std::string_view kBearer = "Bearer";
  if (value.size() <= kBearer.size() ||
      !EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer) ||
      (value[kBearer.size()] != ' ' && value[kBearer.size()] != '\t')) {
    return Rejected(RejectReason::kBadEncoding);
  }
  const std::string_view token = TrimOws(value.substr(kBearer.size()));

  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos
                          ? std::string_view::npos
                          : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return Rejected(RejectReason::kBadToken);
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view claims_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signed_part = token.substr(0, dot2);

  std::optional<std::string> header_text = Base64UrlDecode(header_b64);
  if (!header_text) return Rejected(RejectReason::kBadToken);
  std::optional<json> header = ParseObject(*header_text);
  if (!header) return Rejected(RejectReason::kBadToken);
  // Only HS256, decided from the header alone and before any MAC: "none",
  // other HMAC sizes and public-key algorithms are never tried.
  const json* alg = FindMember(*header, "alg");
  if (alg == nullptr || !alg->is_string() ||
      alg->get_ref<const std::string&>() != "HS256") {
    return Rejected(RejectReason::kAlgNotAllowed);
  }
  // No critical extension is understood (RFC 7515 §4.1.11).
  if (FindMember(*header, "crit") != nullptr) {
    return Rejected(RejectReason::kBadToken);
  }

  std::optional<std::string> claims_text = Base64UrlDecode(claims_b64);
  std::optional<std::string> mac = Base64UrlDecode(token.substr(dot2 + 1));
  if (!claims_text || !mac || mac->size() != kJwtMacSize) {
    return Rejected(RejectReason::kBadToken);
  }
  size_t matched = secrets_.size();
  for (size_t i = 0; i < secrets_.size(); ++i) {
    if (MacEquals(Hmac(HashAlgorithm::kSha256, secrets_[i], signed_part),
                  *mac)) {
      matched = i;
      break;
    }
  }
  if (matched == secrets_.size()) return Rejected(RejectReason::kMismatch);

  std::optional<json> claims = ParseObject(*claims_text);
  if (!claims) return Rejected(RejectReason::kBadToken);
  std::string event_id;
  if (const json* jti = FindMember(*claims, "jti");
      jti != nullptr && jti->is_string()) {
    event_id = jti->get<std::string>();
  }
  RejectReason r = CheckClaims(*claims, hook, now_unix);
  if (r != RejectReason::kNone) return Rejected(r, std::move(event_id));
  return Accepted(matched, std::move(event_id));
}

RejectReason VonageJwtVerifier::CheckClaims(const json& claims,
                                            const InboundWebhook& hook,
                                            int64_t now_unix) const {
  const json* iss = FindMember(claims, "iss");
  if (iss == nullptr || !iss->is_string() ||
      iss->get_ref<const std::string&>() != "Vonage") {
    return RejectReason::kBadToken;
  }

  // payload_hash is required: without it the token would vouch for any
  // body sent within the iat window (symfony/symfony#65776). Hex is
  // compared as bytes, so case does not matter.
  const json* hash = FindMember(claims, "payload_hash");
  if (hash == nullptr || !hash->is_string()) {
    return RejectReason::kPayloadHashMismatch;
  }
  std::optional<std::string> claimed =
      HexDecode(hash->get_ref<const std::string&>());
  if (!claimed ||
      !MacEquals(Digest(HashAlgorithm::kSha256, hook.body), *claimed)) {
    return RejectReason::kPayloadHashMismatch;
  }

  const json* iat_claim = FindMember(claims, "iat");
  std::optional<int64_t> iat =
      iat_claim ? IntegerClaim(*iat_claim) : std::nullopt;
  if (!iat) return RejectReason::kBadToken;
  RejectReason r = CheckWindow(*iat, now_unix, tolerance_s_);
  if (r != RejectReason::kNone) return r;

  // Vonage sends neither exp nor nbf; honour them if a token carries them.
  if (const json* exp_claim = FindMember(claims, "exp")) {
    std::optional<int64_t> exp = IntegerClaim(*exp_claim);
    if (!exp) return RejectReason::kBadToken;
    if (now_unix > *exp) return RejectReason::kStale;
  }
  if (const json* nbf_claim = FindMember(claims, "nbf")) {
    std::optional<int64_t> nbf = IntegerClaim(*nbf_claim);
    if (!nbf) return RejectReason::kBadToken;
    if (CheckWindow(*nbf, now_unix, tolerance_s_) == RejectReason::kFuture) {
      return RejectReason::kFuture;
    }
  }
  return RejectReason::kNone;
}

// ---------------------------------------------------------------- vonage-sig

// Collects the top-level members of a flat JSON object as (key, text)
// pairs: strings decoded, numbers as their JSON text exactly as received,
// true/false/null as written. A nested object or array, or a top level
// other than an object, stops the parse.
class FlatObjectSax final : public nlohmann::json_sax<json> {
 public:
  explicit FlatObjectSax(FormParams* out) : out_(out) {}

  bool null() override { return Scalar("null"); }
  bool boolean(bool v) override { return Scalar(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override {
    return Scalar(std::to_string(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    return Scalar(std::to_string(v));
  }
  bool number_float(number_float_t, const string_t& text) override {
    return Scalar(text);
  }
  bool string(string_t& v) override { return Scalar(std::move(v)); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    if (depth_ != 0 || seen_object_) return false;
    depth_ = 1;
    seen_object_ = true;
    return true;
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    depth_ = 0;
    return true;
  }
  bool start_array(std::size_t) override { return false; }
  bool end_array() override { return false; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Scalar(std::string text) {
    if (depth_ != 1) return false;
    out_->emplace_back(std::move(key_), std::move(text));
    key_.clear();
    return true;
  }

  FormParams* out_;
  std::string key_;
  int depth_ = 0;
  bool seen_object_ = false;
};

bool AppendJsonParams(std::string_view body, FormParams* out) {
  FlatObjectSax sax(out);
  return json::sax_parse(body, &sax, json::input_format_t::json,
                         /*strict=*/true);
}

std::string_view MediaType(std::string_view content_type) {
  return TrimOws(content_type.substr(0, content_type.find(';')));
}

// Query parameters of the target plus the body's parameters (form or flat
// JSON object). A non-empty body of any other type cannot be signed-checked
// and is refused rather than ignored.
RejectReason CollectParams(const InboundWebhook& hook, FormParams* params) {
  std::optional<FormParams> query = ParseForm(QueryOf(hook.target));
  if (!query) return RejectReason::kBadEncoding;
  *params = std::move(*query);
  if (hook.body.empty()) return RejectReason::kNone;

  if (hook.HeaderCount("Content-Type") != 1) return RejectReason::kBadEncoding;
  const std::string_view type = MediaType(*hook.Header("Content-Type"));
  if (EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
    std::optional<FormParams> form = ParseForm(hook.body);
    if (!form) return RejectReason::kBadEncoding;
    params->insert(params->end(), std::make_move_iterator(form->begin()),
                   std::make_move_iterator(form->end()));
    return RejectReason::kNone;
  }
  if (EqualsIgnoreCase(type, "application/json")) {
    return AppendJsonParams(hook.body, params) ? RejectReason::kNone
                                               : RejectReason::kBadEncoding;
  }
  return RejectReason::kBadEncoding;
}

class VonageSigVerifier final : public SignatureVerifier {
 public:
  bool unsigned_is_retryable() const override { return true; }

  // md5hash: MD5(string + secret); otherwise HMAC-alg(secret, string).
  VonageSigVerifier(bool md5hash, HashAlgorithm alg,
                    std::vector<std::string> secrets, int64_t tolerance_s)
      : md5hash_(md5hash),
        alg_(alg),
        secrets_(std::move(secrets)),
        tolerance_s_(tolerance_s) {}

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t now_unix) const override;
  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
            RejectReason::kBadEncoding,   RejectReason::kMismatch,
            RejectReason::kBadTimestamp,  RejectReason::kStale,
            RejectReason::kFuture};
  }
  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {"Content-Type"};
  }

 private:
  std::optional<std::string> Sign(std::string_view secret,
                                  std::string_view text) const {
    if (!md5hash_) return Hmac(alg_, secret, text);
    std::string input(text);
    input.append(secret);
    return Digest(HashAlgorithm::kMd5, input);
  }

  bool md5hash_;
  HashAlgorithm alg_;
  std::vector<std::string> secrets_;
  int64_t tolerance_s_;
};

SignatureCheck VonageSigVerifier::Verify(const InboundWebhook& hook,
                                         int64_t now_unix) const {
  FormParams params;
  RejectReason r = CollectParams(hook, &params);
  if (r != RejectReason::kNone) return Rejected(r);

  auto is_sig = [](const auto& p) { return p.first == "sig"; };
  const auto sig_count = std::count_if(params.begin(), params.end(), is_sig);
  if (sig_count == 0) return Rejected(RejectReason::kMissingHeader);
  if (sig_count > 1) return Rejected(RejectReason::kDuplicateHeader);
  auto sig_it = std::find_if(params.begin(), params.end(), is_sig);
  const std::string sig_hex = std::move(sig_it->second);
  params.erase(sig_it);
  if (sig_hex.empty()) return Rejected(RejectReason::kMissingHeader);
  // Hex is compared as bytes: the Ruby SDK emits upper case, Python lower.
  std::optional<std::string> sig = HexDecode(sig_hex);
  if (!sig || sig->size() != DigestSize(alg_)) {
    return Rejected(RejectReason::kBadEncoding);
  }

  // Byte order of keys; a repeated key has no single value to sign.
  std::sort(params.begin(), params.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < params.size(); ++i) {
    if (params[i].first == params[i - 1].first) {
      return Rejected(RejectReason::kBadEncoding);
    }
  }
  std::string text;
  for (const auto& [key, value] : params) {
    text.append("&").append(key).append("=");
    for (char c : value) text.push_back(c == '&' || c == '=' ? '_' : c);
  }

  size_t matched = secrets_.size();
  for (size_t i = 0; i < secrets_.size(); ++i) {
    if (MacEquals(Sign(secrets_[i], text), *sig)) {
      matched = i;
      break;
    }
  }
  if (matched == secrets_.size()) return Rejected(RejectReason::kMismatch);

  auto ts_it = std::lower_bound(
      params.begin(), params.end(), std::string_view("timestamp"),
      [](const auto& p, std::string_view k) { return p.first < k; });
  if (ts_it == params.end() || ts_it->first != "timestamp") {
    return Rejected(RejectReason::kBadTimestamp);
  }
  std::optional<int64_t> ts = ParseUnixSeconds(ts_it->second);
  if (!ts) return Rejected(RejectReason::kBadTimestamp);
  r = CheckWindow(*ts, now_unix, tolerance_s_);
  if (r != RejectReason::kNone) return Rejected(r);
  return Accepted(matched);
}

}  // namespace

Result<std::unique_ptr<SignatureVerifier>> MakeVonageJwtVerifier(
    const SignatureConfig& config) {
  // The JWT is always HS256; any other configured algorithm is a mistake
  // that would otherwise be silently ignored.
  if (config.algorithm != "sha256") {
    return VerifierResult::Error("algorithm: \"" + config.algorithm +
                                 "\" is not one of sha256");
  }
  if (Status s = CheckSecrets(config); !s.ok()) {
    return VerifierResult(std::move(s));
  }
  return std::unique_ptr<SignatureVerifier>(
      std::make_unique<VonageJwtVerifier>(config.secrets, config.tolerance_s));
}

Result<std::unique_ptr<SignatureVerifier>> MakeVonageSigVerifier(
    const SignatureConfig& config) {
  const bool md5hash = config.algorithm == "md5hash";
  std::optional<HashAlgorithm> alg =
      md5hash ? HashAlgorithm::kMd5 : ParseHashAlgorithm(config.algorithm);
  if (!alg) {
    return VerifierResult::Error(
        "algorithm: \"" + config.algorithm +
        "\" is not one of md5hash, md5, sha1, sha256, sha512");
  }
  if (Status s = CheckSecrets(config); !s.ok()) {
    return VerifierResult(std::move(s));
  }
  return std::unique_ptr<SignatureVerifier>(std::make_unique<VonageSigVerifier>(
      md5hash, *alg, config.secrets, config.tolerance_s));
}

}  // namespace dlrd
