// RedactHead / RedactTarget: credentials no signature scheme needs are
// replaced before a request is stored; everything else stays byte-exact.
#include "dlrd/core/util/redact.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {
namespace {

constexpr char kHead[] =
    "POST /webhooks/tw?attempt=1 HTTP/1.1\r\n"
    "Host: hooks.example.com\r\n"
    "Authorization: Basic dXNlcjpwYXNz\r\n"
    "X-Twilio-Signature: c2lnbmF0dXJl\r\n"
    "Cookie: session=abc; theme=dark\r\n"
    "Proxy-Authorization:Bearer proxy-token  \r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "x-api-key: k-123\r\n"
    "X-AUTH-TOKEN: t-456\r\n"
    "Content-Length: 7\r\n"
    "\r\n";

constexpr char kRedactedHead[] =
    "POST /webhooks/tw?attempt=1 HTTP/1.1\r\n"
    "Host: hooks.example.com\r\n"
    "Authorization: [redacted]\r\n"
    "X-Twilio-Signature: c2lnbmF0dXJl\r\n"
    "Cookie: [redacted]\r\n"
    "Proxy-Authorization:[redacted]  \r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "x-api-key: [redacted]\r\n"
    "X-AUTH-TOKEN: [redacted]\r\n"
    "Content-Length: 7\r\n"
    "\r\n";

TEST(RedactHead, CredentialValuesReplacedRestByteExact) {
  EXPECT_EQ(RedactHead(kHead, {}), kRedactedHead);
  // What the scheme reads but is no credential is untouched either way.
  EXPECT_EQ(RedactHead(kHead, {"X-Twilio-Signature", "Content-Type"}),
            kRedactedHead);
}

TEST(RedactHead, KeptHeadersSurviveInAnyCase) {
  const std::string out = RedactHead(kHead, {"authorization"});
  EXPECT_NE(out.find("\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\r\nCookie: [redacted]\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.size(),
            std::string(kRedactedHead).size() -
                std::string("[redacted]").size() +
                std::string("Basic dXNlcjpwYXNz").size());
}

TEST(RedactHead, NothingToRedactIsIdentity) {
  const std::string head =
      "POST /webhooks/vn HTTP/1.1\r\nHost: x\r\nX-Signature: ab\r\n"
      "X-Authorization-Hint: not-a-credential-name\r\n\r\n";
  EXPECT_EQ(RedactHead(head, {}), head);
}

TEST(RedactHead, EdgeShapes) {
  const struct {
    const char* name;
    const char* head;
    const char* want;
  } cases[] = {
      {"bare LF line ends", "POST / HTTP/1.1\nCookie: a=b\nHost: x\n\n",
       "POST / HTTP/1.1\nCookie: [redacted]\nHost: x\n\n"},
      {"empty value left empty", "POST / HTTP/1.1\r\nCookie:\r\n\r\n",
       "POST / HTTP/1.1\r\nCookie:\r\n\r\n"},
      {"tabs around the value",
       "POST / HTTP/1.1\r\nAuthorization:\tBasic eA==\t\r\n\r\n",
       "POST / HTTP/1.1\r\nAuthorization:\t[redacted]\t\r\n\r\n"},
      {"obs-fold continuation redacted with it",
       "POST / HTTP/1.1\r\nAuthorization: Basic\r\n dXNlcjpwYXNz\r\nHost: x\r\n"
       "\r\n",
       "POST / HTTP/1.1\r\nAuthorization: [redacted]\r\nHost: x\r\n\r\n"},
      {"repeated header, each redacted",
       "POST / HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
       "POST / HTTP/1.1\r\nCookie: [redacted]\r\nCookie: [redacted]\r\n\r\n"},
      {"a value that looks like a header is not one",
       "POST / HTTP/1.1\r\nX-Note: Authorization: x\r\n\r\n",
       "POST / HTTP/1.1\r\nX-Note: Authorization: x\r\n\r\n"},
      {"no trailing blank line", "POST / HTTP/1.1\r\nCookie: a=1",
       "POST / HTTP/1.1\r\nCookie: [redacted]"},
      {"userinfo in an absolute-form target",
       "POST https://user:pass@hooks.example.com/webhooks/x?q=1 HTTP/1.1\r\n"
       "Host: hooks.example.com\r\n\r\n",
       "POST https://[redacted]@hooks.example.com/webhooks/x?q=1 HTTP/1.1\r\n"
       "Host: hooks.example.com\r\n\r\n"},
      {"an @ in the query is no userinfo",
       "POST /webhooks/x?to=a@b.example HTTP/1.1\r\n\r\n",
       "POST /webhooks/x?to=a@b.example HTTP/1.1\r\n\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RedactHead(c.head, {}), c.want);
  }
}

TEST(RedactTarget, OnlyAbsoluteFormUserinfo) {
  EXPECT_EQ(RedactTarget("/webhooks/tw?attempt=1"), "/webhooks/tw?attempt=1");
  EXPECT_EQ(RedactTarget("/webhooks/tw?u=http://a:b@c/"),
            "/webhooks/tw?u=http://a:b@c/");
  EXPECT_EQ(RedactTarget("http://u:p@h:8080/webhooks/tw"),
            "http://[redacted]@h:8080/webhooks/tw");
  EXPECT_EQ(RedactTarget("http://u@h/"), "http://[redacted]@h/");
  EXPECT_EQ(RedactTarget("http://h/x@y"), "http://h/x@y");
}

// Which credential headers each scheme keeps: exactly those it signs over.
TEST(RedactHead, PerSchemeSurvivors) {
  const std::string head =
      "POST /webhooks/s HTTP/1.1\r\n"
      "Authorization: Scheme-Specific c3VwZXI=\r\n"
      "Cookie: s=1\r\n"
      "X-Api-Key: k\r\n"
      "\r\n";
  auto config = [](std::string scheme, std::string secret) {
    SignatureConfig c;
    c.scheme = std::move(scheme);
    c.secrets = {std::move(secret)};
    return c;
  };
  SignatureConfig hmac_on_authorization = config("hmac", "s");
  hmac_on_authorization.header = "Authorization";
  // Twilio signs the configured URL, userinfo and all, never the header.
  SignatureConfig twilio = config("twilio", "s");
  twilio.public_url = "https://user:pass@hooks.example.com/webhooks/s";
  SignatureConfig vonage_sig = config("vonage-sig", "s");
  vonage_sig.algorithm = "md5hash";
  SignatureConfig sinch_app = config("sinch", "c2VjcmV0");
  sinch_app.variant = "application";
  sinch_app.application_key = "k";
  SignatureConfig sinch_nonce = config("sinch", "s");
  sinch_nonce.variant = "nonce";
  SignatureConfig sinch_numbers = config("sinch", "s");
  sinch_numbers.variant = "numbers";
  const struct {
    SignatureConfig config;
    bool keeps_authorization;
  } cases[] = {
      {config("hmac", "s"), false},
      {hmac_on_authorization, true},
      {config("standard-webhooks", "whsec_c2VjcmV0"), false},
      {twilio, false},
      {config("vonage-jwt", "s"), true},  // Authorization: Bearer <JWT>
      {vonage_sig, false},
      {sinch_app, true},  // Authorization: Application <key>:<signature>
      {sinch_nonce, false},
      {sinch_numbers, false},
      {config("stripe", "whsec_s"), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config.scheme + " " + c.config.variant + " " +
                 c.config.header);
    auto verifier = MakeSignatureVerifier(c.config);
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    const std::string out = RedactHead(head, verifier.value()->HeadersRead());
    EXPECT_EQ(out.find("Authorization: Scheme-Specific c3VwZXI=\r\n") !=
                  std::string::npos,
              c.keeps_authorization)
        << out;
    EXPECT_NE(out.find("\r\nCookie: [redacted]\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nX-Api-Key: [redacted]\r\n"), std::string::npos);
  }
}

}  // namespace
}  // namespace dlrd
