// Twilio `X-Twilio-Signature` (docs/signatures.md §3).
//
// 1. Every twilio vector of the shared vector file, copied verbatim to
//    src/core/providers/twilio/testdata/vectors/twilio.json ("vectors"), plus the further upstream
//    SDK test cases listed in docs/signatures.md ("upstream_extras"), run through
//    MakeSignatureVerifier. A vector's URL (as received when given, else as
//    signed) is split into public_url (config) and the request-target query;
//    form_params become a form body (in reverse name order, so the verifier
//    has to sort), `body` a JSON body.
// 2. Table-driven rules: rotation, header presence and encoding, public_url
//    and query tampering, form and JSON body handling, URL variants, and the
//    configurations the factory refuses.
//
// Decision under test: an HMAC cannot tell a wrong public_url from a
// tampered parameter or a wrong token, so every well-formed signature that
// does not verify is kUrlMismatch. kMismatch is reserved for a non-form
// body that carries no bodySHA256 to bind it.
#include "core/providers/twilio/twilio_verifier.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {
namespace {

using nlohmann::json;

constexpr size_t kSharedTwilioVectors = 13;  // 10 form, 3 JSON body
constexpr size_t kUpstreamExtras = 10;

constexpr char kToken[] = "12345";
constexpr char kPublicUrl[] = "https://mycompany.com/myapp.php";
constexpr char kTarget[] = "/webhooks/twilio?foo=1&bar=2";
constexpr char kFormBody[] =
    "To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309"
    "&CallSid=CA1234567890ABCDE";
constexpr char kBaseSig[] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
constexpr char kParams[] =
    "CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+"
    "18005551212";
constexpr char kJsonBody[] = "{\"property\": \"value\", \"boolean\": true}";
constexpr char kJsonHash[] =
    "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
constexpr char kFormType[] = "application/x-www-form-urlencoded";

json LoadFile() {
  std::ifstream in(std::string(DLRD_TEST_DATA_DIR) + "/vectors/twilio.json");
  EXPECT_TRUE(in.is_open());
  if (!in.is_open()) return json::object();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

json Section(const char* name) {
  json file = LoadFile();
  if (!file.is_object() || !file.contains(name)) return json::array();
  return file.at(name);
}

// application/x-www-form-urlencoded, '+' for space.
std::string FormEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '*') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    }
  }
  return out;
}

// Names in reverse byte order, values of a name in the given order.
std::string FormBody(const json& params) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& [name, value] : params.items()) {
    if (value.is_array()) {
      for (const json& v : value)
        pairs.emplace_back(name, v.get<std::string>());
    } else {
      pairs.emplace_back(name, value.get<std::string>());
    }
  }
  std::string body;
  for (auto it = pairs.rbegin(); it != pairs.rend(); ++it) {
    if (!body.empty()) body += '&';
    body += FormEncode(it->first) + "=" + FormEncode(it->second);
  }
  return body;
}

struct Split {
  std::string public_url;
  std::string target;
};

// "https://h/p?q" -> public_url "https://h/p", target "/p?q".
Split SplitUrl(const std::string& url) {
  size_t q = url.find('?');
  Split out;
  out.public_url = url.substr(0, q);
  size_t path = url.find('/', url.find("://") + 3);
  out.target = path < q ? url.substr(path) : "/" + url.substr(q);
  return out;
}

std::string ReceivedUrl(const json& v) {
  const json& in = v.at("inputs");
  return in.value("url_as_received", in.at("url_as_signed").get<std::string>());
}

SignatureConfig ConfigFor(const json& v) {
  SignatureConfig config;
  config.scheme = "twilio";
  config.public_url = SplitUrl(ReceivedUrl(v)).public_url;
  config.secrets = {v.at("secret").get<std::string>()};
  return config;
}

