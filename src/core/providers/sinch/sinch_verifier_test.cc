// Sinch verifiers (docs/signatures.md §7): every Sinch vector of the shared file
// (copied to src/core/providers/sinch/testdata/vectors/sinch.json), then the rules per variant.
#include "core/providers/sinch/sinch_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/signature/signature_verifier.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using nlohmann::json;

constexpr size_t kApplicationVectors = 6;
constexpr size_t kNonceVectors = 3;
constexpr size_t kNumbersVectors = 2;
constexpr char kAppKey[] = "669E367E-6BBA-48AB-AF15-266871C28135";

// ---------------------------------------------------------------------------
// Helpers

std::unique_ptr<SignatureVerifier> Make(SignatureConfig config) {
  config.scheme = "sinch";
  Result<std::unique_ptr<SignatureVerifier>> made =
      MakeSignatureVerifier(config);
  EXPECT_TRUE(made.ok()) << made.status().message();
  if (!made.ok()) return nullptr;
  return std::move(made).value();
}

std::string FactoryError(SignatureConfig config) {
  config.scheme = "sinch";
  Result<std::unique_ptr<SignatureVerifier>> made =
      MakeSignatureVerifier(config);
  EXPECT_FALSE(made.ok());
  return made.ok() ? "" : made.status().message();
}

// Verifies and checks that any rejection reason is one the verifier lists.
SignatureCheck Check(const SignatureVerifier& verifier,
                     const InboundWebhook& hook, int64_t now) {
  SignatureCheck check = verifier.Verify(hook, now);
  if (!check.valid) {
    std::vector<RejectReason> reasons = verifier.Reasons();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), check.reason),
              reasons.end())
        << ToString(check.reason) << " is not in Reasons()";
    EXPECT_EQ(check.secret_index, -1);
  } else {
    EXPECT_EQ(check.reason, RejectReason::kNone);
    EXPECT_GE(check.secret_index, 0);
  }
  return check;
}

RejectReason ReasonOf(const SignatureVerifier& verifier,
                      const InboundWebhook& hook, int64_t now) {
  return Check(verifier, hook, now).reason;
}

void SetHeader(InboundWebhook* hook, std::string_view name, std::string value) {
  for (auto& [k, v] : hook->headers) {
    if (EqualsIgnoreCase(k, name)) {
      v = std::move(value);
      return;
    }
  }
  hook->headers.emplace_back(std::string(name), std::move(value));
}

