// Stripe `Stripe-Signature` (docs/signatures.md §5).
//
// 1. Every stripe vector of the shared vector file, copied verbatim to
//    src/core/providers/stripe/testdata/vectors/stripe.json, run through MakeSignatureVerifier.
// 2. Table-driven rules: tolerance edges (past and future), v1-only parsing,
//    rotation, hex case, garbage items, repeated `t`, the raw whsec_ secret,
//    and the configurations the factory refuses.
// MACs in the rule table were computed independently with Python's hmac.
#include "core/providers/stripe/stripe_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
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
using Headers = std::vector<std::pair<std::string, std::string>>;
using R = RejectReason;

// ---------------------------------------------------------------------------
// Vectors

constexpr size_t kStripeVectors = 6;  // 3 valid, 3 invalid

json LoadVectors() {
  std::ifstream in(std::string(DLRD_TEST_DATA_DIR) + "/vectors/stripe.json");
  EXPECT_TRUE(in.is_open());
  if (!in.is_open()) return json::array();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

SignatureConfig StripeConfig(std::vector<std::string> secrets,
                             int64_t tolerance_s = 300) {
  SignatureConfig c;
  c.scheme = "stripe";
  c.secrets = std::move(secrets);
  c.tolerance_s = tolerance_s;
  return c;
}

InboundWebhook Hook(Headers headers, std::string body) {
  InboundWebhook hook;
  hook.method = "POST";
  hook.headers = std::move(headers);
  hook.body = std::move(body);
  return hook;
}

// The reason each negative vector must produce, read from its note.
RejectReason ExpectedReason(const json& v) {
  const std::string note = v.at("note").get<std::string>();
  if (note.find("Stale") != std::string::npos) return R::kStale;
  if (note.find("Only a v0") != std::string::npos) return R::kBadEncoding;
  return R::kMismatch;  // wrong secret
}

TEST(StripeVectorsTest, LoadsEveryCopiedVectorByteExact) {
  json vectors = LoadVectors();
  ASSERT_TRUE(vectors.is_array());
  ASSERT_EQ(vectors.size(), kStripeVectors);
  for (const json& v : vectors) {
    SCOPED_TRACE(v.at("note").get<std::string>());
    EXPECT_TRUE(v.at("scheme").get<std::string>().starts_with("stripe"));
    EXPECT_TRUE(v.at("recomputed_ok").get<bool>());
    const json& in = v.at("inputs");
    const std::string body = in.at("body").get<std::string>();
    // The copy kept every byte of the body (trailing newline included).
    EXPECT_EQ(body.size(), in.at("body_len_bytes").get<size_t>());
    EXPECT_EQ(HexEncode(*Digest(HashAlgorithm::kSha256, body)),
              in.at("body_sha256_hex").get<std::string>());
    EXPECT_EQ(in.at("Stripe-Signature"), v.at("expected_signature"));
  }
}

TEST(StripeVectorsTest, EveryVectorVerifiesAsExpected) {
  json vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), kStripeVectors);
  int valid_count = 0, invalid_count = 0;
  for (const json& v : vectors) {
    SCOPED_TRACE(v.at("source").get<std::string>() + " | " +
                 v.at("note").get<std::string>());
    const json& in = v.at("inputs");
    auto verifier = MakeSignatureVerifier(
        StripeConfig({v.at("secret").get<std::string>()},
                     in.at("tolerance_s").get<int64_t>()));
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    InboundWebhook hook = Hook(
        {{"Stripe-Signature", in.at("Stripe-Signature").get<std::string>()}},
        in.at("body").get<std::string>());

    SignatureCheck check =
        verifier.value()->Verify(hook, in.at("now_unix").get<int64_t>());

    const bool valid = v.at("valid").get<bool>();
    EXPECT_EQ(check.valid, valid) << ToString(check.reason);
    if (valid) {
      EXPECT_EQ(ToString(check.reason), "none");
      EXPECT_EQ(check.secret_index, 0);
      ++valid_count;
    } else {
      EXPECT_EQ(ToString(check.reason), ToString(ExpectedReason(v)));
      EXPECT_EQ(check.secret_index, -1);
      ++invalid_count;
    }
    EXPECT_EQ(check.event_id, "");
  }
  EXPECT_EQ(valid_count, 3);
  EXPECT_EQ(invalid_count, 3);
}

