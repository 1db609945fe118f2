// Vonage `vonage-jwt` and `vonage-sig` (docs/signatures.md §6).
//
// 1. Every vonage vector of the shared vector file, copied verbatim to
//    src/core/providers/vonage/testdata/vectors/vonage.json, run through MakeSignatureVerifier.
//    - sig vectors are delivered three ways (query, form body, JSON body).
//      Vectors without a `timestamp` param cannot be accepted (the window
//      needs one); they must fail with kBadTimestamp, which is only
//      reached once the MAC matched, and with kMismatch under a wrong
//      secret.
//    - JWT vectors whose body is unpublished cannot pass the payload_hash
//      step; with the right secret they must fail with
//      kPayloadHashMismatch (alg, MAC and iss passed), with a wrong secret
//      with kMismatch.
// 2. Rules: alg allow-list before the MAC, malformed tokens, claims,
//    iat/exp windows, rotation, parameter sources, value escaping, hex case,
//    and the configurations the factory refuses.
#include "core/providers/vonage/vonage_verifier.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {
namespace {

using nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;
using R = RejectReason;

constexpr size_t kSigVectors = 11;  // 10 valid, 1 invalid
constexpr size_t kJwtVectors = 5;   // 2 valid, 3 invalid

constexpr std::string_view kJwtSecret = "jwt-signature-secret";
constexpr std::string_view kSigSecret = "my_secret_key_for_testing";
constexpr int64_t kNow = 1738584865;
constexpr std::string_view kBody =
    R"({"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab",)"
    R"("status":"delivered"})";

// ---------------------------------------------------------------------------
// Helpers

json LoadVectors() {
  std::ifstream in(std::string(DLRD_TEST_DATA_DIR) + "/vectors/vonage.json");
  EXPECT_TRUE(in.is_open());
  if (!in.is_open()) return json::array();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

bool IsSigVector(const json& v) {
  return v.at("scheme").get<std::string>().starts_with("vonage-legacy-sig");
}
bool IsJwtVector(const json& v) {
  return v.at("scheme").get<std::string>().starts_with(
      "vonage-signed-webhook-jwt");
}

std::unique_ptr<SignatureVerifier> Make(const std::string& scheme,
                                        std::vector<std::string> secrets,
                                        std::string algorithm = "sha256",
                                        int64_t tolerance_s = 300) {
  SignatureConfig c;
  c.scheme = scheme;
  c.secrets = std::move(secrets);
  c.algorithm = std::move(algorithm);
  c.tolerance_s = tolerance_s;
  auto v = MakeSignatureVerifier(c);
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? std::move(v).value() : nullptr;
}

std::string B64Url(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

std::string Sha256Hex(std::string_view body) {
  return HexEncode(*Digest(HashAlgorithm::kSha256, body));
}

// header.claims.signature with an HMAC of the given size (HS256 by default).
std::string Jwt(const json& header, const json& claims, std::string_view secret,
                HashAlgorithm alg = HashAlgorithm::kSha256) {
  std::string signed_part = B64Url(header.dump()) + "." + B64Url(claims.dump());
  return signed_part + "." + B64Url(*Hmac(alg, secret, signed_part));
}

json Hs256Header() { return {{"alg", "HS256"}, {"typ", "JWT"}}; }

json Claims(std::string_view body = kBody, int64_t iat = kNow) {
  return {{"iat", iat},
          {"jti", "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5"},
          {"iss", "Vonage"},
          {"payload_hash", Sha256Hex(body)},
          {"api_key", "a1b2c3d"},
          {"application_id", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}};
}

InboundWebhook JwtHook(std::string_view authorization,
                       std::string_view body = kBody) {
  InboundWebhook hook;
  hook.method = "POST";
  hook.target = "/webhooks/vonage";
  hook.headers = {{"Content-Type", "application/json"},
                  {"Authorization", std::string(authorization)}};
  hook.body = std::string(body);
  return hook;
}

InboundWebhook BearerHook(std::string_view token,
                          std::string_view body = kBody) {
  return JwtHook("Bearer " + std::string(token), body);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string FormEncode(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += PercentEncode(k) + "=" + PercentEncode(v);
  }
  return out;
}

InboundWebhook QueryHook(const Params& params) {
  InboundWebhook hook;
  hook.method = "GET";
  hook.target = "/webhooks/dlr?" + FormEncode(params);
  return hook;
}

InboundWebhook FormHook(const Params& params, std::string query = {}) {
  InboundWebhook hook;
  hook.method = "POST";
  hook.target = "/webhooks/dlr" + (query.empty() ? "" : "?" + query);
  hook.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  hook.body = FormEncode(params);
  return hook;
}

InboundWebhook JsonHook(std::string body) {
  InboundWebhook hook;
  hook.method = "POST";
  hook.target = "/webhooks/dlr";
  hook.headers = {{"Content-Type", "application/json"}};
  hook.body = std::move(body);
  return hook;
}

// The sig string built independently of the verifier: std::map iterates in
// byte order; '&' and '=' in values become '_'.
std::string SigString(const std::map<std::string, std::string>& params) {
  std::string s;
  for (const auto& [k, v] : params) {
    if (k == "sig") continue;
    s += "&" + k + "=";
    for (char c : v) s += (c == '&' || c == '=') ? '_' : c;
  }
  return s;
}

// Lowercase hex signature of `params` under `method`.
std::string SignParams(std::string_view method, std::string_view secret,
                       const Params& params) {
  std::map<std::string, std::string> sorted(params.begin(), params.end());
  std::string text = SigString(sorted);
  if (method == "md5hash") {
    return HexEncode(*Digest(HashAlgorithm::kMd5, text + std::string(secret)));
  }
  return HexEncode(*Hmac(*ParseHashAlgorithm(method), secret, text));
}

Params WithSig(Params params, std::string sig) {
  params.emplace_back("sig", std::move(sig));
  return params;
}

Params DlrParams(int64_t timestamp = kNow) {
  return {{"msisdn", "447700900000"},
          {"to", "AcmeInc"},
          {"messageId", "0A0000000123ABCD1"},
          {"status", "delivered"},
          {"message-timestamp", "2025-02-03 12:14:25"},
          {"nonce", "8d7e3c2b-5a4f-4e2d-9c1b-0f6e5d4c3b2a"},
          {"timestamp", std::to_string(timestamp)}};
}

std::string ToUpper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// ---------------------------------------------------------------------------
// Vectors

TEST(VonageVectorsTest, FileHoldsEveryVonageVector) {
  json vectors = LoadVectors();
  ASSERT_TRUE(vectors.is_array());
  size_t sig = 0, jwt = 0;
  for (const json& v : vectors) {
    if (IsSigVector(v)) ++sig;
    if (IsJwtVector(v)) ++jwt;
  }
  EXPECT_EQ(sig, kSigVectors);
  EXPECT_EQ(jwt, kJwtVectors);
  EXPECT_EQ(vectors.size(), kSigVectors + kJwtVectors);
}

TEST(VonageSigVectorsTest, EveryVectorInEveryDelivery) {
  size_t valid_run = 0, invalid_run = 0;
  for (const json& v : LoadVectors()) {
    if (!IsSigVector(v)) continue;
    SCOPED_TRACE(v.at("source").get<std::string>() + " / " +
                 v.at("inputs").at("signature_method").get<std::string>());
    const json& inputs = v.at("inputs");
    const std::string method = inputs.at("signature_method").get<std::string>();
    const std::string sig = v.at("expected_signature").get<std::string>();
    const bool valid = v.at("valid").get<bool>();
    const std::string secret = v.at("secret").get<std::string>();

    Params params;  // as strings, `sig` excluded
    json object = json::object();
    for (const auto& [k, value] : inputs.at("params").items()) {
      if (k == "sig") {
        EXPECT_EQ(value, sig);
        continue;
      }
      params.emplace_back(
          k, value.is_string() ? value.get<std::string>() : value.dump());
      object[k] = value;
    }
    object["sig"] = sig;
    int64_t now = 0;
    bool has_timestamp = false;
    for (const auto& [k, value] : params) {
      if (k == "timestamp") {
        now = std::stoll(value);
        has_timestamp = true;
      }
    }

    auto verifier = Make("vonage-sig", {secret}, method);
    auto wrong = Make("vonage-sig", {"not-the-secret"}, method);
    ASSERT_NE(verifier, nullptr);
    ASSERT_NE(wrong, nullptr);
    const Params signed_params = WithSig(params, sig);
    const InboundWebhook hooks[] = {QueryHook(signed_params),
                                    FormHook(signed_params),
                                    JsonHook(object.dump())};
    for (const InboundWebhook& hook : hooks) {
      SCOPED_TRACE(hook.target + " " + hook.body);
      SignatureCheck check = verifier->Verify(hook, now);
      if (!valid) {
        R want = HexDecode(sig) ? R::kMismatch : R::kBadEncoding;
        EXPECT_FALSE(check.valid);
        EXPECT_EQ(check.reason, want) << ToString(check.reason);
        ++invalid_run;
        continue;
      }
      if (has_timestamp) {
        EXPECT_TRUE(check.valid) << ToString(check.reason);
        EXPECT_EQ(check.secret_index, 0);
        EXPECT_TRUE(check.event_id.empty());
      } else {
        EXPECT_EQ(check.reason, R::kBadTimestamp) << ToString(check.reason);
      }
      EXPECT_EQ(wrong->Verify(hook, now).reason, R::kMismatch);
      ++valid_run;
    }
  }
  EXPECT_EQ(valid_run, 3 * 10u);
  EXPECT_EQ(invalid_run, 3 * 1u);
}

TEST(VonageJwtVectorsTest, EveryVector) {
  size_t accepted = 0, payload_hash = 0, mismatch = 0;
  for (const json& v : LoadVectors()) {
    if (!IsJwtVector(v)) continue;
    SCOPED_TRACE(v.at("source").get<std::string>());
    const json& inputs = v.at("inputs");
    const json& claims = inputs.at("decoded_claims");
    const std::string authorization =
        inputs.contains("Authorization")
            ? inputs.at("Authorization").get<std::string>()
            : "Bearer " + inputs.at("token").get<std::string>();
    const bool has_body = inputs.contains("body");
    const std::string body =
        has_body ? inputs.at("body").get<std::string>() : std::string(kBody);
    const int64_t now = inputs.contains("now_unix")
                            ? inputs.at("now_unix").get<int64_t>()
                            : claims.at("iat").get<int64_t>();
    const int64_t tolerance = inputs.value("iat_tolerance_s", int64_t{300});
    if (has_body) {
      EXPECT_EQ(Sha256Hex(body), inputs.at("body_sha256_hex"));
    }

    const bool valid = v.at("valid").get<bool>();
    auto verifier = Make("vonage-jwt", {v.at("secret").get<std::string>()},
                         "sha256", tolerance);
    ASSERT_NE(verifier, nullptr);
    const InboundWebhook hook = JwtHook(authorization, body);
    SignatureCheck check = verifier->Verify(hook, now);
    if (valid && has_body) {
      EXPECT_TRUE(check.valid) << ToString(check.reason);
      EXPECT_EQ(check.secret_index, 0);
      EXPECT_EQ(check.event_id, claims.at("jti"));
      ++accepted;
    } else if (valid || has_body) {
      // MAC matched; the body is unpublished or was tampered with.
      EXPECT_NE(Sha256Hex(body), claims.at("payload_hash"));
      EXPECT_EQ(check.reason, R::kPayloadHashMismatch)
          << ToString(check.reason);
      EXPECT_EQ(check.event_id, claims.at("jti"));
      ++payload_hash;
    } else {
      EXPECT_EQ(check.reason, R::kMismatch) << ToString(check.reason);
      ++mismatch;
    }
    if (valid) {
      auto wrong = Make("vonage-jwt", {"not-the-secret"}, "sha256", tolerance);
      EXPECT_EQ(wrong->Verify(hook, now).reason, R::kMismatch);
    }
  }
  EXPECT_EQ(accepted, 1u);
  EXPECT_EQ(payload_hash, 2u);  // ruby sample (no body), tampered body
  EXPECT_EQ(mismatch, 2u);      // ruby wrong secret, python "asdf"
}

// The python-sdk token is valid under its published secret, but it is a
// generic JWT: the Vonage iss check refuses it.
TEST(VonageJwtVectorsTest, PythonTokenFailsIssuerUnderItsRealSecret) {
  for (const json& v : LoadVectors()) {
    if (!IsJwtVector(v) || !v.at("inputs").contains("token")) continue;
    auto verifier = Make("vonage-jwt", {"qwertyuiopasdfghjklzxcvbnm123456"});
    SignatureCheck check = verifier->Verify(
        BearerHook(v.at("inputs").at("token").get<std::string>()), 1697634680);
    EXPECT_EQ(check.reason, R::kBadToken) << ToString(check.reason);
    return;
  }
  ADD_FAILURE() << "python-sdk token vector not found";
}

// ---------------------------------------------------------------------------
// vonage-jwt rules

struct JwtCase {
  std::string name;
  InboundWebhook hook;
  R want;  // kNone: accepted
  int64_t now = kNow;
};

void RunJwtCases(const std::vector<JwtCase>& cases,
                 const SignatureVerifier& verifier) {
  for (const JwtCase& c : cases) {
    SCOPED_TRACE(c.name);
    SignatureCheck check = verifier.Verify(c.hook, c.now);
    EXPECT_EQ(check.valid, c.want == R::kNone);
    EXPECT_EQ(check.reason, c.want)
        << ToString(check.reason) << " want " << ToString(c.want);
  }
}

TEST(VonageJwtRulesTest, AcceptsAndReportsJti) {
  auto verifier = Make("vonage-jwt", {std::string(kJwtSecret)});
  SignatureCheck check = verifier->Verify(
      BearerHook(Jwt(Hs256Header(), Claims(), kJwtSecret)), kNow);
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.secret_index, 0);
  EXPECT_EQ(check.event_id, "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5");

  json no_jti = Claims();
  no_jti.erase("jti");
  check = verifier->Verify(BearerHook(Jwt(Hs256Header(), no_jti, kJwtSecret)),
                           kNow);
  EXPECT_TRUE(check.valid);
  EXPECT_TRUE(check.event_id.empty());
}

TEST(VonageJwtRulesTest, AuthorizationHeader) {
  const std::string token = Jwt(Hs256Header(), Claims(), kJwtSecret);
  InboundWebhook lower_name = BearerHook(token);
  lower_name.headers[1].first = "authorization";
  InboundWebhook twice = BearerHook(token);
  twice.headers.emplace_back("AUTHORIZATION", "Bearer " + token);
  InboundWebhook none = BearerHook(token);
  none.headers.pop_back();

  std::vector<JwtCase> cases = {
      {"bearer lowercase", JwtHook("bearer " + token), R::kNone},
      {"bearer uppercase", JwtHook("BEARER " + token), R::kNone},
      {"extra whitespace", JwtHook("  Bearer \t " + token + "  "), R::kNone},
      {"header name any case", lower_name, R::kNone},
      {"missing", none, R::kMissingHeader},
      {"empty", JwtHook(""), R::kMissingHeader},
      {"blank", JwtHook("   "), R::kMissingHeader},
      {"repeated", twice, R::kDuplicateHeader},
      {"basic scheme", JwtHook("Basic " + token), R::kBadEncoding},
      {"no scheme", JwtHook(token), R::kBadEncoding},
      {"scheme glued to token", JwtHook("Bearer" + token), R::kBadEncoding},
      {"scheme only", JwtHook("Bearer"), R::kBadEncoding},
  };
  RunJwtCases(cases, *Make("vonage-jwt", {std::string(kJwtSecret)}));
}

// The alg allow-list is decided from the header before any MAC, so even a
// token whose bytes carry a correct HS256 MAC is refused under another alg.
TEST(VonageJwtRulesTest, OnlyHs256IsAllowed) {
  const json claims = Claims();
  const std::string claims_b64 = B64Url(claims.dump());
  auto with_alg = [&](const json& header) {
    return Jwt(header, claims, kJwtSecret);
  };
  std::vector<JwtCase> cases = {
      {"none, empty signature",
       BearerHook(B64Url(R"({"alg":"none","typ":"JWT"})") + "." + claims_b64 +
                  "."),
       R::kAlgNotAllowed},
      {"none, HS256 MAC", BearerHook(with_alg({{"alg", "none"}})),
       R::kAlgNotAllowed},
      {"None", BearerHook(with_alg({{"alg", "None"}})), R::kAlgNotAllowed},
      {"HS512, correct HMAC-SHA512",
       BearerHook(
           Jwt({{"alg", "HS512"}}, claims, kJwtSecret, HashAlgorithm::kSha512)),
       R::kAlgNotAllowed},
      {"HS384", BearerHook(with_alg({{"alg", "HS384"}})), R::kAlgNotAllowed},
      {"RS256",
       BearerHook(B64Url(R"({"alg":"RS256"})") + "." + claims_b64 + "." +
                  B64Url(std::string(256, 'x'))),
       R::kAlgNotAllowed},
      {"hs256 lowercase", BearerHook(with_alg({{"alg", "hs256"}})),
       R::kAlgNotAllowed},
      {"alg missing", BearerHook(with_alg({{"typ", "JWT"}})),
       R::kAlgNotAllowed},
      {"alg not a string", BearerHook(with_alg({{"alg", 256}})),
       R::kAlgNotAllowed},
      {"HS256 control", BearerHook(with_alg({{"alg", "HS256"}})), R::kNone},
  };
  RunJwtCases(cases, *Make("vonage-jwt", {std::string(kJwtSecret)}));
}

TEST(VonageJwtRulesTest, MalformedTokens) {
  const std::string good = Jwt(Hs256Header(), Claims(), kJwtSecret);
  const std::string header_b64 = B64Url(Hs256Header().dump());
  const std::string claims_b64 = B64Url(Claims().dump());
  auto signed_as = [&](const std::string& header, const std::string& claims) {
    std::string part = header + "." + claims;
    return part + "." + B64Url(*Hmac(HashAlgorithm::kSha256, kJwtSecret, part));
  };
  // The last character of a 43-character HS256 signature carries 2 unused
  // bits; setting one keeps the bytes but makes the encoding non-canonical.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string non_canonical = good;
  non_canonical.back() = kAlphabet[kAlphabet.find(good.back()) + 1];

  std::vector<JwtCase> cases = {
      {"one part", BearerHook("abc"), R::kBadToken},
      {"two parts", BearerHook(header_b64 + "." + claims_b64), R::kBadToken},
      {"four parts", BearerHook(good + ".x"), R::kBadToken},
      {"empty parts", BearerHook(".."), R::kBadToken},
      {"space inside token", BearerHook(header_b64 + " ." + claims_b64 + ".x"),
       R::kBadToken},
      {"header not base64url", BearerHook("!!!!." + claims_b64 + ".x"),
       R::kBadToken},
      {"header padded",
       BearerHook(signed_as(Base64Encode(R"({"alg": "HS256"})"), claims_b64)),
       R::kBadToken},
      {"header not JSON", BearerHook(signed_as(B64Url("HS256"), claims_b64)),
       R::kBadToken},
      {"header JSON array",
       BearerHook(signed_as(B64Url(R"(["HS256"])"), claims_b64)), R::kBadToken},
      {"crit header",
       BearerHook(
           Jwt({{"alg", "HS256"}, {"crit", {"exp"}}}, Claims(), kJwtSecret)),
       R::kBadToken},
      {"signature padded", BearerHook(good + "="), R::kBadToken},
      {"signature truncated", BearerHook(good.substr(0, good.size() - 4)),
       R::kBadToken},
      {"signature non-canonical", BearerHook(non_canonical), R::kBadToken},
      {"signature empty", BearerHook(header_b64 + "." + claims_b64 + "."),
       R::kBadToken},
      {"claims not base64url",
       BearerHook(header_b64 + ".$$$." + B64Url(std::string(32, 'x'))),
       R::kBadToken},
      {"claims not JSON, MAC valid",
       BearerHook(signed_as(header_b64, B64Url("not json"))), R::kBadToken},
      {"claims JSON array, MAC valid",
       BearerHook(signed_as(header_b64, B64Url("[1,2]"))), R::kBadToken},
      {"claims not JSON, MAC wrong",
       BearerHook(header_b64 + "." + B64Url("not json") + "." +
                  B64Url(std::string(32, 'x'))),
       R::kMismatch},
      {"control", BearerHook(good), R::kNone},
  };
  RunJwtCases(cases, *Make("vonage-jwt", {std::string(kJwtSecret)}));
}

TEST(VonageJwtRulesTest, Claims) {
  auto token = [](json claims) {
    return Jwt(Hs256Header(), claims, kJwtSecret);
  };
  auto without = [](std::string_view key) {
    json c = Claims();
    c.erase(std::string(key));
    return c;
  };
  auto with = [](std::string_view key, json value) {
    json c = Claims();
    c[std::string(key)] = std::move(value);
    return c;
  };
  const std::string tampered =
      R"({"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab",)"
      R"("status":"rejected"})";

  std::vector<JwtCase> cases = {
      {"control", BearerHook(token(Claims())), R::kNone},
      // iss
      {"iss missing", BearerHook(token(without("iss"))), R::kBadToken},
      {"iss other", BearerHook(token(with("iss", "Nexmo"))), R::kBadToken},
      {"iss lowercase", BearerHook(token(with("iss", "vonage"))), R::kBadToken},
      {"iss not a string", BearerHook(token(with("iss", 1))), R::kBadToken},
      // payload_hash
      {"tampered body", BearerHook(token(Claims()), tampered),
       R::kPayloadHashMismatch},
      {"body with trailing newline",
       BearerHook(token(Claims()), std::string(kBody) + "\n"),
       R::kPayloadHashMismatch},
      {"empty body", BearerHook(token(Claims()), ""), R::kPayloadHashMismatch},
      {"empty body, hash of empty", BearerHook(token(Claims("")), ""),
       R::kNone},
      {"payload_hash missing", BearerHook(token(without("payload_hash"))),
       R::kPayloadHashMismatch},
      {"payload_hash not a string", BearerHook(token(with("payload_hash", 0))),
       R::kPayloadHashMismatch},
      {"payload_hash not hex", BearerHook(token(with("payload_hash", "zz"))),
       R::kPayloadHashMismatch},
      {"payload_hash truncated",
       BearerHook(token(with("payload_hash", Sha256Hex(kBody).substr(0, 62)))),
       R::kPayloadHashMismatch},
      {"payload_hash uppercase hex",
       BearerHook(token(with("payload_hash", ToUpper(Sha256Hex(kBody))))),
       R::kNone},
      // iat
      {"iat missing", BearerHook(token(without("iat"))), R::kBadToken},
      {"iat string", BearerHook(token(with("iat", std::to_string(kNow)))),
       R::kBadToken},
      {"iat fractional", BearerHook(token(with("iat", 1738584865.5))),
       R::kBadToken},
      {"iat 300 s old", BearerHook(token(Claims(kBody, kNow - 300))), R::kNone},
      {"iat 301 s old", BearerHook(token(Claims(kBody, kNow - 301))),
       R::kStale},
      {"iat 300 s ahead", BearerHook(token(Claims(kBody, kNow + 300))),
       R::kNone},
      {"iat 301 s ahead", BearerHook(token(Claims(kBody, kNow + 301))),
       R::kFuture},
      {"iat int64 min",
       BearerHook(token(Claims(kBody, std::numeric_limits<int64_t>::min()))),
       R::kStale},
      {"iat above int64",
       BearerHook(token(with("iat", std::numeric_limits<uint64_t>::max()))),
       R::kFuture},
      // exp / nbf (Vonage sends neither)
      {"exp now", BearerHook(token(with("exp", kNow))), R::kNone},
      {"exp passed", BearerHook(token(with("exp", kNow - 1))), R::kStale},
      {"exp not a number", BearerHook(token(with("exp", "soon"))),
       R::kBadToken},
      {"nbf within tolerance", BearerHook(token(with("nbf", kNow + 300))),
       R::kNone},
      {"nbf ahead", BearerHook(token(with("nbf", kNow + 301))), R::kFuture},
      // hash checked before time: a replayed token with another body
      {"stale and tampered",
       BearerHook(token(Claims(kBody, kNow - 3600)), tampered),
       R::kPayloadHashMismatch},
  };
  RunJwtCases(cases, *Make("vonage-jwt", {std::string(kJwtSecret)}));
}

TEST(VonageJwtRulesTest, ToleranceIsConfigurable) {
  auto verifier = Make("vonage-jwt", {std::string(kJwtSecret)}, "sha256", 60);
  auto hook = BearerHook(Jwt(Hs256Header(), Claims(), kJwtSecret));
  EXPECT_TRUE(verifier->Verify(hook, kNow + 60).valid);
  EXPECT_EQ(verifier->Verify(hook, kNow + 61).reason, R::kStale);
  EXPECT_EQ(verifier->Verify(hook, kNow - 61).reason, R::kFuture);
  // A rejection after the MAC still names the event.
  EXPECT_EQ(verifier->Verify(hook, kNow + 61).event_id,
            "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5");
}

TEST(VonageJwtRulesTest, RotationReportsTheMatchingSecret) {
  auto hook = BearerHook(Jwt(Hs256Header(), Claims(), kJwtSecret));
  auto rotated = Make("vonage-jwt", {"old-secret", std::string(kJwtSecret)});
  SignatureCheck check = rotated->Verify(hook, kNow);
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.secret_index, 1);
  EXPECT_EQ(rotated->secret_count(), 2u);

  auto first = Make("vonage-jwt", {std::string(kJwtSecret), "new-secret"});
  EXPECT_EQ(first->Verify(hook, kNow).secret_index, 0);

  auto neither = Make("vonage-jwt", {"a", "b", "c"});
  check = neither->Verify(hook, kNow);
  EXPECT_EQ(check.reason, R::kMismatch);
  EXPECT_EQ(check.secret_index, -1);
  EXPECT_TRUE(check.event_id.empty());
}

// ---------------------------------------------------------------------------
// vonage-sig rules

struct SigCase {
  std::string name;
  InboundWebhook hook;
  R want;  // kNone: accepted
  int64_t now = kNow;
};

void RunSigCases(const std::vector<SigCase>& cases,
                 const SignatureVerifier& verifier) {
  for (const SigCase& c : cases) {
    SCOPED_TRACE(c.name + ": " + c.hook.target + " " + c.hook.body);
    SignatureCheck check = verifier.Verify(c.hook, c.now);
    EXPECT_EQ(check.valid, c.want == R::kNone);
    EXPECT_EQ(check.reason, c.want)
        << ToString(check.reason) << " want " << ToString(c.want);
  }
}

TEST(VonageSigRulesTest, ParameterSources) {
  const Params params = DlrParams();
  const std::string sig = SignParams("sha256", kSigSecret, params);
  const Params signed_params = WithSig(params, sig);

  // Split between query and body, in any order.
  Params in_query(signed_params.begin(), signed_params.begin() + 3);
  Params in_body(signed_params.begin() + 3, signed_params.end());
  json object = json::object();
  for (const auto& [k, v] : signed_params) object[k] = v;
  json as_number = object;
  as_number["timestamp"] = kNow;  // numbers are signed as their JSON text

  InboundWebhook json_charset = JsonHook(object.dump());
  json_charset.headers[0].second = "Application/JSON; charset=utf-8";
  InboundWebhook form_charset = FormHook(signed_params);
  form_charset.headers[0].second =
      "application/x-www-form-urlencoded ; charset=UTF-8";
  InboundWebhook plus_space = FormHook(signed_params);
  plus_space.body.replace(plus_space.body.find("%20"), 3, "+");
  InboundWebhook json_with_query = JsonHook(json(json::object()).dump());
  json_with_query.target += "?" + FormEncode(signed_params);

  std::vector<SigCase> cases = {
      {"query", QueryHook(signed_params), R::kNone},
      {"form", FormHook(signed_params), R::kNone},
      {"json", JsonHook(object.dump()), R::kNone},
      {"json, timestamp as number", JsonHook(as_number.dump()), R::kNone},
      {"query + form", FormHook(in_body, FormEncode(in_query)), R::kNone},
      {"json content type with charset", json_charset, R::kNone},
      {"form content type with charset", form_charset, R::kNone},
      {"'+' is a space in forms", plus_space, R::kNone},
      {"query carries all, json body empty object", json_with_query, R::kNone},
  };
  RunSigCases(cases, *Make("vonage-sig", {std::string(kSigSecret)}));
}

TEST(VonageSigRulesTest, BodiesThatCannotBeCanonicalised) {
  const Params params = DlrParams();
  const std::string sig = SignParams("sha256", kSigSecret, params);
  const Params signed_params = WithSig(params, sig);
  json object = json::object();
  for (const auto& [k, v] : signed_params) object[k] = v;
  auto with = [&](std::string_view key, json value) {
    json o = object;
    o[std::string(key)] = std::move(value);
    return o.dump();
  };

  InboundWebhook no_type = FormHook(signed_params);
  no_type.headers.clear();
  InboundWebhook text_plain = FormHook(signed_params);
  text_plain.headers[0].second = "text/plain";
  InboundWebhook two_types = FormHook(signed_params);
  two_types.headers.emplace_back("content-type", "application/json");
  InboundWebhook repeated = FormHook(WithSig(
      [&] {
        Params p = params;
        p.emplace_back("status", "failed");
        return p;
      }(),
      sig));
  InboundWebhook query_and_body = FormHook(signed_params, "status=delivered");
  InboundWebhook bad_percent = FormHook(signed_params);
  bad_percent.body += "&x=%zz";
  InboundWebhook bad_query = QueryHook(signed_params);
  bad_query.target += "&x=%4";

  std::vector<SigCase> cases = {
      {"body without content type", no_type, R::kBadEncoding},
      {"text/plain body", text_plain, R::kBadEncoding},
      {"two content types", two_types, R::kBadEncoding},
      {"repeated form param", repeated, R::kBadEncoding},
      {"param in query and body", query_and_body, R::kBadEncoding},
      {"bad percent-encoding in body", bad_percent, R::kBadEncoding},
      {"bad percent-encoding in query", bad_query, R::kBadEncoding},
      {"json nested object", JsonHook(with("usage", {{"price", "0.03"}})),
       R::kBadEncoding},
      {"json nested array", JsonHook(with("parts", {1, 2})), R::kBadEncoding},
      {"json top-level array", JsonHook("[" + object.dump() + "]"),
       R::kBadEncoding},
      {"json invalid", JsonHook(object.dump() + ","), R::kBadEncoding},
      {"json duplicate key",
       JsonHook(object.dump().substr(0, object.dump().size() - 1) +
                R"(,"status":"failed"})"),
       R::kBadEncoding},
  };
  RunSigCases(cases, *Make("vonage-sig", {std::string(kSigSecret)}));
}

// Values are signed as given, with '&' and '=' replaced by '_'; JSON scalars
// other than strings as their exact JSON text. Expected strings are spelled
// out here rather than built with the helper.
TEST(VonageSigRulesTest, StringToSign) {
  auto md5hash = [](std::string_view text) {
    return HexEncode(*Digest(HashAlgorithm::kMd5,
                            std::string(text) + std::string(kSigSecret)));
  };
  auto verifier = Make("vonage-sig", {std::string(kSigSecret)}, "md5hash");

  const std::string escaped = md5hash("&k=a_b_c&timestamp=1738584865");
  const Params special = {{"k", "a&b=c"}, {"timestamp", "1738584865"}};
  const std::string scalars = md5hash(
      "&count=2&empty=&flag=true&none=null&price=0.03300&text=caf\xC3\xA9"
      "&timestamp=1738584865");

  std::vector<SigCase> cases = {
      {"'&' and '=' in values, form", FormHook(WithSig(special, escaped)),
       R::kNone},
      {"'&' and '=' in values, query", QueryHook(WithSig(special, escaped)),
       R::kNone},
      {"'&' and '=' in values, json",
       JsonHook(R"({"k":"a&b=c","timestamp":"1738584865","sig":")" + escaped +
                R"("})"),
       R::kNone},
      {"json scalars keep their text",
       JsonHook(R"({"price":0.03300,"count":2,"flag":true,"none":null,)"
                R"("empty":"","text":"caf\u00e9","timestamp":1738584865,)"
                R"("sig":")" +
                scalars + R"("})"),
       R::kNone},
  };
  RunSigCases(cases, *verifier);

  // The ruby-sdk vector {k: "_"} signs "&k=_"; "&" must sign the same.
  const std::string k_sig = "c3d6a686ab9c7e7408bb1c0506e9629a";
  EXPECT_EQ(md5hash("&k=_"), k_sig);
  for (std::string value : {"_", "&", "="}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(
        verifier->Verify(FormHook({{"k", value}, {"sig", k_sig}}), kNow).reason,
        R::kBadTimestamp);  // MAC matched; no timestamp
  }
  EXPECT_EQ(
      verifier->Verify(FormHook({{"k", "-"}, {"sig", k_sig}}), kNow).reason,
      R::kMismatch);
}