void RemoveHeader(InboundWebhook* hook, std::string_view name) {
  std::erase_if(hook->headers,
                [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
}

void RepeatHeader(InboundWebhook* hook, std::string_view name) {
  std::optional<std::string_view> value = hook->Header(name);
  hook->headers.emplace_back(std::string(name),
                             value ? std::string(*value) : "x");
}

// Independent oracle for "YYYY-MM-DDTHH:MM:SS[.f]Z" built on <chrono>.
int64_t UnixOf(std::string_view iso) {
  auto num = [&](size_t pos, size_t len) {
    return std::stoi(std::string(iso.substr(pos, len)));
  };
  using namespace std::chrono;
  const sys_days day = year{num(0, 4)} / month(num(5, 2)) / num(8, 2);
  return day.time_since_epoch().count() * int64_t{86400} + num(11, 2) * 3600 +
         num(14, 2) * 60 + num(17, 2);
}

// ---------------------------------------------------------------------------
// Vectors

json LoadVectors() {
  std::ifstream in(std::string(DLRD_TEST_DATA_DIR) + "/vectors/sinch.json");
  EXPECT_TRUE(in.is_open());
  if (!in.is_open()) return json::array();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

std::string VariantOf(const json& v) {
  const std::string scheme = v.at("scheme").get<std::string>();
  if (scheme.starts_with("sinch-application-signed-callback")) {
    return "application";
  }
  if (scheme.starts_with("sinch-webhook-signature-nonce")) return "nonce";
  if (scheme.starts_with("sinch-x-sinch-signature")) return "numbers";
  ADD_FAILURE() << "unknown Sinch scheme " << scheme;
  return "";
}

SignatureConfig ConfigFor(const json& v) {
  SignatureConfig config;
  config.variant = VariantOf(v);
  config.secrets = {v.at("secret").get<std::string>()};
  if (config.variant == "application") config.application_key = kAppKey;
  return config;
}

InboundWebhook HookFor(const json& v, const std::string& variant) {
  const json& in = v.at("inputs");
  InboundWebhook hook;
  hook.method = in.value("method", "POST");
  hook.target = in.value("path", "/sinch");
  hook.body = in.at("body").get<std::string>();
  const std::string sig = v.at("expected_signature").get<std::string>();
  if (variant == "application") {
    hook.headers = {
        {"Authorization", std::string("Application ") + kAppKey + ":" + sig},
        {"x-timestamp", in.at("x-timestamp").get<std::string>()},
        {"Content-Type", in.at("content_type").get<std::string>()},
        {"Content-MD5", in.at("content_md5").get<std::string>()},
    };
  } else if (variant == "nonce") {
    for (const auto& [name, value] : in.at("headers").items()) {
      hook.headers.emplace_back(name, value.get<std::string>());
    }
  } else {
    hook.headers = {{"X-Sinch-Signature", sig}};
  }
  return hook;
}

// `now` equal to the signed time, so every vector is fresh.
int64_t NowFor(const json& v, const std::string& variant) {
  const json& in = v.at("inputs");
  if (variant == "nonce") {
    return std::stoll(in.at("headers")
                          .at("x-sinch-webhook-signature-timestamp")
                          .get<std::string>());
  }
  if (variant == "application") {
    std::string ts = in.at("x-timestamp").get<std::string>();
    if (ts.starts_with("x-timestamp:")) ts.erase(0, 12);
    return UnixOf(ts);
  }
  return 1700000000;  // numbers: no timestamp
}

// What the verifier must answer for a vector.
RejectReason ExpectedReason(const json& v, const std::string& variant) {
  const json& in = v.at("inputs");
  // The Node SDK test whose x-timestamp *value* starts with "x-timestamp:"
  // pins the verbatim string-to-sign upstream, but that value is not a
  // timestamp: the verifier refuses it before the MAC, by design.
  if (variant == "application" &&
      in.at("x-timestamp").get<std::string>().starts_with("x-timestamp:")) {
    return RejectReason::kBadTimestamp;
  }
  if (v.at("valid").get<bool>()) return RejectReason::kNone;
  // Numbers' "invalid-signature" is not 40 hex digits.
  if (variant == "numbers" &&
      !HexDecode(v.at("expected_signature").get<std::string>())) {
    return RejectReason::kBadEncoding;
  }
  return RejectReason::kMismatch;
}

TEST(SinchVectors, EveryVectorGivesItsExpectedAnswer) {
  const json vectors = LoadVectors();
  ASSERT_TRUE(vectors.is_array());
  std::map<std::string, size_t> seen, accepted;
  for (const json& v : vectors) {
    const std::string variant = VariantOf(v);
    ++seen[variant];
    SCOPED_TRACE(v.at("scheme").get<std::string>() + " / " +
                 v.at("source").get<std::string>() + " / " +
                 v.at("note").get<std::string>());
    std::unique_ptr<SignatureVerifier> verifier = Make(ConfigFor(v));
    ASSERT_NE(verifier, nullptr);
    SignatureCheck check =
        Check(*verifier, HookFor(v, variant), NowFor(v, variant));
    const RejectReason want = ExpectedReason(v, variant);
    EXPECT_EQ(check.valid, want == RejectReason::kNone);
    EXPECT_EQ(ToString(check.reason), ToString(want));
    if (check.valid) {
      ++accepted[variant];
      EXPECT_EQ(check.secret_index, 0);
      if (variant == "nonce") {
        EXPECT_EQ(check.event_id, v.at("inputs")
                                      .at("headers")
                                      .at("x-sinch-webhook-signature-nonce")
                                      .get<std::string>());
      } else {
        EXPECT_EQ(check.event_id, "");
      }
    }
  }
  EXPECT_EQ(vectors.size(),
            kApplicationVectors + kNonceVectors + kNumbersVectors);
  EXPECT_EQ(seen["application"], kApplicationVectors);
  EXPECT_EQ(seen["nonce"], kNonceVectors);
  EXPECT_EQ(seen["numbers"], kNumbersVectors);
  // application: 4 valid upstream, one of them refused as kBadTimestamp.
  EXPECT_EQ(accepted["application"], 3u);
  EXPECT_EQ(accepted["nonce"], 2u);
  EXPECT_EQ(accepted["numbers"], 1u);
}

// The vectors' Content-MD5 values are the true digests of their bodies, so
// the two tampered application vectors fail on the MAC, not on the hash.
TEST(SinchVectors, ContentMd5OfEveryApplicationVectorIsTheBodyDigest) {
  for (const json& v : LoadVectors()) {
    if (VariantOf(v) != "application") continue;
    const json& in = v.at("inputs");
    EXPECT_EQ(Base64Encode(*Digest(HashAlgorithm::kMd5,
                                  in.at("body").get<std::string>())),
              in.at("content_md5").get<std::string>());
  }
}

// The tampered-body vector replayed with the original Content-MD5 (the one
// Sinch signed) is caught by the payload hash before the MAC.
TEST(SinchVectors, TamperedVectorWithOriginalContentMd5IsPayloadMismatch) {
  const json vectors = LoadVectors();
  ASSERT_EQ(vectors.size(),
            kApplicationVectors + kNonceVectors + kNumbersVectors);
  const json& tampered = vectors.at(2);
  ASSERT_NE(tampered.at("note").get<std::string>().find("Tampered"),
            std::string::npos);
  std::unique_ptr<SignatureVerifier> verifier = Make(ConfigFor(tampered));
  ASSERT_NE(verifier, nullptr);
  InboundWebhook hook = HookFor(tampered, "application");
  SetHeader(&hook, "Content-MD5", "COfYO/MKetfU00r0d5TxkA==");
  EXPECT_EQ(ReasonOf(*verifier, hook, NowFor(tampered, "application")),
            RejectReason::kPayloadHashMismatch);
}

// ---------------------------------------------------------------------------
// application

constexpr int64_t kAppNow = 1705655968;  // 2024-01-19T09:19:28Z
constexpr char kAppTimestamp[] = "2024-01-19T09:19:28.9372196Z";
constexpr char kAppBody[] = R"({"event":"ace","callid":"c1","version":1})";
// Raw keys; the configured secrets are their base64.
constexpr char kAppKeyBytesA[] = "application-secret-A";
constexpr char kAppKeyBytesB[] = "application-secret-B";

struct AppRequest {
  std::string method = "POST";
  std::string target = "/sinch/callback/ace";
  std::optional<std::string> content_type = "application/json";
  std::string timestamp = kAppTimestamp;
  std::string body = kAppBody;
  std::string key = kAppKey;
  std::string secret = kAppKeyBytesA;  // raw HMAC key
  bool send_md5 = true;
};

// Signs like Sinch does (docs/signatures.md §7.1), written out independently.
InboundWebhook SignedApp(const AppRequest& r) {
  const std::string md5 =
      r.body.empty() ? "" : Base64Encode(*Digest(HashAlgorithm::kMd5, r.body));
  const std::string path = r.target.substr(0, r.target.find('?'));
  const std::string to_sign = r.method + "\n" + md5 + "\n" +
                              r.content_type.value_or("") + "\n" +
                              "x-timestamp:" + r.timestamp + "\n" + path;
  const std::string sig =
      Base64Encode(*Hmac(HashAlgorithm::kSha256, r.secret, to_sign));
  InboundWebhook hook;
  hook.method = r.method;
  hook.target = r.target;
  hook.body = r.body;
  hook.headers = {{"Authorization", "Application " + r.key + ":" + sig},
                  {"x-timestamp", r.timestamp}};
  if (r.content_type)
    hook.headers.emplace_back("Content-Type", *r.content_type);
  if (r.send_md5) hook.headers.emplace_back("Content-MD5", md5);
  return hook;
}

SignatureConfig AppConfig(std::vector<std::string> raw_keys = {kAppKeyBytesA},
                          int64_t tolerance_s = 300) {
  SignatureConfig config;
  config.variant = "application";
  config.application_key = kAppKey;
  config.tolerance_s = tolerance_s;
  for (const std::string& k : raw_keys) {
    config.secrets.push_back(Base64Encode(k));
  }
  return config;
}

TEST(SinchApplication, AcceptsASignedRequest) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  SignatureCheck check = Check(*verifier, SignedApp({}), kAppNow);
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.secret_index, 0);
  EXPECT_EQ(check.event_id, "");
}

TEST(SinchApplication, ReportsWhichSecretMatched) {
  auto verifier = Make(AppConfig({kAppKeyBytesA, kAppKeyBytesB}));
  ASSERT_NE(verifier, nullptr);
  EXPECT_EQ(verifier->secret_count(), 2u);
  AppRequest old_secret, new_secret;
  new_secret.secret = kAppKeyBytesB;
  EXPECT_EQ(Check(*verifier, SignedApp(old_secret), kAppNow).secret_index, 0);
  EXPECT_EQ(Check(*verifier, SignedApp(new_secret), kAppNow).secret_index, 1);
  AppRequest other;
  other.secret = "some other secret";
  EXPECT_EQ(ReasonOf(*verifier, SignedApp(other), kAppNow),
            RejectReason::kMismatch);
}

TEST(SinchApplication, OtherApplicationKeyIsKeyMismatch) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  AppRequest r;
  r.key = "00000000-0000-0000-0000-000000000000";
  EXPECT_EQ(ReasonOf(*verifier, SignedApp(r), kAppNow),
            RejectReason::kKeyMismatch);
  r.key = "669e367e-6bba-48ab-af15-266871c28135";  // compared exactly
  EXPECT_EQ(ReasonOf(*verifier, SignedApp(r), kAppNow),
            RejectReason::kKeyMismatch);
  r.key = std::string(kAppKey) + "0";
  EXPECT_EQ(ReasonOf(*verifier, SignedApp(r), kAppNow),
            RejectReason::kKeyMismatch);
}