// The first vector (async-stripe, secret "webhook_secret") with its body
// minus the trailing newline: the raw bytes are signed, not the JSON value.
TEST(StripeVectorsTest, BodyWithoutTrailingNewlineIsMismatch) {
  json vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), kStripeVectors);
  const json& in = vectors.at(0).at("inputs");
  std::string body = in.at("body").get<std::string>();
  ASSERT_TRUE(body.ends_with("\n"));
  body.pop_back();
  auto verifier = MakeSignatureVerifier(StripeConfig({"webhook_secret"}));
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  InboundWebhook hook =
      Hook({{"Stripe-Signature", in.at("Stripe-Signature").get<std::string>()}},
           body);
  SignatureCheck check =
      verifier.value()->Verify(hook, in.at("now_unix").get<int64_t>());
  EXPECT_FALSE(check.valid);
  EXPECT_EQ(ToString(check.reason), "mismatch");
}

// stripe-python's test secret "whsec_test_secret" is not base64 after the
// prefix ('_' is outside the alphabet): a verifier that decoded it, as
// Standard Webhooks does, could not even be built, yet the vector verifies.
TEST(StripeVectorsTest, WhsecSecretIsUsedRawNotBase64Decoded) {
  EXPECT_FALSE(Base64Decode("test_secret").has_value());
  SignatureConfig sw;
  sw.scheme = "standard-webhooks";
  sw.secrets = {"whsec_test_secret"};
  EXPECT_FALSE(MakeSignatureVerifier(sw).ok());

  json vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), kStripeVectors);
  const json& v = vectors.at(5);
  ASSERT_EQ(v.at("secret"), "whsec_test_secret");
  const json& in = v.at("inputs");
  auto verifier = MakeSignatureVerifier(StripeConfig({"whsec_test_secret"}));
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  SignatureCheck check = verifier.value()->Verify(
      Hook({{"Stripe-Signature", in.at("Stripe-Signature").get<std::string>()}},
           in.at("body").get<std::string>()),
      in.at("now_unix").get<int64_t>());
  EXPECT_TRUE(check.valid) << ToString(check.reason);
}

// ---------------------------------------------------------------------------
// Rules

constexpr char kSecret[] = "whsec_test_secret";
constexpr char kRotated[] = "whsec_rotated_secret_2";
constexpr char kT[] = "1700000000";
constexpr int64_t kNow = 1700000000;
constexpr char kBody[] = "{\"id\":\"evt_1\",\"object\":\"event\"}\n";
// HMAC-SHA256 hex of "1700000000." + kBody under kSecret / kRotated.
constexpr char kSig[] =
    "914aa5cc4c8be684105292e01c5750c43fe1a45c82a7aef6b9bc9b2fc19bd7c3";
constexpr char kRotatedSig[] =
    "fa6780dfa34334aa04833af8218abe8ce120f8219c79736c3cb30a0d4aac2185";
// ... of "01700000000." + kBody under kSecret (t signed as received).
constexpr char kSigLeadingZero[] =
    "c3b6e2e4e9cff67a15a13dfb99c8815df3350f0374fff0474708437da6594742";
// A whsec_ secret whose suffix IS valid base64 (the Standard Webhooks test
// secret): the MAC under the raw string, and under the decoded suffix.
constexpr char kB64Secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kB64SecretRawSig[] =
    "51d6ec1b52963ed097af25e0e1efc5c17f7807336f5e21fb306a84eba837a68e";
constexpr char kB64SecretDecodedSig[] =
    "a938eabaee6588fcc65b3b45e153bd58b4a904412917f424f052ef856dbe5178";
// Stripe docs example header; its secret is unpublished.
constexpr char kDocsHeader[] =
    "t=1492774577,"
    "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,"
    "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";

struct Expect {
  bool valid;
  RejectReason reason;
  int secret_index;
};
constexpr Expect Ok(int index = 0) { return {true, R::kNone, index}; }
constexpr Expect No(RejectReason r) { return {false, r, -1}; }

struct Case {
  std::string name;
  Headers headers;
  Expect expect;
  int64_t now = kNow;
  SignatureConfig config = StripeConfig({kSecret});
  std::string body = kBody;
};

Headers Sig(std::string value) {
  return {{"Stripe-Signature", std::move(value)}};
}

