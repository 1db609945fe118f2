// Config validation: every error names its key; defaults apply; secrets are
// references unless the config is marked demo.
#include "dlrd/core/config/config.h"

#include <gtest/gtest.h>

#include <map>

namespace dlrd {
namespace {

// Resolves env:/file: from a fixed table, so the test does no I/O.
Result<std::string> FakeResolve(std::string_view ref) {
  static const std::map<std::string, std::string, std::less<>> kSecrets = {
      {"env:GOOD", "s3cret"},
      {"env:OLD", "old-secret"},
      {"file:/run/secret", "from-file"},
      {"env:WHSEC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
      {"env:BADWHSEC", "whsec_!!!!"},
  };
  auto it = kSecrets.find(ref);
  if (it == kSecrets.end()) {
    return Result<std::string>::Error("environment variable is not set");
  }
  return it->second;
}

const char* kMinimal = R"({
  "listen": "127.0.0.1:8080", "admin_listen": "127.0.0.1:9464",
  "database": "var/dlrd.db",
  "sources": { "verifynow": { "format": "verifynow",
    "signature": { "scheme": "hmac", "header": "X-Signature",
                   "algorithm": "sha256", "encoding": "hex",
                   "prefix": "sha256=", "secrets": ["env:GOOD"] } } } })";

TEST(ParseConfig, MinimalShapeFromTheIssue) {
  auto c = ParseConfig(kMinimal, FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Config& cfg = c.value();
  EXPECT_EQ(cfg.listen.host, "127.0.0.1");
  EXPECT_EQ(cfg.listen.port, 8080);
  EXPECT_EQ(cfg.admin_listen.port, 9464);
  EXPECT_EQ(cfg.store.path, "var/dlrd.db");
  ASSERT_EQ(cfg.sources.count("verifynow"), 1u);
  const SignatureConfig& sig = cfg.sources.at("verifynow").signature;
  EXPECT_EQ(sig.scheme, "hmac");
  EXPECT_EQ(sig.prefix, "sha256=");
  ASSERT_EQ(sig.secrets.size(), 1u);
  EXPECT_EQ(sig.secrets[0], "s3cret");
  // Defaults.
  EXPECT_EQ(cfg.limits.max_body_bytes, 65536u);
  EXPECT_EQ(cfg.limits.max_header_bytes, 8192u);
  EXPECT_EQ(cfg.limits.max_connections, 256u);
  EXPECT_FALSE(cfg.demo);
}

TEST(ParseConfig, CommentsAndRotationAndStandardWebhooks) {
  auto c = ParseConfig(R"({
    // comments are allowed
    "listen": "127.0.0.1:8080", /* and block comments */
    "limits": { "max_body_bytes": 1024, "idle_timeout_ms": 500 },
    "store": { "queue_capacity": 10, "max_batch": 5 },
    "sources": {
      "a": { "format": "verifynow", "signature": { "scheme": "hmac",
             "secrets": ["env:GOOD", "file:/run/secret"] } },
      "sw": { "format": "verifynow", "signature": {
             "scheme": "standard-webhooks", "secrets": ["env:WHSEC"],
             "tolerance_s": 60 } } } })",
                       FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().limits.max_body_bytes, 1024u);
  EXPECT_EQ(c.value().limits.idle_timeout_ms, 500);
  EXPECT_EQ(c.value().store.queue_capacity, 10u);
  EXPECT_EQ(c.value().sources.at("a").signature.secrets.size(), 2u);
  EXPECT_EQ(c.value().sources.at("a").signature.secrets[1], "from-file");
  EXPECT_EQ(c.value().sources.at("sw").signature.tolerance_s, 60);
}

TEST(ParseConfig, LiteralSecretOnlyInDemo) {
  std::string literal = R"({ "sources": { "a": { "format": "verifynow",
      "signature": { "scheme": "hmac", "secrets": ["plain-text"] } } } })";
  auto refused = ParseConfig(literal, FakeResolve);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("sources.a.signature.secrets[0]"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("plain-text"), std::string::npos)
      << "the error must not echo the secret";

  std::string demo = R"({ "demo": true, "sources": { "a": {
      "format": "verifynow",
      "signature": { "scheme": "hmac", "secrets": ["plain-text"] } } } })";
  auto accepted = ParseConfig(demo, FakeResolve);
  ASSERT_TRUE(accepted.ok()) << accepted.status().message();
  EXPECT_EQ(accepted.value().sources.at("a").signature.secrets[0],
            "plain-text");
}