TEST(SinchApplication, SchemeWordIsCaseInsensitive) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  for (std::string scheme : {"application", "APPLICATION", "aPpLiCaTiOn"}) {
    InboundWebhook hook = SignedApp({});
    std::string auth(*hook.Header("Authorization"));
    SetHeader(&hook, "Authorization", scheme + auth.substr(11));
    EXPECT_TRUE(Check(*verifier, hook, kAppNow).valid) << scheme;
  }
}

TEST(SinchApplication, BasicAndMalformedAuthorizationAreBadEncoding) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  const std::string auth_ok(*SignedApp({}).Header("Authorization"));
  const std::string sig = auth_ok.substr(auth_ok.find(':') + 1);
  ASSERT_EQ(Base64Decode(sig)->size(), 32u);
  const std::string key = kAppKey;
  const std::string secret_b64 = Base64Encode(kAppKeyBytesA);
  for (const std::string& auth : {
           "Basic " + key + ":" + secret_b64,  // docs allow; refused
           "Basic " + Base64Encode(key + ":" + secret_b64),
           "Bearer " + key + ":" + sig,
           std::string("Application"),                  // no credentials
           "Application " + key,                        // no ':'
           "Application  " + key + ":" + sig,           // two spaces
           "Application " + key + ":" + sig + " ",      // trailing space
           "Application\t" + key + ":" + sig,           // tab
           "Application :" + sig,                       // empty key
           "Application " + key + ":",                  // empty signature
           "Application " + key + ":" + sig + ":x",     // two ':'
           "Application " + key + ":" + sig + "!",      // not base64
           "Application " + key + ":" + sig.substr(4),  // 29 bytes
           "Application " + key + ":" + Base64Encode(std::string(33, 'x')),
           "Application" + key + ":" + sig,
       }) {
    InboundWebhook hook = SignedApp({});
    SetHeader(&hook, "Authorization", auth);
    EXPECT_EQ(ToString(ReasonOf(*verifier, hook, kAppNow)), "bad_encoding")
        << auth;
  }
}

