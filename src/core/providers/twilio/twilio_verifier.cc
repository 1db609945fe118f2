// Twilio X-Twilio-Signature (docs/signatures.md §3).
//
// Signature: base64 (standard alphabet) of HMAC-SHA1 keyed with the account
// Auth Token as raw bytes. Several tokens may be configured (rotation); they
// are tried in order and the matching one is reported in secret_index.
//
// Signed URL: `public_url` (from config, exactly as configured at Twilio,
// path included) + "?" + the query of the received request-target when that
// query is non-empty. Host, X-Forwarded-* and the received path are never
// used: the daemon cannot know what its public URL looks like from outside.
//
// Signed string:
// - Form POST (Content-Type application/x-www-form-urlencoded, parameters
//   such as charset allowed): URL + name + value for every decoded body
//   parameter, sorted by name then value in byte order, with identical
//   (name, value) pairs counted once. That is "names sorted; the values of
//   a repeated name sorted and de-duplicated", as both SDKs do.
// - Any other request: the URL alone. A non-empty body must then be bound
//   by a `bodySHA256` query parameter (Twilio's JSON requests): once the URL
//   signature verifies, that value must equal the hex SHA-256 of the raw
//   body (case-insensitively). An empty non-form body is Twilio's GET
//   callback; a bodySHA256, if present, is checked there too.
//
// URL variants, each tried with every secret, in this order:
//   1. the URL exactly as above;
//   2. the URL with its port toggled: an explicit port is removed (any
//      port, as both SDKs do: vector `https://...:1234/...` signed over the
//      port-less URL), otherwise the scheme's default port is added (:443
//      for https, :80 for http; vectors `:443`, `http ... :80`, userinfo +
//      `:443`, and the `{}` JSON body of twilio-node, which Twilio signed
//      over the `:443` form);
//   3. and 4. variants 1 and 2 with the query re-encoded as the WHATWG URL
//      serialiser does (twilio-node's `new URL(url).toString()`): bytes of
//      the special-query percent-encode set (C0 controls, space, `"`, `#`,
//      `'`, `<`, `>`, and bytes >= 0x7F) become %XX. Needed by the older
//      twilio-node vector `&Body=It's+amazing`, signed over `It%27s`. Only
//      tried when the re-encoded query differs from the received one.
// Not implemented: twilio-node's legacy `querystring` round trip (it
// re-orders repeated names and turns `+` into `%20`); no official vector
// needs it.
//
// Reasons:
// - kMissingHeader / kDuplicateHeader: header absent or empty / repeated.
// - kBadEncoding: the header is not base64 of 20 bytes, the form body or
//   (for a non-form request) the query is malformed, or bodySHA256 repeats.
// - kMismatch: a non-form, non-empty body without bodySHA256: nothing ties
//   the body to the signature.
// - kUrlMismatch: no URL variant verifies under any secret. An HMAC cannot
//   tell a wrong public_url from a wrong token or a tampered parameter, so
//   every well-formed signature that does not verify gets this reason; the
//   most frequent operator mistake it points at is a public_url that does
//   not match the URL configured at Twilio.
// - kPayloadHashMismatch: the URL verifies but bodySHA256 != SHA-256(body).
#include "core/providers/twilio/twilio_verifier.h"

#include <algorithm>
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

namespace dlrd {
namespace {

using VerifierResult = Result<std::unique_ptr<SignatureVerifier>>;

constexpr std::string_view kHeader = "X-Twilio-Signature";
constexpr std::string_view kBodyHashParam = "bodySHA256";
constexpr std::string_view kFormType = "application/x-www-form-urlencoded";
constexpr size_t kMacSize = 20;  // HMAC-SHA1

// Where the port goes in an absolute http(s) URL without query.
struct UrlLayout {
  bool https = false;
  size_t host_end = 0;       // just past the host: where ":port" starts
  size_t authority_end = 0;  // start of the path (or the URL's size)
  bool has_port = false;
};

// nullopt unless `url` is "http(s)://[userinfo@]host[:digits][/path]" with
// a non-empty host and no query, fragment, whitespace or control byte.
std::optional<UrlLayout> ParsePublicUrl(std::string_view url) {
  UrlLayout layout;
  size_t start;
  if (StartsWithIgnoreCase(url, "https://")) {
    layout.https = true;
    start = 8;
  } else if (StartsWithIgnoreCase(url, "http://")) {
    start = 7;
  } else {
    return std::nullopt;
  }
  for (char c : url) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F || c == '?' || c == '#') return std::nullopt;
  }
  layout.authority_end = std::min(url.find('/', start), url.size());
  std::string_view authority = url.substr(start, layout.authority_end - start);
  size_t at = authority.rfind('@');
  size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  std::string_view host_port = authority.substr(host_begin);
  size_t host_len;
  if (!host_port.empty() && host_port.front() == '[') {  // IPv6 literal
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host_len = close + 1;
  } else {
    host_len = std::min(host_port.find(':'), host_port.size());
  }
  if (host_len == 0) return std::nullopt;
  std::string_view port = host_port.substr(host_len);
  if (!port.empty()) {
    if (port.front() != ':' || port.size() == 1) return std::nullopt;
    for (char c : port.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    layout.has_port = true;
  }
  layout.host_end = start + host_begin + host_len;
  return layout;
}

// Variant 2: an explicit port removed, or the default port added.
std::string PortToggled(std::string_view url, const UrlLayout& layout) {
  std::string out(url.substr(0, layout.host_end));
  if (!layout.has_port) out += layout.https ? ":443" : ":80";
  out += url.substr(layout.authority_end);
  return out;
}

// The query as the WHATWG URL serialiser writes it for a special scheme.
std::string WhatwgQuery(std::string_view query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(query.size());
  for (char c : query) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F || c == '"' || c == '#' || c == '\'' ||
        c == '<' || c == '>') {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    } else {
      out += c;
    }
  }
  return out;
}