struct ErrorCase {
  const char* name;
  std::string json;
  const char* key;  // the message must start with this
};

std::string WithSource(const std::string& source_body) {
  return R"({ "sources": { "vn": )" + source_body + "} }";
}
std::string WithSignature(const std::string& sig) {
  return WithSource(R"({ "format": "verifynow", "signature": )" + sig + "}");
}

TEST(ParseConfig, ErrorsNameTheKey) {
  const ErrorCase cases[] = {
      {"not json", "{", "config"},
      {"not an object", "[]", "config"},
      {"no sources", "{}", "sources: required"},
      {"empty sources", R"({"sources": {}})", "sources"},
      {"unknown top key", R"({"sources": {}, "lisen": "x"})", "sources"},
      {"bad listen", R"({"listen": "localhost", "sources": {}})", "listen"},
      {"bad port", R"({"listen": "127.0.0.1:99999", "sources": {}})", "listen"},
      {"listen not string", R"({"listen": 8080, "sources": {}})", "listen"},
      {"bad limit", R"({"limits": {"max_body_bytes": 0}, "sources": {}})",
       "limits.max_body_bytes"},
      {"limit wrong type", R"({"limits": {"max_connections": "10"}})",
       "limits.max_connections"},
      {"unknown limit", R"({"limits": {"max_bodybytes": 10}})",
       "limits.max_bodybytes: unknown key"},
      {"bad log level", R"({"log_level": "loud", "sources": {}})", "log_level"},
      {"bad source name", R"({"sources": {"Bad Name": {}}})",
       "sources.Bad Name"},
      {"unknown format", WithSource(R"({"format": "nope", "signature": {}})"),
       "sources.vn.format"},
      {"missing signature", WithSource(R"({"format": "verifynow"})"),
       "sources.vn.signature: required"},
      {"unknown source key",
       WithSource(R"({"format": "verifynow", "signatur": {}})"),
       "sources.vn.signature: required"},
      {"missing scheme", WithSignature(R"({"secrets": ["env:GOOD"]})"),
       "sources.vn.signature.scheme: required"},
      {"unknown scheme",
       WithSignature(R"({"scheme": "rot13", "secrets": ["env:GOOD"]})"),
       "sources.vn.signature.scheme"},
      {"bad algorithm",
       WithSignature(
           R"({"scheme": "hmac", "algorithm": "md5", "secrets": ["env:GOOD"]})"),
       "sources.vn.signature.algorithm"},
      {"bad encoding",
       WithSignature(
           R"({"scheme": "hmac", "encoding": "b32", "secrets": ["env:GOOD"]})"),
       "sources.vn.signature.encoding"},
      {"no secrets", WithSignature(R"({"scheme": "hmac", "secrets": []})"),
       "sources.vn.signature.secrets"},
      {"unset env",
       WithSignature(R"({"scheme": "hmac", "secrets": ["env:NOPE"]})"),
       "sources.vn.signature.secrets[0]"},
      {"second secret bad",
       WithSignature(R"({"scheme": "hmac", "secrets": ["env:GOOD", 5]})"),
       "sources.vn.signature.secrets[1]"},
      {"undecodable whsec",
       WithSignature(
           R"({"scheme": "standard-webhooks", "secrets": ["env:BADWHSEC"]})"),
       "sources.vn.signature.secrets[0]"},
      {"unknown signature key",
       WithSignature(R"({"scheme": "hmac", "secret": ["env:GOOD"]})"),
       "sources.vn.signature.secrets: required"},
      {"negative tolerance",
       WithSignature(R"({"scheme": "standard-webhooks", "tolerance_s": -1,
                         "secrets": ["env:WHSEC"]})"),
       "sources.vn.signature.tolerance_s"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ParseConfig(c.json, FakeResolve);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message().rfind(c.key, 0), 0u)
        << "message: " << r.status().message();
  }
}

TEST(ParseConfig, UnknownTopLevelKeyIsNamed) {
  std::string text = std::string(kMinimal);
  text.insert(1, R"("lisen": "127.0.0.1:1", )");
  auto r = ParseConfig(text, FakeResolve);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "lisen: unknown key");
}