TEST(VonageSigRulesTest, SigParameter) {
  const Params params = DlrParams();
  const std::string sig = SignParams("sha256", kSigSecret, params);
  std::string mixed = sig;
  for (size_t i = 0; i < mixed.size(); i += 2) {
    if (mixed[i] >= 'a' && mixed[i] <= 'f') mixed[i] -= 'a' - 'A';
  }
  std::string flipped = sig;
  flipped[0] = flipped[0] == '0' ? '1' : '0';

  std::vector<SigCase> cases = {
      {"lowercase hex", FormHook(WithSig(params, sig)), R::kNone},
      {"uppercase hex", FormHook(WithSig(params, ToUpper(sig))), R::kNone},
      {"mixed-case hex", FormHook(WithSig(params, mixed)), R::kNone},
      {"missing", FormHook(params), R::kMissingHeader},
      {"empty", FormHook(WithSig(params, "")), R::kMissingHeader},
      {"twice in body", FormHook(WithSig(WithSig(params, sig), sig)),
       R::kDuplicateHeader},
      {"in query and body", FormHook(WithSig(params, sig), "sig=" + sig),
       R::kDuplicateHeader},
      {"not hex", FormHook(WithSig(params, "xxx")), R::kBadEncoding},
      {"odd length", FormHook(WithSig(params, sig.substr(1))), R::kBadEncoding},
      {"md5 length for sha256", FormHook(WithSig(params, sig.substr(0, 32))),
       R::kBadEncoding},
      {"one bit off", FormHook(WithSig(params, flipped)), R::kMismatch},
      {"param changed",
       FormHook(WithSig(
           [&] {
             Params p = params;
             p[3].second = "failed";
             return p;
           }(),
           sig)),
       R::kMismatch},
      {"param added",
       FormHook(WithSig(
           [&] {
             Params p = params;
             p.emplace_back("price", "0");
             return p;
           }(),
           sig)),
       R::kMismatch},
  };
  RunSigCases(cases, *Make("vonage-sig", {std::string(kSigSecret)}));
}