InboundWebhook HookFor(const json& v) {
  const json& in = v.at("inputs");
  InboundWebhook hook;
  hook.source = "twilio";
  hook.method = "POST";
  hook.target = SplitUrl(ReceivedUrl(v)).target;
  hook.headers.emplace_back("X-Twilio-Signature",
                            v.at("expected_signature").get<std::string>());
  if (in.contains("form_params")) {
    hook.headers.emplace_back("Content-Type", kFormType);
    hook.body = FormBody(in.at("form_params"));
  } else if (in.contains("body")) {
    hook.headers.emplace_back("Content-Type", "application/json");
    hook.body = in.at("body").get<std::string>();
  } else {
    hook.method = "GET";
  }
  return hook;
}

// The reason a negative vector must produce: its expected_reason when it has
// one (upstream extras), else from the note of the shared vector.
std::string ExpectedReason(const json& v) {
  if (v.contains("expected_reason")) {
    return v.at("expected_reason").get<std::string>();
  }
  const std::string note = v.at("note").get<std::string>();
  return note.find("body was tampered") != std::string::npos
             ? "payload_hash_mismatch"
             : "url_mismatch";
}

void RunVectors(const json& vectors, size_t expected_count) {
  ASSERT_TRUE(vectors.is_array());
  ASSERT_EQ(vectors.size(), expected_count);
  size_t valid = 0;
  for (const json& v : vectors) {
    SCOPED_TRACE(v.at("source").get<std::string>() + " / " +
                 v.at("note").get<std::string>());
    ASSERT_TRUE(v.at("scheme").get<std::string>().starts_with("twilio"));
    auto verifier = MakeSignatureVerifier(ConfigFor(v));
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    SignatureCheck check = verifier.value()->Verify(HookFor(v), 0);
    if (v.at("valid").get<bool>()) {
      ++valid;
      EXPECT_TRUE(check.valid) << ToString(check.reason);
      EXPECT_EQ(check.secret_index, 0);
      EXPECT_EQ(check.reason, RejectReason::kNone);
    } else {
      EXPECT_FALSE(check.valid);
      EXPECT_EQ(ToString(check.reason), ExpectedReason(v));
      EXPECT_EQ(check.secret_index, -1);
    }
  }
  EXPECT_GT(valid, 0u);
  EXPECT_LT(valid, vectors.size());
}

TEST(TwilioVectors, SharedVectors) {
  RunVectors(Section("vectors"), kSharedTwilioVectors);
}

TEST(TwilioVectors, UpstreamExtras) {
  RunVectors(Section("upstream_extras"), kUpstreamExtras);
}