std::string T(std::string_view t = kT) { return "t=" + std::string(t); }
std::string V1(std::string_view hex = kSig) { return "v1=" + std::string(hex); }
std::string Std() { return T() + "," + V1(); }

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return s;
}

Case WithNow(std::string name, Expect expect, int64_t now,
             int64_t tolerance_s = 300) {
  return {std::move(name), Sig(Std()), expect, now,
          StripeConfig({kSecret}, tolerance_s)};
}

Case WithSecrets(std::string name, std::string header, Expect expect,
                 std::vector<std::string> secrets) {
  return {std::move(name), Sig(std::move(header)), expect, kNow,
          StripeConfig(std::move(secrets))};
}

std::vector<Case> Cases() {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::string bad_sig(64, '0');
  const std::string sig_last_changed = std::string(kSig).substr(0, 63) + "4";
  return {
      // Baseline and header handling.
      {"signed now", Sig(Std()), Ok()},
      {"header name case-insensitive", {{"stripe-signature", Std()}}, Ok()},
      {"v1 before t", Sig(V1() + "," + T()), Ok()},
      {"missing header", {}, No(R::kMissingHeader)},
      {"other header only", {{"X-Signature", Std()}}, No(R::kMissingHeader)},
      {"empty header", Sig(""), No(R::kMissingHeader)},
      {"duplicate header",
       {{"Stripe-Signature", Std()}, {"stripe-signature", Std()}},
       No(R::kDuplicateHeader)},

      // Tolerance (default 300 s): inclusive in both directions.
      WithNow("exactly 300 s old", Ok(), kNow + 300),
      WithNow("stale by 301 s", No(R::kStale), kNow + 301),
      WithNow("exactly 300 s ahead", Ok(), kNow - 300),
      WithNow("future by 301 s", No(R::kFuture), kNow - 301),
      WithNow("tolerance 0: same second", Ok(), kNow, 0),
      WithNow("tolerance 0: 1 s old", No(R::kStale), kNow + 1, 0),
      WithNow("tolerance 0: 1 s ahead", No(R::kFuture), kNow - 1, 0),
      WithNow("tolerance 600: 600 s old", Ok(), kNow + 600, 600),
      WithNow("tolerance 600: 601 s old", No(R::kStale), kNow + 601, 600),
      WithNow("now = INT64_MAX", No(R::kStale), kMax),
      WithNow("now = INT64_MIN", No(R::kFuture), kMin),
      WithNow("now = INT64_MAX, tolerance INT64_MAX", Ok(), kMax, kMax),
      {"timestamp checked before MACs", Sig(T() + "," + V1(bad_sig)),
       No(R::kStale), kNow + 301},
      {"stale and no v1: structure first", Sig(T() + ",v0=" + kSig),
       No(R::kBadEncoding), kNow + 301},

      // The timestamp.
      {"no t", Sig(V1()), No(R::kBadTimestamp)},
      {"t empty", Sig("t=," + V1()), No(R::kBadTimestamp)},
      {"t without '='", Sig("t," + V1()), No(R::kBadTimestamp)},
      {"T is not t", Sig("T=" + std::string(kT) + "," + V1()),
       No(R::kBadTimestamp)},
      {"t negative", Sig(T("-1700000000") + "," + V1()), No(R::kBadTimestamp)},
      {"t with plus sign", Sig(T("+1700000000") + "," + V1()),
       No(R::kBadTimestamp)},
      {"t with exponent", Sig(T("17e8") + "," + V1()), No(R::kBadTimestamp)},
      {"t with fraction", Sig(T("1700000000.0") + "," + V1()),
       No(R::kBadTimestamp)},
      {"t with trailing space", Sig(T("1700000000 ") + "," + V1()),
       No(R::kBadTimestamp)},
      {"t of 19 digits", Sig(T("1000000000000000000") + "," + V1()),
       No(R::kBadTimestamp)},
      {"t signed as received (leading zero)",
       Sig(T("01700000000") + "," + V1(kSigLeadingZero)), Ok()},
      {"t is not re-printed (leading zero)", Sig(T("01700000000") + "," + V1()),
       No(R::kMismatch)},
      // Decision: a repeated t is refused, whichever comes first and even
      // when both agree (stripe-python reads the first, stripe-node the
      // last; Stripe sends one).
      {"t repeated, first signed", Sig(Std() + "," + T("1700000001")),
       No(R::kBadToken)},
      {"t repeated, second signed", Sig(T("1700000001") + "," + Std()),
       No(R::kBadToken)},
      {"t repeated, same value", Sig(Std() + "," + T()), No(R::kBadToken)},
      {"t repeated, one empty", Sig("t=," + Std()), No(R::kBadToken)},

      // v1 entries; everything else is ignored (no downgrade).
      {"v1 and v0", Sig(Std() + ",v0=" + bad_sig), Ok()},
      {"v0 only", Sig(T() + ",v0=" + kSig), No(R::kBadEncoding)},
      {"correct MAC in v0, wrong in v1",
       Sig(T() + "," + V1(bad_sig) + ",v0=" + kSig), No(R::kMismatch)},
      {"correct MAC under v2", Sig(T() + ",v2=" + kSig), No(R::kBadEncoding)},
      {"V1 is not v1", Sig(T() + ",V1=" + kSig), No(R::kBadEncoding)},
      {"v1 uppercase hex", Sig(T() + "," + V1(Upper(kSig))), Ok()},
      {"v1 mixed-case hex",
       Sig(T() + "," +
           V1(Upper(std::string(kSig).substr(0, 32)) +
              std::string(kSig).substr(32))),
       Ok()},
      {"several v1, second valid",
       Sig(T() + "," + V1(kRotatedSig) + "," + V1()), Ok()},
      {"several v1, first valid", Sig(Std() + "," + V1(kRotatedSig)), Ok()},
      {"several v1, none valid",
       Sig(T() + "," + V1(kRotatedSig) + "," + V1(bad_sig)), No(R::kMismatch)},
      {"malformed v1 skipped, later v1 valid",
       Sig(T() + ",v1=zz," + V1(std::string(kSig).substr(0, 62)) + "," + V1()),
       Ok()},
      {"v1 empty", Sig(T() + ",v1="), No(R::kBadEncoding)},
      {"v1 non-hex", Sig(T() + "," + V1(std::string(64, 'g'))),
       No(R::kBadEncoding)},
      {"v1 odd length", Sig(T() + "," + V1(std::string(kSig).substr(0, 63))),
       No(R::kBadEncoding)},
      {"v1 31 bytes", Sig(T() + "," + V1(std::string(kSig).substr(0, 62))),
       No(R::kBadEncoding)},
      {"v1 33 bytes", Sig(T() + "," + V1(std::string(kSig) + "00")),
       No(R::kBadEncoding)},
      {"v1 with '=' kept in value",
       Sig(T() + "," + V1(std::string(kSig) + "=")), No(R::kBadEncoding)},
      {"v1 with leading space is another key", Sig(T() + ", " + V1()),
       No(R::kBadEncoding)},
      {"garbage items tolerated",
       Sig(",," + T() + ",foo,=bar,x=y=z,v0=,v1=zz,v2=" + kSig + "," + V1() +
           ",,"),
       Ok()},
      {"last hex digit changed", Sig(T() + "," + V1(sig_last_changed)),
       No(R::kMismatch)},
      {"Stripe docs header, unknown secret", Sig(kDocsHeader), No(R::kMismatch),
       1492774577},

      // Body bytes.
      {"body without trailing newline", Sig(Std()), No(R::kMismatch), kNow,
       StripeConfig({kSecret}),
       std::string(kBody).substr(0, sizeof(kBody) - 2)},
      {"empty body", Sig(Std()), No(R::kMismatch), kNow,
       StripeConfig({kSecret}), ""},
      {"body with CRLF", Sig(Std()), No(R::kMismatch), kNow,
       StripeConfig({kSecret}),
       std::string(kBody).substr(0, sizeof(kBody) - 2) + "\r\n"},

      // Secrets: raw bytes, rotation in config order.
      WithSecrets("wrong secret", Std(), No(R::kMismatch), {kRotated}),
      WithSecrets("rotation: second secret matches", Std(), Ok(1),
                  {kRotated, kSecret}),
      WithSecrets("rotation: third secret matches", Std(), Ok(2),
                  {"whsec_a", "whsec_b", kSecret}),
      WithSecrets("rotation: config order wins over header order",
                  T() + "," + V1() + "," + V1(kRotatedSig), Ok(0),
                  {kRotated, kSecret}),
      WithSecrets("rotation: second v1 under second secret",
                  T() + "," + V1(bad_sig) + "," + V1(kRotatedSig), Ok(1),
                  {kSecret, kRotated}),
      WithSecrets("whsec_ prefix is part of the key", Std(), No(R::kMismatch),
                  {"test_secret"}),
      WithSecrets("whsec_ secret raw, base64-valid suffix",
                  T() + "," + V1(kB64SecretRawSig), Ok(), {kB64Secret}),
      WithSecrets("whsec_ secret base64-decoded would be wrong",
                  T() + "," + V1(kB64SecretDecodedSig), No(R::kMismatch),
                  {kB64Secret}),
  };
}