TEST(VonageSigRulesTest, Timestamp) {
  auto signed_at = [](int64_t ts) {
    Params p = DlrParams(ts);
    return FormHook(WithSig(p, SignParams("sha256", kSigSecret, p)));
  };
  auto signed_with_ts = [](std::string ts) {
    Params p = DlrParams();
    p.back().second = std::move(ts);
    return FormHook(WithSig(p, SignParams("sha256", kSigSecret, p)));
  };
  Params no_ts = DlrParams();
  no_ts.pop_back();
  Params stale = DlrParams(kNow - 3600);

  std::vector<SigCase> cases = {
      {"now", signed_at(kNow), R::kNone},
      {"300 s old", signed_at(kNow - 300), R::kNone},
      {"301 s old", signed_at(kNow - 301), R::kStale},
      {"300 s ahead", signed_at(kNow + 300), R::kNone},
      {"301 s ahead", signed_at(kNow + 301), R::kFuture},
      {"missing",
       FormHook(WithSig(no_ts, SignParams("sha256", kSigSecret, no_ts))),
       R::kBadTimestamp},
      {"not digits", signed_with_ts("1738584865.0"), R::kBadTimestamp},
      {"negative", signed_with_ts("-1"), R::kBadTimestamp},
      {"empty", signed_with_ts(""), R::kBadTimestamp},
      {"too long", signed_with_ts(std::string(19, '9')), R::kBadTimestamp},
      // MAC first: a forged old request is a mismatch, not a stale one.
      {"stale and forged", FormHook(WithSig(stale, std::string(64, 'a'))),
       R::kMismatch},
  };
  RunSigCases(cases, *Make("vonage-sig", {std::string(kSigSecret)}));
  RunSigCases({{"tolerance 10", signed_at(kNow - 11), R::kStale},
               {"tolerance 10 edge", signed_at(kNow - 10), R::kNone}},
              *Make("vonage-sig", {std::string(kSigSecret)}, "sha256", 10));
}