TEST(SinchApplication, MissingAndRepeatedHeaders) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  for (std::string_view name : {"Authorization", "x-timestamp"}) {
    InboundWebhook hook = SignedApp({});
    RemoveHeader(&hook, name);
    EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMissingHeader)
        << name;
    hook = SignedApp({});
    SetHeader(&hook, name, "");
    EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMissingHeader)
        << name;
  }
  for (std::string_view name :
       {"Authorization", "x-timestamp", "Content-Type", "Content-MD5"}) {
    InboundWebhook hook = SignedApp({});
    RepeatHeader(&hook, name);
    EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow),
              RejectReason::kDuplicateHeader)
        << name;
  }
}

TEST(SinchApplication, HeaderNamesAreCaseInsensitive) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  InboundWebhook hook = SignedApp({});
  for (auto& [name, value] : hook.headers) {
    std::transform(name.begin(), name.end(), name.begin(), [](char c) {
      return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    });
  }
  EXPECT_TRUE(Check(*verifier, hook, kAppNow).valid);
}

TEST(SinchApplication, ContentMd5) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  // Tampered body, header kept: the hash no longer matches.
  InboundWebhook hook = SignedApp({});
  hook.body += " ";
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow),
            RejectReason::kPayloadHashMismatch);
  // Tampered body and a recomputed header: the MAC still covers the hash.
  SetHeader(&hook, "Content-MD5",
            Base64Encode(*Digest(HashAlgorithm::kMd5, hook.body)));
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
  // Tampered body, no header: the hash derived from the body fails the MAC.
  RemoveHeader(&hook, "Content-MD5");
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
  // The header is optional: the signed line is derived from the body.
  AppRequest no_md5;
  no_md5.send_md5 = false;
  EXPECT_TRUE(Check(*verifier, SignedApp(no_md5), kAppNow).valid);
  // A header that is not the body's digest, even unpadded, is refused.
  hook = SignedApp({});
  std::string md5(*hook.Header("Content-MD5"));
  SetHeader(&hook, "Content-MD5", md5.substr(0, md5.size() - 2));
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow),
            RejectReason::kPayloadHashMismatch);
}

TEST(SinchApplication, EmptyBodySignsAnEmptyMd5Line) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  AppRequest r;
  r.body = "";
  r.send_md5 = false;
  EXPECT_TRUE(Check(*verifier, SignedApp(r), kAppNow).valid);
  // A Content-MD5 header, when sent, must still be the true digest.
  InboundWebhook hook = SignedApp(r);
  SetHeader(&hook, "Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==");  // MD5("")
  EXPECT_TRUE(Check(*verifier, hook, kAppNow).valid);
  SetHeader(&hook, "Content-MD5", "");
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow),
            RejectReason::kPayloadHashMismatch);
}

TEST(SinchApplication, SignedFieldsMatchByteForByte) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  // Content-Type is signed verbatim, charset included.
  InboundWebhook hook = SignedApp({});
  SetHeader(&hook, "Content-Type", "application/json; charset=utf-8");
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
  // An absent Content-Type signs as the empty string.
  AppRequest no_type;
  no_type.content_type.reset();
  EXPECT_TRUE(Check(*verifier, SignedApp(no_type), kAppNow).valid);
  hook = SignedApp({});
  RemoveHeader(&hook, "Content-Type");
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
  // The method.
  hook = SignedApp({});
  hook.method = "PUT";
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
  // The path; the query is not signed.
  hook = SignedApp({});
  hook.target = "/sinch/callback/dice";
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
  hook = SignedApp({});
  hook.target += "?added=1";
  EXPECT_TRUE(Check(*verifier, hook, kAppNow).valid);
  AppRequest with_query;
  with_query.target = "/cb?a=1&b=2";
  EXPECT_TRUE(Check(*verifier, SignedApp(with_query), kAppNow).valid);
  // The x-timestamp value, verbatim: fewer fraction digits, same second.
  hook = SignedApp({});
  SetHeader(&hook, "x-timestamp", "2024-01-19T09:19:28.937Z");
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow), RejectReason::kMismatch);
}

TEST(SinchApplication, StaleAndFuture) {
  auto verifier = Make(AppConfig({kAppKeyBytesA}, 300));
  ASSERT_NE(verifier, nullptr);
  InboundWebhook hook = SignedApp({});
  EXPECT_TRUE(Check(*verifier, hook, kAppNow + 300).valid);
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow + 301), RejectReason::kStale);
  EXPECT_TRUE(Check(*verifier, hook, kAppNow - 300).valid);
  EXPECT_EQ(ReasonOf(*verifier, hook, kAppNow - 301), RejectReason::kFuture);
  EXPECT_EQ(ReasonOf(*verifier, hook, std::numeric_limits<int64_t>::max()),
            RejectReason::kStale);
  EXPECT_EQ(ReasonOf(*verifier, hook, std::numeric_limits<int64_t>::min()),
            RejectReason::kFuture);
}