TEST(ParseConfig, QuarantineDefaultsAndErrorsNameTheKey) {
  auto c = ParseConfig(kMinimal, FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c.value().quarantine.enabled);
  EXPECT_EQ(c.value().quarantine.max_rows, 10'000);
  EXPECT_EQ(c.value().quarantine.max_bytes, int64_t{64} << 20);
  EXPECT_EQ(c.value().quarantine.ttl_hours, 72);
  EXPECT_EQ(c.value().quarantine.max_queued, 4);

  std::string ok = std::string(kMinimal);
  ok.insert(1, R"("quarantine": {"enabled": false, "max_rows": 5,)"
               R"( "max_bytes": 4096, "ttl_hours": 1, "max_queued": 2}, )");
  auto set = ParseConfig(ok, FakeResolve);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_FALSE(set.value().quarantine.enabled);
  EXPECT_EQ(set.value().quarantine.max_rows, 5);
  EXPECT_EQ(set.value().quarantine.max_bytes, 4096);
  EXPECT_EQ(set.value().quarantine.ttl_hours, 1);
  EXPECT_EQ(set.value().quarantine.max_queued, 2);

  const std::pair<const char*, const char*> kCases[] = {
      {R"("quarantine": {"max_rows": 0}, )", "quarantine.max_rows"},
      {R"("quarantine": {"max_bytes": -1}, )", "quarantine.max_bytes"},
      {R"("quarantine": {"ttl_hours": 0}, )", "quarantine.ttl_hours"},
      {R"("quarantine": {"max_queued": 0}, )", "quarantine.max_queued"},
      {R"("quarantine": {"enabled": "yes"}, )",
       "quarantine.enabled: must be true or false"},
      {R"("quarantine": {"maxrows": 5}, )", "quarantine.maxrows: unknown key"},
      {R"("quarantine": 5, )", "quarantine: must be an object"},
  };
  for (const auto& [insert, error] : kCases) {
    std::string text = std::string(kMinimal);
    text.insert(1, insert);
    auto r = ParseConfig(text, FakeResolve);
    ASSERT_FALSE(r.ok()) << insert;
    EXPECT_EQ(r.status().message().rfind(error, 0), 0u)
        << insert << " -> " << r.status().message();
  }
}

TEST(ParseConfig, RetentionIsOffByDefaultAndChecked) {
  auto c = ParseConfig(kMinimal, FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().retention.events_days, 0);
  EXPECT_EQ(c.value().retention.rollup_days, 400);

  const std::pair<const char*, const char*> kCases[] = {
      {R"("retention": {"events_days": 30, "rollup_days": 90}, )", ""},
      {R"("retention": {"events_days": 1}, )",
       "retention.events_days: must be 0 (keep) or at least 2, so provider "
       "retries still find their duplicates"},
      {R"("retention": {"events_days": -3}, )", "retention.events_days"},
      {R"("retention": {"event_days": 30}, )",
       "retention.event_days: unknown key"},
      {R"("retention": 30, )", "retention: must be an object"},
      {R"("retention": {"events_days": 30, "rollup_days": 10}, )",
       "retention.rollup_days: must be at least events_days"},
  };
  for (const auto& [insert, error] : kCases) {
    std::string text = std::string(kMinimal);
    text.insert(1, insert);
    auto r = ParseConfig(text, FakeResolve);
    if (error[0] == '\0') {
      ASSERT_TRUE(r.ok()) << insert << ": " << r.status().message();
      EXPECT_EQ(r.value().retention.events_days, 30);
      EXPECT_EQ(r.value().retention.rollup_days, 90);
      continue;
    }
    ASSERT_FALSE(r.ok()) << insert;
    EXPECT_EQ(r.status().message().rfind(error, 0), 0u)
        << insert << " -> " << r.status().message();
  }
}

TEST(ParseConfig, DedupeDaysDefaultsToAtLeastEventsDaysAndIsChecked) {
  const auto parse = [](const char* retention) {
    std::string text = std::string(kMinimal);
    text.insert(1, retention);
    return ParseConfig(text, FakeResolve);
  };
  auto c = parse("");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().retention.dedupe_days, 400);
  c = parse(R"("retention": {"events_days": 30}, )");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().retention.dedupe_days, 400);
  c = parse(R"("retention": {"events_days": 500, "rollup_days": 500}, )");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().retention.dedupe_days, 500);
  c = parse(R"("retention": {"events_days": 30, "dedupe_days": 30}, )");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().retention.dedupe_days, 30);

  c = parse(R"("retention": {"events_days": 30, "dedupe_days": 29}, )");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "retention.dedupe_days: must be at least events_days");
  c = parse(R"("retention": {"events_days": 30, "dedupe_days": 0}, )");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("retention.dedupe_days: must be", 0), 0u)
      << c.status().message();
}