TEST(VonageSigRulesTest, EveryMethod) {
  const Params params = DlrParams();
  for (std::string method : {"md5hash", "md5", "sha1", "sha256", "sha512"}) {
    SCOPED_TRACE(method);
    auto verifier = Make("vonage-sig", {std::string(kSigSecret)}, method);
    const std::string sig = SignParams(method, kSigSecret, params);
    EXPECT_TRUE(verifier->Verify(FormHook(WithSig(params, sig)), kNow).valid);
    // A signature made with another method never verifies.
    const std::string other =
        SignParams(method == "md5hash" ? "md5" : "md5hash", kSigSecret, params);
    R want = other.size() == sig.size() ? R::kMismatch : R::kBadEncoding;
    EXPECT_EQ(verifier->Verify(FormHook(WithSig(params, other)), kNow).reason,
              want);
  }
}

TEST(VonageSigRulesTest, RotationReportsTheMatchingSecret) {
  const Params params = DlrParams();
  auto hook = QueryHook(WithSig(params, SignParams("sha1", "new", params)));
  auto verifier = Make("vonage-sig", {"old", "new"}, "sha1");
  SignatureCheck check = verifier->Verify(hook, kNow);
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.secret_index, 1);
  EXPECT_EQ(verifier->secret_count(), 2u);
  check = Make("vonage-sig", {"a", "b"}, "sha1")->Verify(hook, kNow);
  EXPECT_EQ(check.reason, R::kMismatch);
  EXPECT_EQ(check.secret_index, -1);
}