// The string_to_sign of each valid vector really is what the signature is
// over, so the files cannot drift from the rules they document.
TEST(TwilioVectors, StringsToSignMatchSignatures) {
  size_t checked = 0;
  for (const char* section : {"vectors", "upstream_extras"}) {
    for (const json& v : Section(section)) {
      if (!v.at("valid").get<bool>()) continue;
      const json& in = v.at("inputs");
      EXPECT_EQ(Base64Encode(*Hmac(HashAlgorithm::kSha1,
                                  v.at("secret").get<std::string>(),
                                  in.at("string_to_sign").get<std::string>())),
                v.at("expected_signature").get<std::string>())
          << v.at("note");
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16u);  // 10 shared + 6 extras
}

// ---------------------------------------------------------------------------
// Rules.

std::string Sign(std::string_view data, std::string_view token = kToken) {
  return Base64Encode(*Hmac(HashAlgorithm::kSha1, token, data));
}

struct Request {
  std::string target = kTarget;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

Request Form(std::string signature, std::string body = kFormBody) {
  Request r;
  r.headers = {{"Content-Type", kFormType},
               {"X-Twilio-Signature", std::move(signature)}};
  r.body = std::move(body);
  return r;
}

Request Json(std::string signature, std::string query,
             std::string body = kJsonBody) {
  Request r;
  r.target = "/webhooks/twilio?" + query;
  r.headers = {{"Content-Type", "application/json"},
               {"X-Twilio-Signature", std::move(signature)}};
  r.body = std::move(body);
  return r;
}

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
  std::vector<std::string> secrets;
  std::string public_url;
  Request request;
  Expect expect;
};

std::vector<Case> RuleCases() {
  const std::string url = std::string(kPublicUrl) + "?foo=1&bar=2";
  const std::string json_url = url + "&bodySHA256=" + std::string(kJsonHash);
  const std::vector<std::string> token = {kToken};
  std::vector<Case> cases = {
      // Rotation and secrets.
      {"BaseVector", token, kPublicUrl, Form(kBaseSig), Ok()},
      {"RotationSecondToken",
       {"old-token", kToken},
       kPublicUrl,
       Form(kBaseSig),
       Ok(1)},
      {"RotationFirstToken",
       {kToken, "new-token"},
       kPublicUrl,
       Form(kBaseSig),
       Ok(0)},
      {"WrongToken",
       {"54321"},
       kPublicUrl,
       Form(kBaseSig),
       No(RejectReason::kUrlMismatch)},
      {"TokenIsRawBytesNotBase64",
       {"MTIzNDU="},
       kPublicUrl,
       Form(kBaseSig),
       No(RejectReason::kUrlMismatch)},

      // Header presence and encoding.
      {"MissingHeader", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.headers.pop_back();
         return r;
       }(),
       No(RejectReason::kMissingHeader)},
      {"EmptyHeader", token, kPublicUrl, Form(""),
       No(RejectReason::kMissingHeader)},
      {"DuplicateHeader", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.headers.emplace_back("x-twilio-signature", kBaseSig);
         return r;
       }(),
       No(RejectReason::kDuplicateHeader)},
      {"LowercaseHeaderName", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.headers.back().first = "x-twilio-signature";
         return r;
       }(),
       Ok()},
      {"GarbageBase64", token, kPublicUrl, Form("WRONG_SIGNATURE"),
       No(RejectReason::kBadEncoding)},
      {"Base64OfWrongLength", token, kPublicUrl,
       Form(Base64Encode(std::string(32, 'x'))),
       No(RejectReason::kBadEncoding)},
      {"UnpaddedBase64Accepted", token, kPublicUrl,
       Form("RSOYDt4T1cUTdK1PDd93/VVr8B8"), Ok()},
      {"OneBitFlipped", token, kPublicUrl, Form("SSOYDt4T1cUTdK1PDd93/VVr8B8="),
       No(RejectReason::kUrlMismatch)},

      // public_url and query.
      {"DifferentPublicUrl", token, "https://mycompany.com/otherapp.php",
       Form(kBaseSig), No(RejectReason::kUrlMismatch)},
      {"DifferentHost", token, "https://example.com/myapp.php", Form(kBaseSig),
       No(RejectReason::kUrlMismatch)},
      {"HttpInsteadOfHttps", token, "http://mycompany.com/myapp.php",
       Form(kBaseSig), No(RejectReason::kUrlMismatch)},
      {"ExtraQueryParam", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.target += "&somethingUnexpected=true";
         return r;
       }(),
       No(RejectReason::kUrlMismatch)},
      {"QueryMissing", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.target = "/webhooks/twilio";
         return r;
       }(),
       No(RejectReason::kUrlMismatch)},
      {"ReceivedPathIsIgnored", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.target = "/somewhere/else?foo=1&bar=2";
         return r;
       }(),
       Ok()},
      {"HostAndForwardedHeadersIgnored", token,
       "https://internal.example/myapp.php",
       [] {
         Request r = Form(kBaseSig);
         r.headers.emplace_back("Host", "mycompany.com");
         r.headers.emplace_back("X-Forwarded-Host", "mycompany.com");
         r.headers.emplace_back("X-Forwarded-Proto", "https");
         return r;
       }(),
       No(RejectReason::kUrlMismatch)},
      {"NoQueryAtAll", token, kPublicUrl,
       [&] {
         Request r = Form(Sign(std::string(kPublicUrl) + kParams));
         r.target = "/webhooks/twilio";
         return r;
       }(),
       Ok()},
      {"DefaultPortConfiguredSignedWithout", token,
       "https://mycompany.com:443/myapp.php", Form(kBaseSig), Ok()},
      {"NonDefaultPortConfiguredSignedWith", token,
       "https://mycompany.com:8443/myapp.php",
       Form(Sign("https://mycompany.com:8443/myapp.php?foo=1&bar=2" +
                 std::string(kParams))),
       Ok()},
      {"OtherPortNotTried", token, "https://mycompany.com:8443/myapp.php",
       Form(Sign("https://mycompany.com:443/myapp.php?foo=1&bar=2" +
                 std::string(kParams))),
       No(RejectReason::kUrlMismatch)},
      {"Ipv6HostDefaultPortAdded", token, "https://[2001:db8::1]/myapp.php",
       Form(Sign("https://[2001:db8::1]:443/myapp.php?foo=1&bar=2" +
                 std::string(kParams))),
       Ok()},
      {"QueryNotReencodedBeyondWhatwg", token, kPublicUrl,
       [] {
         Request r = Form(Sign(std::string(kPublicUrl) +
                               "?foo=1&bar=2&Body=It%27s%20amazing" + kParams));
         r.target += "&Body=It's+amazing";
         return r;
       }(),
       No(RejectReason::kUrlMismatch)},

      // Form bodies.
      {"TamperedParam", token, kPublicUrl,
       Form(kBaseSig, std::string(kFormBody) + "&Extra=1"),
       No(RejectReason::kUrlMismatch)},
      {"TamperedValue", token, kPublicUrl,
       Form(kBaseSig,
            "To=%2B18005551212&From=%2B14158675309&Digits=1235"
            "&Caller=%2B14158675309&CallSid=CA1234567890ABCDE"),
       No(RejectReason::kUrlMismatch)},
      {"DroppedParam", token, kPublicUrl,
       Form(kBaseSig,
            "To=%2B18005551212&From=%2B14158675309&Digits=1234"
            "&CallSid=CA1234567890ABCDE"),
       No(RejectReason::kUrlMismatch)},
      {"PlusDecodesToSpace", token, kPublicUrl,
       Form(Sign(url + "BodyIt's amazing"), "Body=It%27s+amazing"), Ok()},
      {"EmptyValueAndBareName", token, kPublicUrl,
       Form(Sign(url + "ab"), "b&a="), Ok()},
      {"FormWithCharset", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.headers.front().second =
             "Application/X-WWW-Form-Urlencoded ; charset=utf-8";
         return r;
       }(),
       Ok()},
      {"MalformedFormBody", token, kPublicUrl, Form(kBaseSig, "a=%zz"),
       No(RejectReason::kBadEncoding)},
      {"FormWithoutContentTypeIsNotForm", token, kPublicUrl,
       [] {
         Request r = Form(kBaseSig);
         r.headers.erase(r.headers.begin());
         return r;
       }(),
       No(RejectReason::kMismatch)},

      // GET (no body): the URL alone.
      {"GetSignsUrlOnly", token, kPublicUrl,
       [&] {
         Request r;
         r.headers = {{"X-Twilio-Signature", Sign(url)}};
         return r;
       }(),
       Ok()},
      {"GetTamperedQuery", token, kPublicUrl,
       [&] {
         Request r;
         r.target = "/webhooks/twilio?foo=1&bar=3";
         r.headers = {{"X-Twilio-Signature", Sign(url)}};
         return r;
       }(),
       No(RejectReason::kUrlMismatch)},

      // JSON bodies: URL only, then bodySHA256.
      {"JsonBody", token, kPublicUrl,
       Json("a9nBmqA0ju/hNViExpshrM61xv4=",
            "foo=1&bar=2&bodySHA256=" + std::string(kJsonHash)),
       Ok()},
      {"JsonBodyRotation",
       {"other", kToken},
       kPublicUrl,
       Json("a9nBmqA0ju/hNViExpshrM61xv4=",
            "foo=1&bar=2&bodySHA256=" + std::string(kJsonHash)),
       Ok(1)},
      {"JsonTamperedBody", token, kPublicUrl,
       Json("a9nBmqA0ju/hNViExpshrM61xv4=",
            "foo=1&bar=2&bodySHA256=" + std::string(kJsonHash),
            "{\"property\": \"value\", \"boolean\": false}"),
       No(RejectReason::kPayloadHashMismatch)},
      {"JsonBodyWrongUrl", token, "https://mycompany.com/other.php",
       Json("a9nBmqA0ju/hNViExpshrM61xv4=",
            "foo=1&bar=2&bodySHA256=" + std::string(kJsonHash)),
       No(RejectReason::kUrlMismatch)},
      {"JsonUppercaseHash", token, kPublicUrl,
       [&] {
         std::string upper =
             "0A1FF7634D9AB3B95DB5C9A2DFE9416E41502B283A80C7CF19632632F96E6620";
         return Json(Sign(url + "&bodySHA256=" + upper),
                     "foo=1&bar=2&bodySHA256=" + upper);
       }(),
       Ok()},
      {"JsonHashNotHex", token, kPublicUrl,
       Json(Sign(url + "&bodySHA256=nothex"), "foo=1&bar=2&bodySHA256=nothex"),
       No(RejectReason::kPayloadHashMismatch)},
      {"JsonWithoutBodyHash", token, kPublicUrl, Json(Sign(url), "foo=1&bar=2"),
       No(RejectReason::kMismatch)},
      {"JsonDuplicateBodyHash", token, kPublicUrl,
       [&] {
         std::string q = "foo=1&bar=2&bodySHA256=" + std::string(kJsonHash) +
                         "&bodySHA256=" + std::string(kJsonHash);
         return Json(Sign(std::string(kPublicUrl) + "?" + q), q);
       }(),
       No(RejectReason::kBadEncoding)},
      {"JsonMalformedQuery", token, kPublicUrl,
       Json(Sign(json_url), "foo=%zz&bodySHA256=" + std::string(kJsonHash)),
       No(RejectReason::kBadEncoding)},
      {"JsonBodySignedWithParamsRejected", token, kPublicUrl,
       Json(Sign(json_url + "propertyvalue"),
            "foo=1&bar=2&bodySHA256=" + std::string(kJsonHash)),
       No(RejectReason::kUrlMismatch)},
      {"EmptyBodyWithBodyHash", token, kPublicUrl,
       [&] {
         std::string empty_hash = HexEncode(*Digest(HashAlgorithm::kSha256, ""));
         return Json(Sign(url + "&bodySHA256=" + empty_hash),
                     "foo=1&bar=2&bodySHA256=" + empty_hash, "");
       }(),
       Ok()},
  };
  return cases;
}