TEST(FirstNonReloadableChange, SecretsReloadOtherKeysAreNamed) {
  const std::string base = R"({"listen": "127.0.0.1:1", // comment
    "admin_token": "env:A", "providers": {"twilio": {"auth_token": "env:T"}},
    "sources": {"vn": {"format": "verifynow", "allow_ips": ["10.0.0.1"],
      "signature": {"scheme": "hmac", "secrets": ["env:S"]}}}})";
  const std::pair<std::string, std::string> kCases[] = {
      {base, ""},
      {R"({"listen": "127.0.0.1:1", "admin_token": "file:/x",
        "providers": {"twilio": {"auth_token": "env:T2"}},
        "sources": {"vn": {"format": "twilio-messaging",
          "allow_ips": ["10.0.0.1"],
          "signature": {"scheme": "twilio", "secrets": ["env:S2"]}}}})",
       ""},
      {R"({"listen": "127.0.0.1:2", "admin_token": "env:A",
        "sources": {"vn": {"format": "verifynow", "allow_ips": ["10.0.0.1"],
          "signature": {}}}})",
       "listen"},
      {R"({"listen": "127.0.0.1:1",
        "sources": {"vn": {"format": "verifynow", "allow_ips": [],
          "signature": {}}}})",
       "sources.vn.allow_ips"},
      {R"({"listen": "127.0.0.1:1", "sources": {"vn": {"allow_ips":
        ["10.0.0.1"]}, "vn2": {}}})",
       "sources.vn2"},
      {R"({"listen": "127.0.0.1:1", "retention": {"events_days": 9},
        "sources": {"vn": {"allow_ips": ["10.0.0.1"]}}})",
       "retention"},
  };
  for (const auto& [after, key] : kCases) {
    auto r = FirstNonReloadableChange(base, after);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), key) << after;
  }
  EXPECT_FALSE(FirstNonReloadableChange(base, "{not json").ok());
}

TEST(ParseConfig, AdminMustDifferFromPublic) {
  std::string text = std::string(kMinimal);
  text.replace(text.find("9464"), 4, "8080");
  auto r = ParseConfig(text, FakeResolve);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("admin_listen", 0), 0u);
}

TEST(ParseConfig, ProxyAndLimitDefaults) {
  auto c = ParseConfig(kMinimal, FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c.value().trusted_proxies.empty());
  EXPECT_FALSE(c.value().rate_limit.has_value());
  EXPECT_TRUE(c.value().sources.at("verifynow").allow_ips.empty());
}

TEST(ParseConfig, TrustedProxiesRateLimitAllowIps) {
  auto c = ParseConfig(R"({
    "trusted_proxies": ["127.0.0.1/32", "::1/128", "10.1.2.3"],
    "rate_limit": { "per_ip_per_s": 2.5, "burst": 20 },
    "sources": {
      "a": { "format": "verifynow", "allow_ips": ["203.0.113.0/24",
             "2001:db8::/32"],
             "signature": { "scheme": "hmac", "secrets": ["env:GOOD"] } },
      "b": { "format": "verifynow", "allow_ips": [],
             "signature": { "scheme": "hmac", "secrets": ["env:GOOD"] } } }
  })",
                       FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Config& cfg = c.value();
  ASSERT_EQ(cfg.trusted_proxies.size(), 3u);
  EXPECT_EQ(cfg.trusted_proxies.ranges()[2].ToString(), "10.1.2.3/32");
  EXPECT_TRUE(cfg.trusted_proxies.Contains("::1"));
  ASSERT_TRUE(cfg.rate_limit.has_value());
  EXPECT_DOUBLE_EQ(cfg.rate_limit->per_ip_per_s, 2.5);
  EXPECT_EQ(cfg.rate_limit->burst, 20);
  const CidrSet& allow = cfg.sources.at("a").allow_ips;
  EXPECT_EQ(allow.size(), 2u);
  EXPECT_TRUE(allow.Contains("203.0.113.7"));
  EXPECT_FALSE(allow.Contains("198.51.100.9"));
  EXPECT_TRUE(cfg.sources.at("b").allow_ips.empty());

  auto integer_rate = ParseConfig(
      R"({"rate_limit": {"per_ip_per_s": 1, "burst": 1},
          "sources": {"a": {"format": "verifynow", "signature": {
            "scheme": "hmac", "secrets": ["env:GOOD"]}}}})",
      FakeResolve);
  ASSERT_TRUE(integer_rate.ok()) << integer_rate.status().message();
  EXPECT_DOUBLE_EQ(integer_rate.value().rate_limit->per_ip_per_s, 1.0);
}