TEST(SinchApplication, FreshnessIsCheckedBeforeTheMac) {
  auto verifier = Make(AppConfig());
  ASSERT_NE(verifier, nullptr);
  AppRequest forged;
  forged.secret = "not the secret";
  EXPECT_EQ(ReasonOf(*verifier, SignedApp(forged), kAppNow + 3600),
            RejectReason::kStale);
  forged.timestamp = "yesterday";
  EXPECT_EQ(ReasonOf(*verifier, SignedApp(forged), kAppNow),
            RejectReason::kBadTimestamp);
}

struct IsoCase {
  const char* text;
  bool ok;
};

// Tolerance 0 pins the parse to the second: valid at exactly the parsed
// second (fractions truncate), stale one second later, future one before.
TEST(SinchApplication, IsoTimestampTable) {
  auto verifier = Make(AppConfig({kAppKeyBytesA}, 0));
  ASSERT_NE(verifier, nullptr);
  const IsoCase kCases[] = {
      {"2014-06-02T15:39:31Z", true},
      {"2014-06-02T15:39:31.2Z", true},
      {"2014-06-02T15:39:31.27Z", true},
      {"2014-06-02T15:39:31.999Z", true},
      {"2014-06-02T15:39:31.2729234Z", true},  // 7 digits, as Sinch sends
      {"2014-06-02T15:39:31.0000000Z", true},
      {"1970-01-01T00:00:00Z", true},
      {"1969-12-31T23:59:59.9999999Z", true},
      {"2000-02-29T12:00:00Z", true},  // divisible by 400: leap
      {"2016-02-29T23:59:59Z", true},
      {"2024-12-31T23:59:59Z", true},
      {"9999-12-31T23:59:59Z", true},
      {"0001-01-01T00:00:00Z", true},
      {"2014-06-02T15:39:31.27292345Z", false},  // 8 fraction digits
      {"2014-06-02T15:39:31.Z", false},          // '.' without digits
      {"2014-06-02T15:39:31", false},            // no zone
      {"2014-06-02T15:39:31.2729234", false},
      {"2014-06-02T15:39:31+00:00", false},  // offsets refused, Z required
      {"2014-06-02T15:39:31.27+00:00", false},
      {"2014-06-02T15:39:31z", false},  // lowercase zone
      {"2014-06-02t15:39:31Z", false},  // lowercase T
      {"2014-06-02 15:39:31Z", false},
      {"2014-06-02T15:39Z", false},  // no seconds
      {"2014-06-02", false},
      {"2014-6-2T15:39:31Z", false},
      {"14-06-02T15:39:31Z", false},
      {"+2014-06-02T15:39:31Z", false},
      {" 2014-06-02T15:39:31Z", false},
      {"2014-06-02T15:39:31Z ", false},
      {"2014-06-02T15:39:31ZZ", false},
      {"20140602T153931Z", false},      // basic format
      {"2014-02-29T00:00:00Z", false},  // not a leap year
      {"1900-02-29T00:00:00Z", false},  // divisible by 100: not leap
      {"2014-04-31T00:00:00Z", false},
      {"2014-13-01T00:00:00Z", false},
      {"2014-00-10T00:00:00Z", false},
      {"2014-06-00T00:00:00Z", false},
      {"2014-06-32T00:00:00Z", false},
      {"2014-06-02T24:00:00Z", false},
      {"2014-06-02T23:60:00Z", false},
      {"2014-06-02T23:59:60Z", false},  // no leap seconds
      {"2014-06-02T1a:39:31Z", false},
      {"2014-06-02T-1:39:31Z", false},
      {"1402265971", false},  // Unix seconds are not ISO-8601
      {"x-timestamp:2014-06-02T15:39:31Z", false},
  };
  for (const IsoCase& c : kCases) {
    AppRequest r;
    r.timestamp = c.text;
    InboundWebhook hook = SignedApp(r);
    if (!c.ok) {
      EXPECT_EQ(ToString(ReasonOf(*verifier, hook, kAppNow)), "bad_timestamp")
          << c.text;
      continue;
    }
    const int64_t t = UnixOf(c.text);
    EXPECT_TRUE(Check(*verifier, hook, t).valid) << c.text;
    EXPECT_EQ(ReasonOf(*verifier, hook, t + 1), RejectReason::kStale) << c.text;
    EXPECT_EQ(ReasonOf(*verifier, hook, t - 1), RejectReason::kFuture)
        << c.text;
  }
  // Spot checks of the oracle itself.
  EXPECT_EQ(UnixOf("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(UnixOf("2014-09-24T10:59:41Z"), 1411556381);
  EXPECT_EQ(UnixOf("9999-12-31T23:59:59Z"), 253402300799);
}

// ---------------------------------------------------------------------------
// nonce

constexpr int64_t kNonceNow = 1736760161;
constexpr char kNonce[] = "01JHFFHWYY7HSS4FWTMDTQEK8V";
constexpr char kNonceBody[] = R"({"batch_id":"b1","status":"Delivered"})";

struct NonceRequest {
  std::string body = kNonceBody;
  std::string nonce = kNonce;
  std::string timestamp = std::to_string(kNonceNow);
  std::string algorithm = "HmacSHA256";
  std::string secret = "SMSWebhooksSecret";
};

InboundWebhook SignedNonce(const NonceRequest& r) {
  const std::string sig =
      Base64Encode(*Hmac(HashAlgorithm::kSha256, r.secret,
                        r.body + "." + r.nonce + "." + r.timestamp));
  InboundWebhook hook;
  hook.method = "POST";
  hook.target = "/sinch/sms";
  hook.body = r.body;
  hook.headers = {{"x-sinch-webhook-signature", sig},
                  {"x-sinch-webhook-signature-algorithm", r.algorithm},
                  {"x-sinch-webhook-signature-nonce", r.nonce},
                  {"x-sinch-webhook-signature-timestamp", r.timestamp}};
  return hook;
}

SignatureConfig NonceConfig(
    std::vector<std::string> secrets = {"SMSWebhooksSecret"},
    int64_t tolerance_s = 300) {
  SignatureConfig config;
  config.variant = "nonce";
  config.secrets = std::move(secrets);
  config.tolerance_s = tolerance_s;
  return config;
}

TEST(SinchNonce, AcceptsAndReportsTheNonceAsEventId) {
  auto verifier = Make(NonceConfig());
  ASSERT_NE(verifier, nullptr);
  SignatureCheck check = Check(*verifier, SignedNonce({}), kNonceNow);
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.secret_index, 0);
  EXPECT_EQ(check.event_id, kNonce);
  // Rejections after the nonce is read carry it too, for logs.
  InboundWebhook hook = SignedNonce({});
  hook.body += "x";
  check = Check(*verifier, hook, kNonceNow);
  EXPECT_EQ(check.reason, RejectReason::kMismatch);
  EXPECT_EQ(check.event_id, kNonce);
}

TEST(SinchNonce, SecretIsRawBytesAndRotationIsReported) {
  auto verifier = Make(NonceConfig({"old-secret", "SMSWebhooksSecret"}));
  ASSERT_NE(verifier, nullptr);
  EXPECT_EQ(Check(*verifier, SignedNonce({}), kNonceNow).secret_index, 1);
  NonceRequest old;
  old.secret = "old-secret";
  EXPECT_EQ(Check(*verifier, SignedNonce(old), kNonceNow).secret_index, 0);
  // A base64-looking secret is not decoded.
  auto b64 = Make(NonceConfig({Base64Encode("raw")}));
  ASSERT_NE(b64, nullptr);
  NonceRequest decoded;
  decoded.secret = "raw";
  EXPECT_EQ(ReasonOf(*b64, SignedNonce(decoded), kNonceNow),
            RejectReason::kMismatch);
  decoded.secret = Base64Encode("raw");
  EXPECT_TRUE(Check(*b64, SignedNonce(decoded), kNonceNow).valid);
}

TEST(SinchNonce, AlgorithmMustBeHmacSha256) {
  auto verifier = Make(NonceConfig());
  ASSERT_NE(verifier, nullptr);
  for (std::string alg : {"HmacSHA1", "HmacSHA512", "hmacsha256", "HMACSHA256",
                          "sha256", "HmacSHA256 ", "none"}) {
    NonceRequest r;
    r.algorithm = alg;
    EXPECT_EQ(ReasonOf(*verifier, SignedNonce(r), kNonceNow),
              RejectReason::kBadEncoding)
        << alg;
  }
}

TEST(SinchNonce, MissingAndRepeatedHeaders) {
  auto verifier = Make(NonceConfig());
  ASSERT_NE(verifier, nullptr);
  for (std::string_view name :
       {"x-sinch-webhook-signature", "x-sinch-webhook-signature-algorithm",
        "x-sinch-webhook-signature-nonce",
        "x-sinch-webhook-signature-timestamp"}) {
    InboundWebhook hook = SignedNonce({});
    RemoveHeader(&hook, name);
    EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow),
              RejectReason::kMissingHeader)
        << name;
    hook = SignedNonce({});
    SetHeader(&hook, name, "");
    EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow),
              RejectReason::kMissingHeader)
        << name;
    hook = SignedNonce({});
    RepeatHeader(&hook, name);
    EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow),
              RejectReason::kDuplicateHeader)
        << name;
  }
}