TEST(TwilioRules, Table) {
  for (const Case& c : RuleCases()) {
    SCOPED_TRACE(c.name);
    SignatureConfig config;
    config.scheme = "twilio";
    config.public_url = c.public_url;
    config.secrets = c.secrets;
    auto verifier = MakeSignatureVerifier(config);
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    InboundWebhook hook;
    hook.method = c.request.body.empty() ? "GET" : "POST";
    hook.target = c.request.target;
    hook.headers = c.request.headers;
    hook.body = c.request.body;
    SignatureCheck check = verifier.value()->Verify(hook, 0);
    EXPECT_EQ(check.valid, c.expect.valid) << ToString(check.reason);
    EXPECT_EQ(check.reason, c.expect.reason) << ToString(check.reason);
    EXPECT_EQ(check.secret_index, c.expect.secret_index);
  }
}

// Every reason the rule table produces is declared, and nothing more.
TEST(TwilioRules, ReasonsAreDeclared) {
  SignatureConfig config;
  config.scheme = "twilio";
  config.public_url = kPublicUrl;
  config.secrets = {kToken, "second"};
  auto verifier = MakeTwilioVerifier(config);
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  EXPECT_EQ(verifier.value()->secret_count(), 2u);
  std::vector<RejectReason> reasons = verifier.value()->Reasons();
  std::set<RejectReason> declared(reasons.begin(), reasons.end());
  EXPECT_EQ(declared.size(), reasons.size());
  std::set<RejectReason> produced;
  for (const Case& c : RuleCases()) {
    if (!c.expect.valid) produced.insert(c.expect.reason);
  }
  EXPECT_EQ(declared, produced);
}