bool IsForm(const InboundWebhook& hook) {
  std::optional<std::string_view> type = hook.Header("Content-Type");
  if (!type) return false;
  return EqualsIgnoreCase(TrimOws(type->substr(0, type->find(';'))),
                          kFormType);
}

// name + value for each pair, sorted by name then value, duplicates once.
std::string SignedParams(FormParams params) {
  std::sort(params.begin(), params.end());
  params.erase(std::unique(params.begin(), params.end()), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    out += name;
    out += value;
  }
  return out;
}

// Reads the bodySHA256 query parameter into `*value` (nullopt if absent).
RejectReason ReadBodyHash(std::string_view query,
                          std::optional<std::string>* value) {
  std::optional<FormParams> params = ParseForm(query);
  if (!params) return RejectReason::kBadEncoding;
  for (auto& [name, v] : *params) {
    if (name != kBodyHashParam) continue;
    if (value->has_value()) return RejectReason::kBadEncoding;
    *value = std::move(v);
  }
  return RejectReason::kNone;
}

bool BodyHashMatches(std::string given, std::string_view body) {
  for (char& c : given) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::optional<std::string> digest = Digest(HashAlgorithm::kSha256, body);
  return digest && ConstantTimeEquals(HexEncode(*digest), given);
}

class TwilioVerifier final : public SignatureVerifier {
 public:
  // REQUIRES: public_url parses (ParsePublicUrl); secrets non-empty, each
  // secret non-empty.
  TwilioVerifier(const std::string& public_url, const UrlLayout& layout,
                 std::vector<std::string> secrets)
      : base_urls_{public_url, PortToggled(public_url, layout)},
        secrets_(std::move(secrets)) {}

  SignatureCheck Verify(const InboundWebhook& hook,
                        int64_t /*now_unix*/) const override;

  std::vector<RejectReason> Reasons() const override {
    return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
            RejectReason::kBadEncoding,   RejectReason::kMismatch,
            RejectReason::kUrlMismatch,   RejectReason::kPayloadHashMismatch};
  }

  size_t secret_count() const override { return secrets_.size(); }
  std::vector<std::string> HeadersRead() const override {
    return {std::string(kHeader), "Content-Type"};
  }

 private:
  // Index of the first secret whose MAC over some URL variant + `params`
  // equals `mac`, or -1.
  int MatchingSecret(std::string_view mac, std::string_view query,
                     std::string_view params) const;

  std::string base_urls_[2];  // public_url, then its port-toggled form
  std::vector<std::string> secrets_;
};

SignatureCheck TwilioVerifier::Verify(const InboundWebhook& hook,
                                      int64_t /*now_unix*/) const {
  int count = hook.HeaderCount(kHeader);
  if (count == 0) return Rejected(RejectReason::kMissingHeader);
  if (count > 1) return Rejected(RejectReason::kDuplicateHeader);
  std::string_view header = *hook.Header(kHeader);
  if (header.empty()) return Rejected(RejectReason::kMissingHeader);
  std::optional<std::string> mac = Base64Decode(header);
  if (!mac || mac->size() != kMacSize) {
    return Rejected(RejectReason::kBadEncoding);
  }

  const std::string_view query = QueryOf(hook.target);
  std::string params;
  std::optional<std::string> body_hash;
  if (IsForm(hook)) {
    std::optional<FormParams> form = ParseForm(hook.body);
    if (!form) return Rejected(RejectReason::kBadEncoding);
    params = SignedParams(std::move(*form));
  } else {
    RejectReason r = ReadBodyHash(query, &body_hash);
    if (r != RejectReason::kNone) return Rejected(r);
    if (!body_hash && !hook.body.empty()) {
      return Rejected(RejectReason::kMismatch);
    }
  }

  int index = MatchingSecret(*mac, query, params);
  if (index < 0) return Rejected(RejectReason::kUrlMismatch);
  if (body_hash && !BodyHashMatches(std::move(*body_hash), hook.body)) {
    return Rejected(RejectReason::kPayloadHashMismatch);
  }
  SignatureCheck ok;
  ok.valid = true;
  ok.secret_index = index;
  return ok;
}

int TwilioVerifier::MatchingSecret(std::string_view mac, std::string_view query,
                                   std::string_view params) const {
  std::vector<std::string> suffixes;
  if (query.empty()) {
    suffixes.emplace_back();
  } else {
    suffixes.push_back("?" + std::string(query));
    std::string whatwg = WhatwgQuery(query);
    if (whatwg != query) suffixes.push_back("?" + whatwg);
  }
  for (const std::string& suffix : suffixes) {
    for (const std::string& base : base_urls_) {
      const std::string data = base + suffix + std::string(params);
      for (size_t i = 0; i < secrets_.size(); ++i) {
        if (MacEquals(Hmac(HashAlgorithm::kSha1, secrets_[i], data), mac)) {
          return static_cast<int>(i);
        }
      }
    }
  }
  return -1;
}

}  // namespace

Result<std::unique_ptr<SignatureVerifier>> MakeTwilioVerifier(
    const SignatureConfig& config) {
  if (config.public_url.empty()) {
    return VerifierResult::Error("public_url: required");
  }
  std::optional<UrlLayout> layout = ParsePublicUrl(config.public_url);
  if (!layout) {
    return VerifierResult::Error(
        "public_url: must be an absolute http(s) URL without query");
  }
  if (Status s = ValidateSecrets(config); !s.ok()) return s;
  return std::unique_ptr<SignatureVerifier>(std::make_unique<TwilioVerifier>(
      config.public_url, *layout, config.secrets));
}

}  // namespace dlrd