TEST(SinchNonce, BadSignatureEncoding) {
  auto verifier = Make(NonceConfig());
  ASSERT_NE(verifier, nullptr);
  const std::string good(*SignedNonce({}).Header("x-sinch-webhook-signature"));
  for (std::string sig :
       {good + "!", good.substr(4), std::string("abc"),
        Base64Encode(std::string(20, 'x')), HexEncode(std::string(32, 'x'))}) {
    InboundWebhook hook = SignedNonce({});
    SetHeader(&hook, "x-sinch-webhook-signature", sig);
    EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow), RejectReason::kBadEncoding)
        << sig;
  }
}

// body + "." + nonce + "." + ts is ambiguous when the nonce holds a '.':
// the tail of a signed body could move into the nonce under the same MAC.
TEST(SinchNonce, NonceWithADotIsRefused) {
  auto verifier = Make(NonceConfig());
  ASSERT_NE(verifier, nullptr);
  NonceRequest signed_request;
  signed_request.body = R"({"a":1.5})";
  signed_request.nonce = "N";
  InboundWebhook hook = SignedNonce(signed_request);
  ASSERT_TRUE(Check(*verifier, hook, kNonceNow).valid);
  hook.body = R"({"a":1)";
  SetHeader(&hook, "x-sinch-webhook-signature-nonce", R"(5}.N)");
  EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow), RejectReason::kBadEncoding);
}