TEST(TwilioFactory, RefusedConfigs) {
  struct Bad {
    std::string public_url;
    std::vector<std::string> secrets;
    std::string error;
  };
  const std::string malformed =
      "public_url: must be an absolute http(s) URL without query";
  const std::vector<Bad> cases = {
      {"", {kToken}, "public_url: required"},
      {"https://mycompany.com/myapp.php?foo=1", {kToken}, malformed},
      {"https://mycompany.com/myapp.php?", {kToken}, malformed},
      {"https://mycompany.com/myapp.php#frag", {kToken}, malformed},
      {"mycompany.com/myapp.php", {kToken}, malformed},
      {"/myapp.php", {kToken}, malformed},
      {"ftp://mycompany.com/myapp.php", {kToken}, malformed},
      {"https://", {kToken}, malformed},
      {"https:///myapp.php", {kToken}, malformed},
      {"https://user@/myapp.php", {kToken}, malformed},
      {"https://mycompany.com:/myapp.php", {kToken}, malformed},
      {"https://mycompany.com:44x/myapp.php", {kToken}, malformed},
      {"https://[::1/myapp.php", {kToken}, malformed},
      {"https://[::1]x/myapp.php", {kToken}, malformed},
      {"https://my company.com/myapp.php", {kToken}, malformed},
      {" https://mycompany.com/myapp.php", {kToken}, malformed},
      {kPublicUrl, {""}, "secrets[0]: empty secret"},
      {kPublicUrl, {kToken, ""}, "secrets[1]: empty secret"},
      {kPublicUrl, {}, "secrets: at least one secret is required"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.public_url);
    SignatureConfig config;
    config.scheme = "twilio";
    config.public_url = c.public_url;
    config.secrets = c.secrets;
    auto verifier = MakeSignatureVerifier(config);
    ASSERT_FALSE(verifier.ok());
    EXPECT_EQ(verifier.status().message(), c.error);
    auto direct = MakeTwilioVerifier(config);
    ASSERT_FALSE(direct.ok());
    EXPECT_EQ(direct.status().message(), c.error);
  }
}