TEST(ParseConfig, ProxyAndLimitErrorsNameTheKey) {
  auto with_allow = [](const std::string& allow) {
    return WithSource(R"({ "format": "verifynow", "allow_ips": )" + allow +
                      R"(, "signature": { "scheme": "hmac",
                              "secrets": ["env:GOOD"] } })");
  };
  const struct {
    const char* name;
    std::string json;
    const char* message;  // exact, or a prefix when `exact` is false
    bool exact;
  } cases[] = {
      {"prefix too long",
       R"({"trusted_proxies": ["127.0.0.1/32", "10.0.0.0/33"], "sources": {}})",
       "trusted_proxies[1]: invalid CIDR \"10.0.0.0/33\": prefix length must "
       "be 0-32",
       true},
      {"not an address", R"({"trusted_proxies": ["nginx"], "sources": {}})",
       "trusted_proxies[0]: invalid CIDR \"nginx\"", false},
      {"host bits",
       R"({"trusted_proxies": ["192.168.1.10/24"], "sources": {}})",
       "trusted_proxies[0]: invalid CIDR \"192.168.1.10/24\": host bits are "
       "set (the network is 192.168.1.0/24)",
       true},
      {"not an array", R"({"trusted_proxies": "127.0.0.1", "sources": {}})",
       "trusted_proxies: must be an array", false},
      {"element not a string", R"({"trusted_proxies": [127], "sources": {}})",
       "trusted_proxies[0]: must be a string", true},
      {"rate_limit not an object", R"({"rate_limit": 5, "sources": {}})",
       "rate_limit: must be an object", true},
      {"rate missing", R"({"rate_limit": {"burst": 3}, "sources": {}})",
       "rate_limit.per_ip_per_s: required", true},
      {"burst missing", R"({"rate_limit": {"per_ip_per_s": 1}, "sources": {}})",
       "rate_limit.burst: required", true},
      {"rate zero",
       R"({"rate_limit": {"per_ip_per_s": 0, "burst": 3}, "sources": {}})",
       "rate_limit.per_ip_per_s: must be a number > 0", false},
      {"rate negative",
       R"({"rate_limit": {"per_ip_per_s": -1.5, "burst": 3}, "sources": {}})",
       "rate_limit.per_ip_per_s: must be a number > 0", false},
      {"rate a string",
       R"({"rate_limit": {"per_ip_per_s": "10", "burst": 3}, "sources": {}})",
       "rate_limit.per_ip_per_s: must be a number > 0", false},
      {"rate a bool",
       R"({"rate_limit": {"per_ip_per_s": true, "burst": 3}, "sources": {}})",
       "rate_limit.per_ip_per_s: must be a number > 0", false},
      {"burst zero",
       R"({"rate_limit": {"per_ip_per_s": 1, "burst": 0}, "sources": {}})",
       "rate_limit.burst: must be between 1 and 1000000", true},
      {"burst fractional",
       R"({"rate_limit": {"per_ip_per_s": 1, "burst": 2.5}, "sources": {}})",
       "rate_limit.burst: must be an integer", true},
      {"unknown rate_limit key",
       R"({"rate_limit": {"per_ip_per_s": 1, "burst": 2, "per_ip": 3},
           "sources": {}})",
       "rate_limit.per_ip: unknown key", true},
      {"allow_ips bad entry", with_allow(R"(["203.0.113.0/24", "::/200"])"),
       "sources.vn.allow_ips[1]: invalid CIDR \"::/200\": prefix length must "
       "be 0-128",
       true},
      {"allow_ips not an array", with_allow(R"("203.0.113.0/24")"),
       "sources.vn.allow_ips: must be an array", false},
      {"allow_ips misspelt",
       WithSource(R"({ "format": "verifynow", "allow_ip": [],
                       "signature": { "scheme": "hmac",
                                      "secrets": ["env:GOOD"] } })"),
       "sources.vn.allow_ip: unknown key", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ParseConfig(c.json, FakeResolve);
    ASSERT_FALSE(r.ok());
    if (c.exact) {
      EXPECT_EQ(r.status().message(), c.message);
    } else {
      EXPECT_EQ(r.status().message().rfind(c.message, 0), 0u)
          << "message: " << r.status().message();
    }
  }
}