TEST(SinchNonce, TimestampFormatAndWindow) {
  auto verifier = Make(NonceConfig({"SMSWebhooksSecret"}, 300));
  ASSERT_NE(verifier, nullptr);
  InboundWebhook hook = SignedNonce({});
  EXPECT_TRUE(Check(*verifier, hook, kNonceNow + 300).valid);
  EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow + 301), RejectReason::kStale);
  EXPECT_TRUE(Check(*verifier, hook, kNonceNow - 300).valid);
  EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow - 301), RejectReason::kFuture);
  EXPECT_EQ(ReasonOf(*verifier, hook, std::numeric_limits<int64_t>::min()),
            RejectReason::kFuture);
  for (std::string ts :
       {"-1736760161", "+1736760161", "1736760161.0", "1736760161 ",
        "0x6784dc61", "2025-01-13T09:22:41Z", "1234567890123456789"}) {
    NonceRequest r;
    r.timestamp = ts;
    EXPECT_EQ(ReasonOf(*verifier, SignedNonce(r), kNonceNow),
              RejectReason::kBadTimestamp)
        << ts;
  }
  // Leading zeros are digits: the value is the same second, signed as sent.
  NonceRequest padded;
  padded.timestamp = "0" + std::to_string(kNonceNow);
  EXPECT_TRUE(Check(*verifier, SignedNonce(padded), kNonceNow).valid);
}

TEST(SinchNonce, ZeroToleranceMeansTheSameSecond) {
  auto verifier = Make(NonceConfig({"SMSWebhooksSecret"}, 0));
  ASSERT_NE(verifier, nullptr);
  InboundWebhook hook = SignedNonce({});
  EXPECT_TRUE(Check(*verifier, hook, kNonceNow).valid);
  EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow + 1), RejectReason::kStale);
  EXPECT_EQ(ReasonOf(*verifier, hook, kNonceNow - 1), RejectReason::kFuture);
}

// ---------------------------------------------------------------------------
// numbers

constexpr char kNumbersBody[] = R"({"eventId":"e1","status":"SUCCEEDED"})";

InboundWebhook SignedNumbers(std::string_view secret,
                             std::string body = kNumbersBody) {
  InboundWebhook hook;
  hook.method = "POST";
  hook.target = "/sinch/numbers";
  hook.headers = {{"X-Sinch-Signature",
                   HexEncode(*Hmac(HashAlgorithm::kSha1, secret, body))}};
  hook.body = std::move(body);
  return hook;
}

SignatureConfig NumbersConfig(std::vector<std::string> secrets = {
                                  "my-callback-secret"}) {
  SignatureConfig config;
  config.variant = "numbers";
  config.secrets = std::move(secrets);
  return config;
}

TEST(SinchNumbers, AcceptsEitherHexCaseAndIgnoresTime) {
  auto verifier = Make(NumbersConfig());
  ASSERT_NE(verifier, nullptr);
  InboundWebhook hook = SignedNumbers("my-callback-secret");
  EXPECT_TRUE(Check(*verifier, hook, 0).valid);
  EXPECT_TRUE(
      Check(*verifier, hook, std::numeric_limits<int64_t>::max()).valid);
  std::string upper(*hook.Header("X-Sinch-Signature"));
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
    return c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c;
  });
  SetHeader(&hook, "x-sinch-signature", upper);
  EXPECT_TRUE(Check(*verifier, hook, 0).valid);
  EXPECT_EQ(Check(*verifier, hook, 0).event_id, "");
}

TEST(SinchNumbers, RotationTamperingAndEncoding) {
  auto verifier = Make(NumbersConfig({"old", "my-callback-secret"}));
  ASSERT_NE(verifier, nullptr);
  EXPECT_EQ(Check(*verifier, SignedNumbers("old"), 0).secret_index, 0);
  EXPECT_EQ(
      Check(*verifier, SignedNumbers("my-callback-secret"), 0).secret_index, 1);
  InboundWebhook hook = SignedNumbers("my-callback-secret");
  hook.body += " ";
  EXPECT_EQ(ReasonOf(*verifier, hook, 0), RejectReason::kMismatch);

  const std::string good(*SignedNumbers("old").Header("X-Sinch-Signature"));
  for (std::string sig : {good.substr(1), good + "00", good.substr(0, 39) + "g",
                          Base64Encode(std::string(20, 'x')), "sha1=" + good}) {
    hook = SignedNumbers("old");
    SetHeader(&hook, "X-Sinch-Signature", sig);
    EXPECT_EQ(ReasonOf(*verifier, hook, 0), RejectReason::kBadEncoding) << sig;
  }
  hook = SignedNumbers("old");
  RemoveHeader(&hook, "X-Sinch-Signature");
  EXPECT_EQ(ReasonOf(*verifier, hook, 0), RejectReason::kMissingHeader);
  hook = SignedNumbers("old");
  SetHeader(&hook, "X-Sinch-Signature", "");
  EXPECT_EQ(ReasonOf(*verifier, hook, 0), RejectReason::kMissingHeader);
  hook = SignedNumbers("old");
  RepeatHeader(&hook, "x-sinch-signature");
  EXPECT_EQ(ReasonOf(*verifier, hook, 0), RejectReason::kDuplicateHeader);
}