TEST(StripeRulesTest, EveryCase) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto verifier = MakeSignatureVerifier(c.config);
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    SignatureCheck check =
        verifier.value()->Verify(Hook(c.headers, c.body), c.now);
    EXPECT_EQ(check.valid, c.expect.valid);
    EXPECT_EQ(ToString(check.reason), ToString(c.expect.reason));
    EXPECT_EQ(check.secret_index, c.expect.secret_index);
    EXPECT_EQ(check.event_id, "");  // Stripe's event id is in the body
  }
}

// Every reason the rule table produces is declared by Reasons(), and every
// declared reason is produced by some case, so metrics pre-create exactly
// the series that can appear.
TEST(StripeRulesTest, ReasonsMatchWhatVerifyReturns) {
  auto verifier = MakeStripeVerifier(StripeConfig({kSecret}));
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  std::vector<RejectReason> declared = verifier.value()->Reasons();
  std::vector<RejectReason> seen;
  for (const Case& c : Cases()) {
    if (!c.expect.valid) seen.push_back(c.expect.reason);
  }
  for (RejectReason r : seen) {
    EXPECT_NE(std::find(declared.begin(), declared.end(), r), declared.end())
        << ToString(r);
  }
  for (RejectReason r : declared) {
    EXPECT_NE(r, R::kNone);
    EXPECT_NE(std::find(seen.begin(), seen.end(), r), seen.end())
        << ToString(r);
  }
}