std::string SinchSource(const std::string& format, const std::string& extra) {
  return WithSource(R"({ "format": ")" + format + "\", " + extra +
                    R"( "signature": { "scheme": "hmac",
                                       "secrets": ["env:GOOD"] } })");
}

TEST(ParseConfig, RequestActionDefaultsToAllow) {
  auto c = ParseConfig(SinchSource("sinch-verification", ""), FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().sources.at("vn").format_options.request_action, "allow");
  c = ParseConfig(
      SinchSource("sinch-verification", R"("request_action": "deny",)"),
      FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().sources.at("vn").format_options.request_action, "deny");
}

TEST(ParseConfig, RequestActionErrorsNameTheKey) {
  const struct {
    std::string json;
    const char* message;
  } cases[] = {
      {SinchSource("sinch-verification", R"("request_action": "maybe",)"),
       "sources.vn.request_action: must be \"allow\" or \"deny\""},
      {SinchSource("sinch-verification", R"("request_action": true,)"),
       "sources.vn.request_action: must be a string"},
      {SinchSource("sinch-sms", R"("request_action": "allow",)"),
       "sources.vn.request_action: only applies to format sinch-verification"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.json, FakeResolve);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(ParseEndpoint, Forms) {
  EXPECT_TRUE(ParseEndpoint("127.0.0.1:1").ok());
  EXPECT_TRUE(ParseEndpoint("[::1]:8080").ok());
  EXPECT_EQ(ParseEndpoint("[::1]:8080").value().host, "::1");
  EXPECT_FALSE(ParseEndpoint("127.0.0.1").ok());
  EXPECT_FALSE(ParseEndpoint(":80").ok());
  EXPECT_FALSE(ParseEndpoint("h:0").ok());
  EXPECT_FALSE(ParseEndpoint("h:65536").ok());
  EXPECT_FALSE(ParseEndpoint("h:80x").ok());
}

}  // namespace
}  // namespace dlrd

namespace dlrd {
namespace {

std::string WithFallback(const std::string& providers,
                         const std::string& fallback,
                         const std::string& extra = "") {
  return R"({ )" + extra + R"( "providers": )" + providers + R"(,
    "sources": { "tw": { "format": "twilio-messaging",
      "signature": { "scheme": "twilio",
                     "public_url": "https://hooks.example.com/webhooks/tw",
                     "secrets": ["env:GOOD"] },
      "fallback": )" +
         fallback + "} } }";
}

const char* kTwilioProvider = R"({ "twilio": {
    "base_url": "https://verify.twilio.com/",
    "account_sid": "AC0123456789abcdef0123456789abcdef",
    "auth_token": "env:GOOD", "service_sid": "VA0123456789abcdef0123456789abcdef",
    "request_timeout_ms": 2000 } })";