TEST(TwilioFactory, AcceptedConfigs) {
  for (const char* url :
       {"https://mycompany.com/myapp.php", "http://mycompany.com",
        "HTTPS://mycompany.com/a/b/", "https://user:pass@mycompany.com/p",
        "https://mycompany.com:8443/p", "http://[::1]:8080/p",
        "https://mycompany.com/p;x=1"}) {
    SCOPED_TRACE(url);
    SignatureConfig config;
    config.scheme = "twilio";
    config.public_url = url;
    config.secrets = {kToken};
    config.tolerance_s = -1;  // irrelevant: the scheme has no timestamp
    auto verifier = MakeSignatureVerifier(config);
    EXPECT_TRUE(verifier.ok()) << verifier.status().message();
  }
}

// The never-fails-open check: a verifier with a different token never
// accepts a correctly signed request, through any URL variant.
TEST(TwilioRules, NoVariantAcceptsAnotherToken) {
  const std::string url = std::string(kPublicUrl) + "?foo=1&bar=2";
  for (const std::string& signed_url :
       {url, std::string("https://mycompany.com:443/myapp.php?foo=1&bar=2")}) {
    SignatureConfig config;
    config.scheme = "twilio";
    config.public_url = kPublicUrl;
    config.secrets = {"another-token"};
    auto verifier = MakeSignatureVerifier(config);
    ASSERT_TRUE(verifier.ok());
    InboundWebhook hook;
    hook.method = "POST";
    hook.target = kTarget;
    hook.headers = {{"Content-Type", kFormType},
                    {"X-Twilio-Signature", Sign(signed_url + kParams)}};
    hook.body = kFormBody;
    SignatureCheck check = verifier.value()->Verify(hook, 0);
    EXPECT_FALSE(check.valid);
    EXPECT_EQ(check.reason, RejectReason::kUrlMismatch);
  }
}

}  // namespace
}  // namespace dlrd
