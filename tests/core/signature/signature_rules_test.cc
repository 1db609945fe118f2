// Table-driven rules of the signature schemes beyond the provider vectors:
// rotation, encodings, malformed and duplicated headers, timestamp edges,
// and the configurations MakeSignatureVerifier must refuse.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/signature/hmac_verifier.h"
#include "dlrd/core/signature/signature_verifier.h"
#include "dlrd/core/signature/standard_webhooks_verifier.h"

namespace dlrd {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// GitHub docs vector, and its MAC under other algorithms (Python hmac).
constexpr char kGhSecret[] = "It's a Secret to Everybody";
constexpr char kGhBody[] = "Hello, World!";
constexpr char kGhHex256[] =
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
constexpr char kGhHex256Upper[] =
    "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
constexpr char kGhB64256[] = "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc=";
constexpr char kGhHex1[] = "01dc10d0c83e72ed246219cdd91669667fe2ca59";
constexpr char kGhHex512[] =
    "11ed355a617e98134e842012a7944ccf59c10256cb182357bd7e3a42013ff07c"
    "376f8c14cf5cc1923da20b51d64256b2fb8ebbf100aa67a61326f61fea8111bc";
constexpr char kGhB64512[] =
    "Ee01WmF+mBNOhCASp5RMz1nBAlbLGCNXvX46QgE/8Hw3b4wUz1zBkj2iC1HWQlay+4678QCq"
    "Z6YTJvYf6oERvA==";

// Standard Webhooks official sign() vector.
constexpr char kSwSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSwOtherSecret[] = "whsec_YW5vdGhlci1rZXktMjQtYnl0ZXMteHh4";
constexpr char kSwId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr char kSwTs[] = "1614265330";
constexpr int64_t kSwNow = 1614265330;
constexpr char kSwBody[] = "{\"test\": 2432232314}";
constexpr char kSwSig[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr char kSwOtherSig[] =
    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

struct Expect {
  bool valid;
  RejectReason reason;
  int secret_index;
};
constexpr Expect Ok(int index = 0) {
  return {true, RejectReason::kNone, index};
}
constexpr Expect No(RejectReason r) { return {false, r, -1}; }

struct Case {
  std::string name;
  SignatureConfig config;
  Headers headers;
  std::string body;
  int64_t now;
  Expect expect;
  std::string event_id = "";
};

SignatureConfig Hmac256(std::vector<std::string> secrets = {kGhSecret}) {
  SignatureConfig c;
  c.scheme = "hmac";
  c.header = "X-Hub-Signature-256";
  c.algorithm = "sha256";
  c.encoding = "hex";
  c.prefix = "sha256=";
  c.secrets = std::move(secrets);
  return c;
}

SignatureConfig HmacWith(std::string algorithm, std::string encoding,
                         std::string prefix) {
  SignatureConfig c = Hmac256();
  c.header = "X-Signature";
  c.algorithm = std::move(algorithm);
  c.encoding = std::move(encoding);
  c.prefix = std::move(prefix);
  return c;
}

SignatureConfig Sw(std::vector<std::string> secrets = {kSwSecret},
                   int64_t tolerance_s = 300) {
  SignatureConfig c;
  c.scheme = "standard-webhooks";
  c.secrets = std::move(secrets);
  c.tolerance_s = tolerance_s;
  return c;
}

Case Gh(std::string name, Headers headers, Expect expect,
        SignatureConfig config = Hmac256(), std::string body = kGhBody) {
  return {std::move(name),
          std::move(config),
          std::move(headers),
          std::move(body),
          0,
          expect};
}

Headers GhSig(std::string value) {
  return {{"X-Hub-Signature-256", std::move(value)}};
}

Headers SwHeaders(std::string sig = kSwSig, std::string ts = kSwTs,
                  std::string id = kSwId, std::string prefix = "webhook-") {
  return {{prefix + "id", std::move(id)},
          {prefix + "timestamp", std::move(ts)},
          {prefix + "signature", std::move(sig)}};
}

Case SwCase(std::string name, Headers headers, Expect expect,
            int64_t now = kSwNow, SignatureConfig config = Sw(),
            std::string event_id = kSwId) {
  return {std::move(name), std::move(config),  std::move(headers), kSwBody, now,
          expect,          std::move(event_id)};
}

std::vector<Case> HmacCases() {
  using R = RejectReason;
  const std::string p = "sha256=";
  return {
      Gh("lowercase hex", GhSig(p + kGhHex256), Ok()),
      Gh("uppercase hex", GhSig(p + kGhHex256Upper), Ok()),
      Gh("header name case-insensitive",
         {{"x-hub-signature-256", p + kGhHex256}}, Ok()),
      Gh("rotation: second secret matches", GhSig(p + kGhHex256), Ok(1),
         Hmac256({"old-secret", kGhSecret})),
      Gh("rotation: first secret matches", GhSig(p + kGhHex256), Ok(0),
         Hmac256({kGhSecret, "new-secret"})),
      Gh("sha1 hex", {{"X-Signature", std::string("sha1=") + kGhHex1}}, Ok(),
         HmacWith("sha1", "hex", "sha1=")),
      Gh("sha512 hex", {{"X-Signature", kGhHex512}}, Ok(),
         HmacWith("sha512", "hex", "")),
      Gh("sha256 base64", {{"X-Signature", kGhB64256}}, Ok(),
         HmacWith("sha256", "base64", "")),
      Gh("sha256 base64 unpadded",
         {{"X-Signature", std::string(kGhB64256).substr(0, 43)}}, Ok(),
         HmacWith("sha256", "base64", "")),
      Gh("sha512 base64", {{"X-Signature", kGhB64512}}, Ok(),
         HmacWith("sha512", "base64", "")),
      Gh("missing header", {}, No(R::kMissingHeader)),
      Gh("only legacy X-Hub-Signature",
         {{"X-Hub-Signature", std::string("sha1=") + kGhHex1}},
         No(R::kMissingHeader)),
      Gh("empty header", GhSig(""), No(R::kMissingHeader)),
      Gh("duplicate header",
         {{"X-Hub-Signature-256", p + kGhHex256},
          {"x-hub-signature-256", p + kGhHex256}},
         No(R::kDuplicateHeader)),
      Gh("wrong prefix", GhSig(std::string("sha1=") + kGhHex256),
         No(R::kBadEncoding)),
      Gh("prefix is case-sensitive", GhSig(std::string("SHA256=") + kGhHex256),
         No(R::kBadEncoding)),
      Gh("no prefix", GhSig(kGhHex256), No(R::kBadEncoding)),
      Gh("prefix only", GhSig(p), No(R::kBadEncoding)),
      Gh("non-hex garbage", GhSig(p + std::string(64, 'z')),
         No(R::kBadEncoding)),
      Gh("odd-length hex", GhSig(p + std::string(kGhHex256).substr(0, 63)),
         No(R::kBadEncoding)),
      Gh("truncated to 31 bytes",
         GhSig(p + std::string(kGhHex256).substr(0, 62)), No(R::kBadEncoding)),
      Gh("trailing space", GhSig(p + kGhHex256 + " "), No(R::kBadEncoding)),
      Gh("sha256 MAC on a sha1 verifier", {{"X-Signature", kGhHex256}},
         No(R::kBadEncoding), HmacWith("sha1", "hex", "")),
      Gh("hex text on a base64 verifier", {{"X-Signature", kGhHex256}},
         No(R::kBadEncoding), HmacWith("sha256", "base64", "")),
      Gh("base64 with bad char", {{"X-Signature", "dXEH6g6y-J_C"}},
         No(R::kBadEncoding), HmacWith("sha256", "base64", "")),
      Gh("last hex digit changed",
         GhSig(p + std::string(kGhHex256).substr(0, 63) + "8"),
         No(R::kMismatch)),
      Gh("wrong secret", GhSig(p + kGhHex256), No(R::kMismatch),
         Hmac256({"not it", "nor this"})),
      Gh("tampered body", GhSig(p + kGhHex256), No(R::kMismatch), Hmac256(),
         "Hello, World?"),
  };
}

std::vector<Case> StandardWebhooksCases() {
  using R = RejectReason;
  const std::string b64 = std::string(kSwSig).substr(3);
  return {
      SwCase("official vector", SwHeaders(), Ok()),
      SwCase("svix-* headers", SwHeaders(kSwSig, kSwTs, kSwId, "svix-"), Ok()),
      SwCase("header names case-insensitive",
             {{"Webhook-Id", kSwId},
              {"WEBHOOK-TIMESTAMP", kSwTs},
              {"Webhook-Signature", kSwSig}},
             Ok()),
      SwCase("svix-id wins over webhook-*",
             {{"svix-id", kSwId},
              {"webhook-timestamp", kSwTs},
              {"webhook-signature", kSwSig}},
             No(R::kMissingHeader)),
      SwCase("rotation: second secret matches", SwHeaders(), Ok(1), kSwNow,
             Sw({kSwOtherSecret, kSwSecret})),
      SwCase("secret without whsec_ prefix", SwHeaders(), Ok(), kSwNow,
             Sw({"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})),
      SwCase("second v1 entry matches",
             SwHeaders(std::string(kSwOtherSig) + " " + kSwSig), Ok()),
      SwCase("double space between entries",
             SwHeaders(std::string(kSwOtherSig) + "  " + kSwSig), Ok()),
      SwCase("malformed v1 entry skipped",
             SwHeaders(std::string("v1,!!!! ") + kSwSig), Ok()),
      SwCase("unpadded v1 signature", SwHeaders(std::string(kSwSig, 46)), Ok()),
      SwCase("v2 only", SwHeaders("v2," + b64), No(R::kBadEncoding)),
      SwCase("v1a only", SwHeaders("v1a," + b64), No(R::kBadEncoding)),
      SwCase("empty signature v1,", SwHeaders("v1,"), No(R::kBadEncoding)),
      SwCase("no comma", SwHeaders("v1" + b64), No(R::kBadEncoding)),
      SwCase("bare base64", SwHeaders(b64), No(R::kBadEncoding)),
      SwCase("v1 not base64", SwHeaders("v1,not base64!"), No(R::kBadEncoding)),
      SwCase("v1 truncated", SwHeaders("v1," + b64.substr(0, 40)),
             No(R::kBadEncoding)),
      SwCase("missing id",
             {{"webhook-timestamp", kSwTs}, {"webhook-signature", kSwSig}},
             No(R::kMissingHeader), kSwNow, Sw(), ""),
      SwCase("missing timestamp",
             {{"webhook-id", kSwId}, {"webhook-signature", kSwSig}},
             No(R::kMissingHeader)),
      SwCase("missing signature",
             {{"webhook-id", kSwId}, {"webhook-timestamp", kSwTs}},
             No(R::kMissingHeader)),
      SwCase("empty id", SwHeaders(kSwSig, kSwTs, ""), No(R::kMissingHeader),
             kSwNow, Sw(), ""),
      SwCase("empty timestamp", SwHeaders(kSwSig, ""), No(R::kMissingHeader)),
      SwCase("empty signature header", SwHeaders(""), No(R::kMissingHeader)),
      SwCase("duplicate id",
             {{"webhook-id", kSwId},
              {"webhook-id", kSwId},
              {"webhook-timestamp", kSwTs},
              {"webhook-signature", kSwSig}},
             No(R::kDuplicateHeader), kSwNow, Sw(), ""),
      SwCase("duplicate signature",
             {{"webhook-id", kSwId},
              {"webhook-timestamp", kSwTs},
              {"webhook-signature", kSwSig},
              {"Webhook-Signature", kSwSig}},
             No(R::kDuplicateHeader)),
      SwCase("id contains '.'", SwHeaders(kSwSig, kSwTs, "msg.1"),
             No(R::kBadEncoding), kSwNow, Sw(), "msg.1"),
      SwCase("timestamp contains '.'", SwHeaders(kSwSig, "1614265330.0"),
             No(R::kBadEncoding)),
      SwCase("non-digit timestamp", SwHeaders(kSwSig, "16142653a0"),
             No(R::kBadTimestamp)),
      SwCase("negative timestamp", SwHeaders(kSwSig, "-1614265330"),
             No(R::kBadTimestamp)),
      SwCase("timestamp with space", SwHeaders(kSwSig, " 1614265330"),
             No(R::kBadTimestamp)),
      SwCase("19-digit timestamp", SwHeaders(kSwSig, std::string(19, '9')),
             No(R::kBadTimestamp)),
      SwCase("exactly 300 s old", SwHeaders(), Ok(), kSwNow + 300),
      SwCase("301 s old", SwHeaders(), No(R::kTimestampSkew), kSwNow + 301),
      SwCase("exactly 300 s ahead", SwHeaders(), Ok(), kSwNow - 300),
      SwCase("301 s ahead", SwHeaders(), No(R::kTimestampSkew), kSwNow - 301),
      SwCase("tolerance 0, same second", SwHeaders(), Ok(), kSwNow,
             Sw({kSwSecret}, 0)),
      SwCase("tolerance 0, one second off", SwHeaders(), No(R::kTimestampSkew),
             kSwNow + 1, Sw({kSwSecret}, 0)),
      SwCase("now = INT64_MIN", SwHeaders(), No(R::kTimestampSkew),
             std::numeric_limits<int64_t>::min()),
      SwCase("now = INT64_MAX", SwHeaders(), No(R::kTimestampSkew),
             std::numeric_limits<int64_t>::max()),
      SwCase("skew checked before signature", SwHeaders(kSwOtherSig),
             No(R::kTimestampSkew), kSwNow + 301),
      SwCase("leading zero in timestamp is signed as received",
             SwHeaders(kSwSig, "01614265330"), No(R::kMismatch)),
      SwCase("unrelated signature", SwHeaders(kSwOtherSig), No(R::kMismatch)),
      SwCase("wrong secret", SwHeaders(), No(R::kMismatch), kSwNow,
             Sw({kSwOtherSecret})),
      SwCase("other id", SwHeaders(kSwSig, kSwTs, "msg_other"),
             No(R::kMismatch), kSwNow, Sw(), "msg_other"),
  };
}

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto verifier = MakeSignatureVerifier(c.config);
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    InboundWebhook hook;
    hook.method = "POST";
    hook.headers = c.headers;
    hook.body = c.body;

    SignatureCheck check = verifier.value()->Verify(hook, c.now);

    EXPECT_EQ(check.valid, c.expect.valid);
    EXPECT_EQ(ToString(check.reason), ToString(c.expect.reason));
    EXPECT_EQ(check.secret_index, c.expect.secret_index);
    if (c.expect.valid || !c.event_id.empty()) {
      EXPECT_EQ(check.event_id, c.event_id);
    }
  }
}

TEST(HmacVerifierTest, Rules) { RunCases(HmacCases()); }

TEST(StandardWebhooksVerifierTest, Rules) { RunCases(StandardWebhooksCases()); }

TEST(HmacVerifierTest, HasNoEventIdAndListsItsReasons) {
  HmacVerifier v("X-Hub-Signature-256", HashAlgorithm::kSha256,
                 HmacVerifier::Encoding::kHex, "sha256=", {kGhSecret, "b"});
  InboundWebhook hook;
  hook.headers = GhSig(std::string("sha256=") + kGhHex256);
  hook.body = kGhBody;
  SignatureCheck check = v.Verify(hook, 0);
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.event_id, "");
  EXPECT_EQ(v.secret_count(), 2u);
  EXPECT_EQ(v.Reasons(),
            (std::vector<RejectReason>{
                RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
                RejectReason::kBadEncoding, RejectReason::kMismatch}));
}

TEST(StandardWebhooksVerifierTest, ListsItsReasons) {
  auto v = MakeSignatureVerifier(Sw({kSwSecret, kSwOtherSecret}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value()->secret_count(), 2u);
  std::vector<RejectReason> reasons = v.value()->Reasons();
  EXPECT_EQ(reasons.size(), 6u);
  for (RejectReason r : reasons) EXPECT_NE(r, RejectReason::kNone);
}

TEST(StandardWebhooksVerifierTest, DecodeSecret) {
  using SWV = StandardWebhooksVerifier;
  EXPECT_EQ(SWV::DecodeSecret("whsec_AAAA"), std::string(3, '\0'));
  EXPECT_EQ(SWV::DecodeSecret("AAAA"), std::string(3, '\0'));
  EXPECT_EQ(SWV::DecodeSecret("whsec_YQ"), "a");    // unpadded
  EXPECT_EQ(SWV::DecodeSecret("whsec_YQ=="), "a");  // padded
  EXPECT_EQ(SWV::DecodeSecret("whsec_"), std::nullopt);
  EXPECT_EQ(SWV::DecodeSecret(""), std::nullopt);
  EXPECT_EQ(SWV::DecodeSecret("whsec_!!!!"), std::nullopt);
  EXPECT_EQ(SWV::DecodeSecret("whsec_===="), std::nullopt);
  EXPECT_EQ(SWV::DecodeSecret("whsec_YQ=a"), std::nullopt);
  EXPECT_EQ(SWV::DecodeSecret("WHSEC_AAAA"), std::nullopt);
}

struct FactoryCase {
  std::string name;
  SignatureConfig config;
  std::string error;  // empty: must succeed
};

std::vector<FactoryCase> FactoryCases() {
  auto with = [](SignatureConfig c, auto edit) {
    edit(c);
    return c;
  };
  return {
      {"hmac ok", Hmac256(), ""},
      {"hmac sha1 base64 ok", HmacWith("sha1", "base64", ""), ""},
      {"standard-webhooks ok", Sw({kSwSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2La"}),
       ""},
      {"standard-webhooks tolerance 0 ok", Sw({kSwSecret}, 0), ""},
      {"unknown scheme", with(Hmac256(), [](auto& c) { c.scheme = "rot13"; }),
       "scheme: \"rot13\" is not one of hmac, standard-webhooks, twilio, "
       "vonage-jwt, vonage-sig, sinch, stripe"},
      {"empty scheme", with(Hmac256(), [](auto& c) { c.scheme = ""; }),
       "scheme: \"\" is not one of hmac, standard-webhooks, twilio, "
       "vonage-jwt, vonage-sig, sinch, stripe"},
      {"hmac md5", HmacWith("md5", "hex", ""),
       "algorithm: \"md5\" is not one of sha1, sha256, sha512"},
      {"hmac uppercase algorithm", HmacWith("SHA256", "hex", ""),
       "algorithm: \"SHA256\" is not one of sha1, sha256, sha512"},
      {"hmac unknown encoding", HmacWith("sha256", "base64url", ""),
       "encoding: \"base64url\" is not one of hex, base64"},
      {"hmac empty header", with(Hmac256(), [](auto& c) { c.header = ""; }),
       "header: empty"},
      {"hmac no secrets", Hmac256({}),
       "secrets: at least one secret is required"},
      {"hmac empty secret", Hmac256({"a", ""}), "secrets[1]: empty secret"},
      {"sw no secrets", Sw({}), "secrets: at least one secret is required"},
      {"sw empty secret", Sw({""}), "secrets[0]: empty secret"},
      {"sw whsec_!!!!", Sw({"whsec_!!!!"}),
       "secrets[0]: not a valid whsec_/base64 secret"},
      {"sw whsec_ decodes to empty", Sw({kSwSecret, "whsec_"}),
       "secrets[1]: not a valid whsec_/base64 secret"},
      {"sw dangling base64", Sw({"whsec_MfKQ9"}),
       "secrets[0]: not a valid whsec_/base64 secret"},
      {"sw negative tolerance", Sw({kSwSecret}, -1),
       "tolerance_s: must be >= 0"},
  };
}

TEST(MakeSignatureVerifierTest, AcceptsAndRefusesConfigs) {
  for (const FactoryCase& c : FactoryCases()) {
    SCOPED_TRACE(c.name);
    auto v = MakeSignatureVerifier(c.config);
    if (c.error.empty()) {
      ASSERT_TRUE(v.ok()) << v.status().message();
      EXPECT_EQ(v.value()->secret_count(), c.config.secrets.size());
      continue;
    }
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().message(), c.error);
    for (const std::string& secret : c.config.secrets) {
      if (secret.size() > 6) {
        EXPECT_EQ(v.status().message().find(secret), std::string::npos);
      }
    }
  }
}

TEST(RejectReasonTest, SnakeCaseNames) {
  const std::vector<std::pair<RejectReason, std::string>> names = {
      {RejectReason::kNone, "none"},
      {RejectReason::kMissingHeader, "missing_header"},
      {RejectReason::kDuplicateHeader, "duplicate_header"},
      {RejectReason::kBadEncoding, "bad_encoding"},
      {RejectReason::kBadTimestamp, "bad_timestamp"},
      {RejectReason::kTimestampSkew, "timestamp_skew"},
      {RejectReason::kMismatch, "mismatch"},
  };
  for (const auto& [reason, name] : names) EXPECT_EQ(ToString(reason), name);
}

// RFC 2202 / RFC 4231 test case 2 and FIPS 180 "abc".
TEST(CryptoTest, KnownAnswers) {
  struct {
    HashAlgorithm alg;
    const char* hmac_hex;
    const char* digest_hex;
  } cases[] = {
      {HashAlgorithm::kMd5, "750c783e6ab0b503eaa86e310a5db738",
       "900150983cd24fb0d6963f7d28e17f72"},
      {HashAlgorithm::kSha1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
       "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {HashAlgorithm::kSha256,
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {HashAlgorithm::kSha512,
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.digest_hex);
    EXPECT_EQ(HexEncode(*Hmac(c.alg, "Jefe", "what do ya want for nothing?")),
              c.hmac_hex);
    EXPECT_EQ(HexEncode(*Digest(c.alg, "abc")), c.digest_hex);
  }
  EXPECT_EQ(HexEncode(*Hmac(HashAlgorithm::kSha256, "", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(HexEncode(*Digest(HashAlgorithm::kMd5, "")),
            "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(CryptoTest, ParseHashAlgorithm) {
  EXPECT_EQ(ParseHashAlgorithm("md5"), HashAlgorithm::kMd5);
  EXPECT_EQ(ParseHashAlgorithm("sha1"), HashAlgorithm::kSha1);
  EXPECT_EQ(ParseHashAlgorithm("sha256"), HashAlgorithm::kSha256);
  EXPECT_EQ(ParseHashAlgorithm("sha512"), HashAlgorithm::kSha512);
  for (const char* bad : {"", "SHA256", "sha-256", "sha384", "sha256 "}) {
    EXPECT_EQ(ParseHashAlgorithm(bad), std::nullopt) << bad;
  }
}

TEST(CryptoTest, ConstantTimeEquals) {
  // An empty MAC (a failed computation, an empty header) is never a match.
  EXPECT_FALSE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

TEST(CryptoTest, AFailedDigestIsNeverAMatch) {
  EXPECT_FALSE(MacEquals(std::nullopt, ""));
  EXPECT_FALSE(MacEquals(std::nullopt, "abc"));
  EXPECT_FALSE(MacEquals(std::string(), ""));
  EXPECT_TRUE(MacEquals(std::string("abc"), "abc"));
  EXPECT_FALSE(MacEquals(std::string("abc"), "abd"));
}

}  // namespace
}  // namespace dlrd