TEST(ParseConfig, FallbackAndProviders) {
  auto c = ParseConfig(
      WithFallback(kTwilioProvider,
                   R"({ "provider": "twilio", "chain": ["sms", "voice"],
                        "deadline_s": { "sms": 20 }, "max_steps": 2 })",
                   R"("admin_token": "env:WHSEC",
                      "outbox": {"poll_ms": 50, "in_flight_lease_ms": 20000},)"),
      FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Config& cfg = c.value();
  const ProviderConfig& p = cfg.providers.at("twilio");
  EXPECT_EQ(p.base_url, "https://verify.twilio.com");  // trailing '/' dropped
  EXPECT_EQ(p.credentials.at("auth_token"), "s3cret");
  EXPECT_EQ(p.request_timeout_ms, 2000);
  const FallbackConfig& f = *cfg.sources.at("tw").fallback;
  EXPECT_EQ(f.provider, "twilio");
  EXPECT_EQ(f.chain, (std::vector<Channel>{Channel::kSms, Channel::kVoice}));
  EXPECT_EQ(f.DeadlineFor(Channel::kSms), 20000);
  EXPECT_EQ(f.DeadlineFor(Channel::kVoice), f.default_deadline_ms);
  EXPECT_EQ(f.max_steps, 2);
  EXPECT_EQ(cfg.outbox.poll_ms, 50);
  EXPECT_EQ(cfg.outbox.in_flight_lease_ms, 20000);
  EXPECT_EQ(cfg.admin_token, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
}

TEST(ParseConfig, FallbackErrorsNameTheKey) {
  const std::string ok_fallback = R"({ "provider": "twilio" })";
  const struct {
    std::string json;
    const char* message;
  } cases[] = {
      {WithFallback(R"({ "sms77": {} })", ok_fallback),
       "providers.sms77: unknown provider (verifynow, twilio, vonage, sinch)"},
      {WithFallback(R"({ "twilio": { "base_url": "http://x",
          "account_sid": "AC1", "auth_token": "env:GOOD",
          "service_sid": "VA1" } })",
                    ok_fallback),
       "providers.twilio.base_url: must start with https://"},
      {WithFallback(R"({ "twilio": { "base_url": "https://x",
          "account_sid": "AC1", "service_sid": "VA1" } })",
                    ok_fallback),
       "providers.twilio.auth_token: required"},
      {WithFallback(R"({ "twilio": { "base_url": "https://x",
          "account_sid": "AC1", "auth_token": "literal",
          "service_sid": "VA1" } })",
                    ok_fallback),
       "providers.twilio.auth_token: literal secrets are refused; use "
       "env:NAME or file:PATH (or mark the config \"demo\": true)"},
      {WithFallback(kTwilioProvider, R"({ "provider": "vonage" })"),
       "sources.tw.fallback.provider: \"vonage\" is not configured under "
       "providers"},
      {WithFallback(kTwilioProvider,
                    R"({ "provider": "twilio", "chain": ["sms", "fax"] })"),
       "sources.tw.fallback.chain[1]: \"fax\" is not one of sms, whatsapp, "
       "voice"},
      {WithFallback(kTwilioProvider,
                    R"({ "provider": "twilio", "chain": ["sms", "sms"] })"),
       "sources.tw.fallback.chain[1]: repeats a channel"},
      {WithFallback(kTwilioProvider, R"({ "provider": "twilio",
                                          "deadline_s": { "email": 3 } })"),
       "sources.tw.fallback.deadline_s.email: unknown key"},
      {WithFallback(kTwilioProvider, R"({ "provider": "twilio",
                                          "deadline_s": { "sms": 0 } })"),
       "sources.tw.fallback.deadline_s.sms: must be between 1 and 86400"},
      {WithFallback(kTwilioProvider, R"({ "provider": "twilio",
                                          "max_step": 2 })"),
       "sources.tw.fallback.max_step: unknown key"},
      {WithFallback(kTwilioProvider, ok_fallback,
                    R"("admin_token": "env:GOOD",)"),
       "admin_token: must be at least 16 characters"},
      {WithFallback(kTwilioProvider, ok_fallback,
                    R"("outbox": {"poll_ms": 1},)"),
       "outbox.poll_ms: must be between 10 and 60000"},
      {WithFallback(kTwilioProvider, ok_fallback,
                    R"("outbox": {"in_flight_lease_ms": 0},)"),
       "outbox.in_flight_lease_ms: must be between 100 and 86400000"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.json, FakeResolve);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().message(), c.message);
  }
}

}  // namespace
}  // namespace dlrd