// ---------------------------------------------------------------------------
// factory

TEST(SinchFactory, Variant) {
  SignatureConfig config = NumbersConfig();
  config.variant = "x";
  EXPECT_EQ(FactoryError(config),
            "variant: \"x\" is not one of application, nonce, numbers");
  config.variant = "";
  EXPECT_EQ(FactoryError(config),
            "variant: \"\" is not one of application, nonce, numbers");
  config.variant = "Numbers";
  EXPECT_EQ(FactoryError(config),
            "variant: \"Numbers\" is not one of application, nonce, numbers");
}

TEST(SinchFactory, ApplicationKey) {
  SignatureConfig config = AppConfig();
  config.application_key = "";
  EXPECT_EQ(FactoryError(config), "application_key: required");
  config.application_key = "key:with-colon";
  EXPECT_EQ(FactoryError(config),
            "application_key: must not contain ':' or whitespace");
  // Only the application variant needs one.
  EXPECT_NE(Make(NonceConfig()), nullptr);
  EXPECT_NE(Make(NumbersConfig()), nullptr);
}

TEST(SinchFactory, Secrets) {
  SignatureConfig config = AppConfig({kAppKeyBytesA});
  config.secrets.push_back("");
  EXPECT_EQ(FactoryError(config), "secrets[1]: empty secret");
  for (std::string bad : {"!!!!", "a", "abcde", "QUJD=x", "QU JD", "===="}) {
    config.secrets = {Base64Encode("ok"), bad};
    const std::string message = FactoryError(config);
    EXPECT_EQ(message, "secrets[1]: not valid base64") << bad;
  }
  config.secrets = {};
  EXPECT_EQ(FactoryError(config), "secrets: at least one secret is required");
  for (SignatureConfig raw : {NonceConfig(), NumbersConfig()}) {
    raw.secrets = {"ok", ""};
    EXPECT_EQ(FactoryError(raw), "secrets[1]: empty secret");
    raw.secrets = {"!!!! not base64, used raw"};
    EXPECT_NE(Make(raw), nullptr);
  }
}

// Unpadded and URL-safe base64 decode (the SDK test secrets "9876543210"
// and "app-secret" need it); the vectors pin the resulting keys.
TEST(SinchFactory, ApplicationSecretDecodingIsLenientOnlyWherePinned) {
  const std::string raw = "\xfb\xff\xbf";  // "+/+/" in base64, "-_-_" url
  for (std::string secret : {"-_-_", "+/+/", "-/+_"}) {
    SignatureConfig config = AppConfig();
    config.secrets = {secret};
    auto verifier = Make(config);
    ASSERT_NE(verifier, nullptr) << secret;
    AppRequest r;
    r.secret = raw;
    EXPECT_TRUE(Check(*verifier, SignedApp(r), kAppNow).valid) << secret;
  }
}

TEST(SinchFactory, ToleranceMustNotBeNegative) {
  EXPECT_EQ(FactoryError(AppConfig({kAppKeyBytesA}, -1)),
            "tolerance_s: must be >= 0");
  EXPECT_EQ(FactoryError(NonceConfig({"s"}, -1)), "tolerance_s: must be >= 0");
  SignatureConfig numbers = NumbersConfig();
  numbers.tolerance_s = -1;  // numbers has no timestamp
  EXPECT_NE(Make(numbers), nullptr);
}

TEST(SinchFactory, ReasonsPerVariant) {
  auto sorted = [](std::vector<RejectReason> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  using R = RejectReason;
  EXPECT_EQ(sorted(Make(AppConfig())->Reasons()),
            sorted({R::kMissingHeader, R::kDuplicateHeader, R::kBadEncoding,
                    R::kKeyMismatch, R::kBadTimestamp, R::kStale, R::kFuture,
                    R::kPayloadHashMismatch, R::kMismatch}));
  EXPECT_EQ(sorted(Make(NonceConfig())->Reasons()),
            sorted({R::kMissingHeader, R::kDuplicateHeader, R::kBadEncoding,
                    R::kBadTimestamp, R::kStale, R::kFuture, R::kMismatch}));
  EXPECT_EQ(sorted(Make(NumbersConfig())->Reasons()),
            sorted({R::kMissingHeader, R::kDuplicateHeader, R::kBadEncoding,
                    R::kMismatch}));
}

TEST(SinchFactory, DirectFactoryMatchesTheSchemeTable) {
  Result<std::unique_ptr<SignatureVerifier>> direct =
      MakeSinchVerifier(NumbersConfig());
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE(
      Check(*direct.value(), SignedNumbers("my-callback-secret"), 0).valid);
}

}  // namespace
}  // namespace dlrd