// The table's MAC constants agree with the library primitives, so a case
// cannot pass because a constant is wrong the same way as the verifier.
TEST(StripeRulesTest, ConstantsAreIndependentlyComputed) {
  const std::string payload = std::string(kT) + "." + kBody;
  EXPECT_EQ(HexEncode(*Hmac(HashAlgorithm::kSha256, kSecret, payload)), kSig);
  EXPECT_EQ(HexEncode(*Hmac(HashAlgorithm::kSha256, kRotated, payload)),
            kRotatedSig);
  EXPECT_EQ(HexEncode(*Hmac(HashAlgorithm::kSha256, kB64Secret, payload)),
            kB64SecretRawSig);
  std::optional<std::string> decoded =
      Base64Decode(std::string_view(kB64Secret).substr(6));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(HexEncode(*Hmac(HashAlgorithm::kSha256, *decoded, payload)),
            kB64SecretDecodedSig);
}

TEST(StripeFactoryTest, RefusesBadConfigurations) {
  struct {
    std::string name;
    SignatureConfig config;
    std::string error;
  } cases[] = {
      {"empty first secret", StripeConfig({""}), "secrets[0]: empty secret"},
      {"empty second secret", StripeConfig({kSecret, ""}),
       "secrets[1]: empty secret"},
      {"no secrets", StripeConfig({}),
       "secrets: at least one secret is required"},
      {"negative tolerance", StripeConfig({kSecret}, -1),
       "tolerance_s: must be >= 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto via_table = MakeSignatureVerifier(c.config);
    ASSERT_FALSE(via_table.ok());
    EXPECT_EQ(via_table.status().message(), c.error);
    auto direct = MakeStripeVerifier(c.config);
    ASSERT_FALSE(direct.ok());
    EXPECT_EQ(direct.status().message(), c.error);
  }
}

TEST(StripeFactoryTest, ErrorNeverCarriesSecretBytes) {
  auto r = MakeStripeVerifier(StripeConfig({"whsec_do_not_log_me", ""}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("do_not_log_me"), std::string::npos);
}

TEST(StripeFactoryTest, BuildsWithEverySecret) {
  auto r = MakeSignatureVerifier(StripeConfig({kSecret, kRotated, "x"}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value()->secret_count(), 3u);
}

}  // namespace
}  // namespace dlrd