namespace dlrd {
namespace {

// kMinimal with `database` (and extra top-level keys) replaced.
std::string WithDatabase(const std::string& database,
                         const std::string& extra = "") {
  std::string text = kMinimal;
  const std::string from = "\"database\": \"var/dlrd.db\",";
  text.replace(text.find(from), from.size(),
               "\"database\": \"" + database + "\"," + extra);
  return text;
}

TEST(ParseConfig, PostgresUriSelectsThePostgresStore) {
  auto c = ParseConfig(
      WithDatabase("postgresql://dlrd@db.internal:5432/dlrd?sslmode=verify-full"
                   "&sslrootcert=/etc/dlrd/ca.pem",
                   "\"database_password\": \"env:GOOD\","),
      FakeResolve);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().store.backend, StoreBackend::kPostgres);
  // The URI passes through untouched (TLS options for libpq included).
  EXPECT_EQ(c.value().store.path,
            "postgresql://dlrd@db.internal:5432/dlrd?sslmode=verify-full"
            "&sslrootcert=/etc/dlrd/ca.pem");
  EXPECT_EQ(c.value().store.password, "s3cret");

  auto plain = ParseConfig(kMinimal, FakeResolve);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.value().store.backend, StoreBackend::kSqlite);
  // postgres:// is libpq's other spelling; no password: PGPASSFILE applies.
  auto short_scheme =
      ParseConfig(WithDatabase("postgres://dlrd@127.0.0.1/dlrd"), FakeResolve);
  ASSERT_TRUE(short_scheme.ok()) << short_scheme.status().message();
  EXPECT_EQ(short_scheme.value().store.backend, StoreBackend::kPostgres);
  EXPECT_EQ(short_scheme.value().store.password, "");
}

TEST(ParseConfig, PostgresPasswordNeverInTheFile) {
  for (const char* uri :
       {"postgresql://dlrd:hunter2@db/dlrd", "postgresql://dlrd:@db/dlrd",
        "postgresql://db/dlrd?sslmode=require&password=hunter2",
        "postgresql://db/dlrd?PASSWORD=hunter2"}) {
    auto c = ParseConfig(WithDatabase(uri), FakeResolve);
    ASSERT_FALSE(c.ok()) << uri;
    EXPECT_EQ(c.status().message().rfind("database: ", 0), 0u)
        << c.status().message();
    EXPECT_NE(c.status().message().find("database_password"),
              std::string::npos);
    // The message never echoes the secret.
    EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
  }
  // A literal password is refused like any other secret.
  auto literal = ParseConfig(
      WithDatabase("postgresql://dlrd@db/dlrd",
                   "\"database_password\": \"hunter2\","),
      FakeResolve);
  ASSERT_FALSE(literal.ok());
  EXPECT_EQ(literal.status().message().rfind("database_password", 0), 0u)
      << literal.status().message();
  // An unresolvable reference names the key.
  auto missing = ParseConfig(
      WithDatabase("postgresql://dlrd@db/dlrd",
                   "\"database_password\": \"env:NOPE\","),
      FakeResolve);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().rfind("database_password", 0), 0u)
      << missing.status().message();
  // With SQLite there is nothing to authenticate to.
  auto sqlite = ParseConfig(
      WithDatabase("var/dlrd.db", "\"database_password\": \"env:GOOD\","),
      FakeResolve);
  ASSERT_FALSE(sqlite.ok());
  EXPECT_EQ(sqlite.status().message().rfind("database_password", 0), 0u);
}

TEST(ParseConfig, PostgresRunsRetentionAndFallback) {
  // Retention runs on PostgreSQL (src/postgres/pg_retention.h): accepted.
  auto retention = ParseConfig(
      WithDatabase("postgresql://dlrd@db/dlrd",
                   "\"retention\": {\"events_days\": 30},"),
      FakeResolve);
  ASSERT_TRUE(retention.ok()) << retention.status().message();
  EXPECT_EQ(retention.value().store.backend, StoreBackend::kPostgres);
  EXPECT_EQ(retention.value().retention.events_days, 30);
  // So do fallback sends (src/postgres/pg_outbox.h): accepted.
  auto fallback = ParseConfig(
      WithFallback(kTwilioProvider, R"({ "provider": "twilio" })",
                   R"("database": "postgresql://dlrd@db/dlrd",)"),
      FakeResolve);
  ASSERT_TRUE(fallback.ok()) << fallback.status().message();
  EXPECT_EQ(fallback.value().store.backend, StoreBackend::kPostgres);
  ASSERT_EQ(fallback.value().sources.count("tw"), 1u);
  EXPECT_TRUE(fallback.value().sources.at("tw").fallback.has_value());
}

}  // namespace
}  // namespace dlrd