// ---------------------------------------------------------------------------
// Factories and reasons

TEST(VonageFactoryTest, RefusesBadConfig) {
  struct {
    std::string scheme;
    std::vector<std::string> secrets;
    std::string algorithm;
    int64_t tolerance_s;
    std::string error;
  } cases[] = {
      {"vonage-jwt", {"a", ""}, "sha256", 300, "secrets[1]: empty secret"},
      {"vonage-sig", {""}, "sha256", 300, "secrets[0]: empty secret"},
      {"vonage-jwt",
       {"a"},
       "sha512",
       300,
       "algorithm: \"sha512\" is not one of sha256"},
      {"vonage-sig",
       {"a"},
       "sha384",
       300,
       "algorithm: \"sha384\" is not one of md5hash, md5, sha1, sha256, "
       "sha512"},
      {"vonage-sig",
       {"a"},
       "MD5",
       300,
       "algorithm: \"MD5\" is not one of md5hash, md5, sha1, sha256, sha512"},
      {"vonage-jwt", {"a"}, "sha256", -1, "tolerance_s: must be >= 0"},
      {"vonage-sig", {"a"}, "md5", -1, "tolerance_s: must be >= 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    SignatureConfig config;
    config.scheme = c.scheme;
    config.secrets = c.secrets;
    config.algorithm = c.algorithm;
    config.tolerance_s = c.tolerance_s;
    auto direct = c.scheme == "vonage-jwt" ? MakeVonageJwtVerifier(config)
                                           : MakeVonageSigVerifier(config);
    ASSERT_FALSE(direct.ok());
    EXPECT_EQ(direct.status().message(), c.error);
    auto table = MakeSignatureVerifier(config);
    ASSERT_FALSE(table.ok());
    EXPECT_EQ(table.status().message(), c.error);
  }
}

TEST(VonageFactoryTest, DefaultsBuild) {
  SignatureConfig config;  // algorithm "sha256", tolerance 300
  config.secrets = {"s"};
  config.scheme = "vonage-jwt";
  EXPECT_TRUE(MakeSignatureVerifier(config).ok());
  config.scheme = "vonage-sig";
  EXPECT_TRUE(MakeSignatureVerifier(config).ok());
}

TEST(VonageFactoryTest, ListsItsReasons) {
  auto jwt = Make("vonage-jwt", {"s"});
  EXPECT_EQ(
      jwt->Reasons(),
      (std::vector<R>{R::kMissingHeader, R::kDuplicateHeader, R::kBadEncoding,
                      R::kBadToken, R::kAlgNotAllowed, R::kMismatch,
                      R::kPayloadHashMismatch, R::kStale, R::kFuture}));
  auto sig = Make("vonage-sig", {"s"});
  EXPECT_EQ(
      sig->Reasons(),
      (std::vector<R>{R::kMissingHeader, R::kDuplicateHeader, R::kBadEncoding,
                      R::kMismatch, R::kBadTimestamp, R::kStale, R::kFuture}));
}

}  // namespace
}  // namespace dlrd

namespace dlrd {
namespace {

// Vonage posts unsigned copies when its signing fails and retries only 5xx
// (docs/signatures.md §6.3): both Vonage schemes ask for a retry; others do not.
TEST(VonageRulesTest, UnsignedIsRetryableOnlyForVonage) {
  EXPECT_TRUE(Make("vonage-jwt", {"s"})->unsigned_is_retryable());
  EXPECT_TRUE(Make("vonage-sig", {"s"}, "md5hash")->unsigned_is_retryable());
  EXPECT_FALSE(Make("hmac", {"s"})->unsigned_is_retryable());
}

}  // namespace
}  // namespace dlrd
