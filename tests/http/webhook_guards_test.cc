// WebhookHandler's guards: client IP through trusted proxies, the per-client
// budget of refusals (429 + Retry-After; signed callbacks never limited) and
// per-source allowlists (403), with their metrics. Runs the real ingest
// service over an in-test store; no sockets.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dlrd/core/config/config.h"
#include "dlrd/core/util/encoding.h"
#include "dlrd/app/ingest/ingest_queue.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/app/ingest/rate_limiter.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/metrics.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/http/webhook_routes.h"

namespace dlrd {
namespace {

constexpr char kSecret[] = "guards-test-secret";
constexpr int64_t kNowMs = 1'735'689'600'000;

class FixedClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_ms; }
  int64_t now_ms = kNowMs;
};

// Commits everything; every event is new.
class AcceptAllStore final : public EventStore {
 public:
  BatchResult CommitBatch(
      const std::vector<const Submission*>& batch) override {
    BatchResult r;
    for (const Submission* s : batch) {
      if (!s->raw.source.empty()) stored.fetch_add(1);
      SubmissionResult sr;
      sr.inserted.assign(s->events.size(), true);
      r.submissions.push_back(std::move(sr));
    }
    return r;
  }
  std::atomic<size_t> stored{0};  // raw requests committed
};

std::string ConfigText(const std::string& top, const std::string& allow) {
  return R"({ "demo": true, )" + top + R"( "sources": {
    "open": { "format": "verifynow",
              "signature": { "scheme": "hmac", "secrets": [")" +
         kSecret + R"("] } },
    "locked": { "format": "verifynow", "allow_ips": )" +
         allow + R"(,
              "signature": { "scheme": "hmac", "secrets": [")" +
         kSecret + R"("] } },
    "vonage": { "format": "vonage-messages",
              "signature": { "scheme": "vonage-jwt", "secrets": [")" +
         kSecret + R"("] } } } })";
}

// One dlrd pipeline minus the sockets.
class Harness {
 public:
  explicit Harness(const std::string& config_text) {
    auto c = ParseConfig(config_text, [](std::string_view) {
      return Result<std::string>::Error("no secrets here");
    });
    EXPECT_TRUE(c.ok()) << c.status().message();
    config_ = std::move(c).value();
    auto s = BuildSources(config_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    sources_ = std::move(s).value();
    metrics_.emplace(registry_, MetricLabels(sources_), BuildLabels{"t", "t"});
    log_file_ = open_memstream(&log_buf_, &log_len_);
    log_.emplace(log_file_, LogLevel::kDebug);
    queue_.emplace(store_, IngestQueueOptions{}, &*metrics_, nullptr);
    queue_->Start();
    ingest_.emplace(sources_, *queue_, *metrics_, *log_);
    if (config_.rate_limit) {
      RateLimiterOptions o;
      o.per_s = config_.rate_limit->per_ip_per_s;
      o.burst = config_.rate_limit->burst;
      limiter_.emplace(o);
    }
    handler_.emplace(
        *ingest_, clock_,
        MakeWebhookGuards(config_, limiter_ ? &*limiter_ : nullptr), &*metrics_,
        &*log_);
  }
  ~Harness() {
    handler_.reset();
    ingest_.reset();
    queue_.reset();  // Stop()
    log_.reset();
    std::fclose(log_file_);
    std::free(log_buf_);
  }

  HttpResponse Post(const std::string& source, const std::string& peer,
                    std::vector<std::string> xff = {}, bool sign = true,
                    std::optional<std::string> body = std::nullopt) {
    static int n = 0;
    HttpRequest req;
    req.method = "POST";
    req.target = "/webhooks/" + source;
    req.body = body ? *body
                    : R"({"verificationId":"g-)" + std::to_string(++n) +
                          R"(","deliveryStatus":"DELIVERED","channel":"SMS"})";
    req.headers.emplace_back("Host", "dlrd");
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back(
        "X-Signature",
        sign ? HexEncode(*Hmac(HashAlgorithm::kSha256, kSecret, req.body))
             : std::string(64, '0'));
    for (auto& v : xff) req.headers.emplace_back("X-Forwarded-For", v);
    req.peer_ip = peer;
    return Handle(std::move(req));
  }

  HttpResponse Handle(HttpRequest req) {
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    handler_->Handle(std::move(req),
                     [&p](HttpResponse r) { p.set_value(std::move(r)); });
    return f.get();
  }

  double Limited(const char* reason) {
    return metrics_->requests_limited(reason).Value();
  }
  // dlrd_webhook_requests_total{source, outcome}.
  double Requests(const std::string& source, IngestOutcome o) {
    return metrics_->source(source).requests[static_cast<size_t>(o)]->Value();
  }
  size_t Stored() const { return store_.stored.load(); }
  int LogCount(std::string_view event) {
    const std::string log = Log();
    const std::string needle = "event=" + std::string(event);
    int n = 0;
    for (size_t at = log.find(needle); at != std::string::npos;
         at = log.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
  std::string Log() {
    std::fflush(log_file_);
    return std::string(log_buf_, log_len_);
  }
  FixedClock& clock() { return clock_; }

 private:
  Config config_;
  SourceMap sources_;
  prometheus::Registry registry_;
  std::optional<Metrics> metrics_;
  char* log_buf_ = nullptr;
  size_t log_len_ = 0;
  std::FILE* log_file_ = nullptr;
  std::optional<Logger> log_;
  AcceptAllStore store_;
  std::optional<IngestQueue> queue_;
  std::optional<IngestService> ingest_;
  std::optional<RateLimiter> limiter_;
  FixedClock clock_;
  std::optional<WebhookHandler> handler_;
};

std::optional<std::string> HeaderOf(const HttpResponse& r,
                                    std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

TEST(WebhookGuards, AllowlistBehindTrustedProxy) {
  Harness h(ConfigText(R"("trusted_proxies": ["127.0.0.1/32"],)",
                       R"(["203.0.113.0/24"])"));
  const struct {
    const char* name;
    const char* source;
    const char* peer;
    std::vector<std::string> xff;
    unsigned status;
  } cases[] = {
      {"client via nginx allowed", "locked", "127.0.0.1", {"203.0.113.7"}, 200},
      {"spoofed allowed leftmost",
       "locked",
       "127.0.0.1",
       {"203.0.113.7, 198.51.100.9"},
       403},
      {"client via nginx not allowed",
       "locked",
       "127.0.0.1",
       {"198.51.100.9"},
       403},
      {"nginx itself, no xff", "locked", "127.0.0.1", {}, 403},
      {"direct allowed client", "locked", "203.0.113.50", {}, 200},
      {"direct client spoofing xff",
       "locked",
       "198.51.100.9",
       {"203.0.113.7"},
       403},
      {"mapped peer trusted",
       "locked",
       "::ffff:127.0.0.1",
       {"203.0.113.8"},
       200},
      {"source without allow_ips", "open", "198.51.100.9", {}, 200},
      {"unknown source stays 404", "nope", "198.51.100.9", {}, 404},
  };
  double forbidden = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HttpResponse r = h.Post(c.source, c.peer, c.xff);
    EXPECT_EQ(r.status, c.status) << r.body;
    if (c.status == 403) {
      EXPECT_EQ(r.body, "{\"error\":\"forbidden\"}\n");
      EXPECT_EQ(r.handler, "webhook");
      ++forbidden;
    }
  }
  EXPECT_EQ(h.Limited("ip_not_allowed"), forbidden);
  EXPECT_EQ(h.Limited("rate_limit"), 0);
  // 403 is decided before the method: GET from outside is 403, not 405.
  HttpRequest get;
  get.method = "GET";
  get.target = "/webhooks/locked";
  get.peer_ip = "198.51.100.9";
  EXPECT_EQ(h.Handle(get).status, 403u);
  get.peer_ip = "203.0.113.1";
  EXPECT_EQ(h.Handle(get).status, 405u);
}

TEST(WebhookGuards, WithoutTrustedProxiesXffIsIgnored) {
  Harness h(ConfigText("", R"(["203.0.113.0/24"])"));
  EXPECT_EQ(h.Post("locked", "127.0.0.1", {"203.0.113.7"}).status, 403u);
  EXPECT_EQ(h.Post("locked", "203.0.113.7", {"198.51.100.9"}).status, 200u);
  EXPECT_EQ(h.Limited("ip_not_allowed"), 1);
}

TEST(WebhookGuards, ResolvedClientIpReachesIngest) {
  Harness h(ConfigText(R"("trusted_proxies": ["127.0.0.1/32"],)", "[]"));
  HttpResponse r = h.Post("open", "127.0.0.1", {"1.1.1.1, 203.0.113.7"},
                          /*sign=*/false);
  EXPECT_EQ(r.status, 401u);
  // The signature_rejected log line names the real client, not nginx and
  // not the spoofed leftmost entry.
  const std::string log = h.Log();
  EXPECT_NE(log.find("event=signature_rejected"), std::string::npos) << log;
  EXPECT_NE(log.find("client=203.0.113.7"), std::string::npos) << log;
}

constexpr char kBurst3[] = R"("trusted_proxies": ["127.0.0.1/32"],
    "rate_limit": {"per_ip_per_s": 1, "burst": 3},)";

TEST(WebhookGuards, SignedCallbacksAreNeverRateLimited) {
  Harness h(ConfigText(kBurst3, "[]"));
  // Far more signed callbacks than the burst, all within one millisecond.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(h.Post("open", "127.0.0.1", {"203.0.113.7"}).status, 200u) << i;
  }
  EXPECT_EQ(h.Stored(), 20u);
  EXPECT_EQ(h.Limited("rate_limit"), 0);
}

TEST(WebhookGuards, ForgeriesSpendTheBudgetButSignedStillPass) {
  Harness h(ConfigText(kBurst3, "[]"));
  const std::vector<std::string> xff = {"203.0.113.7"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.Post("open", "127.0.0.1", xff, /*sign=*/false).status, 401u)
        << i;
  }
  HttpResponse r = h.Post("open", "127.0.0.1", xff, /*sign=*/false);
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.body, "{\"error\":\"rate limited\"}\n");
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "1");
  EXPECT_EQ(h.Limited("rate_limit"), 1);

  // The same client's correctly signed callback is verified and stored.
  const size_t stored = h.Stored();
  r = h.Post("open", "127.0.0.1", xff);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{\"status\":\"accepted\"}\n");
  EXPECT_EQ(h.Stored(), stored + 1);
  EXPECT_EQ(h.Limited("rate_limit"), 1) << "a signed request is not limited";

  // Forgeries stay limited; once over budget they are neither logged nor
  // counted as 401s (only in the limited counter).
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(h.Post("open", "127.0.0.1", xff, /*sign=*/false).status, 429u);
  }
  EXPECT_EQ(h.Limited("rate_limit"), 6);
  EXPECT_EQ(h.Requests("open", IngestOutcome::kRejectedSignature), 3);
  EXPECT_EQ(h.LogCount("signature_rejected"), 3);

  // Another client behind the same proxy has its own budget.
  EXPECT_EQ(h.Post("open", "127.0.0.1", {"203.0.113.8"}, false).status, 401u);
  // A second later one refusal is allowed again, then 429.
  h.clock().now_ms += 1000;
  EXPECT_EQ(h.Post("open", "127.0.0.1", xff, false).status, 401u);
  EXPECT_EQ(h.Post("open", "127.0.0.1", xff, false).status, 429u);
  EXPECT_EQ(h.Post("open", "127.0.0.1", xff).status, 200u);
}

TEST(WebhookGuards, Ipv6ClientsShareABucketPerSlash64) {
  Harness h(ConfigText(kBurst3, "[]"));
  // Hopping addresses inside one /64 does not buy a fresh budget.
  for (const char* ip :
       {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3"}) {
    EXPECT_EQ(h.Post("open", "127.0.0.1", {ip}, /*sign=*/false).status, 401u)
        << ip;
  }
  EXPECT_EQ(
      h.Post("open", "127.0.0.1", {"2001:db8:1:2:ffff::4"}, false).status,
      429u);
  // The next /64 is another client.
  EXPECT_EQ(h.Post("open", "127.0.0.1", {"2001:db8:1:3::1"}, false).status,
            401u);
  // A mapped IPv4 address is that IPv4 client.
  for (int i = 0; i < 3; ++i) {
    h.Post("open", "127.0.0.1", {"198.51.100.9"}, false);
  }
  EXPECT_EQ(
      h.Post("open", "127.0.0.1", {"::ffff:198.51.100.9"}, false).status,
      429u);
  // Signed callbacks from the exhausted /64 still pass.
  EXPECT_EQ(h.Post("open", "127.0.0.1", {"2001:db8:1:2::99"}).status, 200u);
}

TEST(WebhookGuards, EveryUnsignedRefusalSpendsTheBudget) {
  Harness h(ConfigText(R"("rate_limit": {"per_ip_per_s": 1, "burst": 5},)",
                       R"(["203.0.113.0/24"])"));
  const std::string peer = "198.51.100.9";
  HttpRequest other_path;
  other_path.method = "GET";
  other_path.target = "/";
  other_path.peer_ip = peer;
  HttpRequest get = other_path;
  get.target = "/webhooks/open";
  HttpRequest text = other_path;
  text.method = "POST";
  text.target = "/webhooks/open";
  text.headers.emplace_back("Content-Type", "text/plain");

  EXPECT_EQ(h.Handle(other_path).status, 404u);
  EXPECT_EQ(h.Post("nope", peer).status, 404u);  // unknown source
  EXPECT_EQ(h.Post("locked", peer).status, 403u);
  EXPECT_EQ(h.Handle(get).status, 405u);
  EXPECT_EQ(h.Handle(text).status, 415u);
  EXPECT_EQ(h.Limited("ip_not_allowed"), 1);
  EXPECT_EQ(h.Limited("rate_limit"), 0);
  // Five refusals spent the budget: each kind is now 429.
  EXPECT_EQ(h.Handle(other_path).status, 429u);
  EXPECT_EQ(h.Post("nope", peer).status, 429u);
  EXPECT_EQ(h.Post("locked", peer).status, 429u);
  EXPECT_EQ(h.Handle(get).status, 429u);
  EXPECT_EQ(h.Handle(text).status, 429u);
  EXPECT_EQ(h.Post("open", peer, {}, /*sign=*/false).status, 429u);
  EXPECT_EQ(h.Limited("rate_limit"), 6);
  EXPECT_EQ(h.Limited("ip_not_allowed"), 1) << "a 429 is not also a 403";
  EXPECT_EQ(h.Requests("open", IngestOutcome::kUnsupportedMediaType), 1);
  EXPECT_EQ(h.Post("open", peer).status, 200u);
}

TEST(WebhookGuards, SignedButMalformedIsNeitherLimitedNorCharged) {
  Harness h(ConfigText(
      R"("rate_limit": {"per_ip_per_s": 0.001, "burst": 1},)", "[]"));
  const std::string peer = "203.0.113.7";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.Post("open", peer, {}, true, std::string("{not json")).status,
              400u)
        << i;
  }
  // The budget of one refusal is still there.
  EXPECT_EQ(h.Post("open", peer, {}, /*sign=*/false).status, 401u);
  EXPECT_EQ(h.Post("open", peer, {}, /*sign=*/false).status, 429u);
  EXPECT_EQ(h.Post("open", peer, {}, true, std::string("{not json")).status,
            400u);
}

TEST(WebhookGuards, UnsignedVonageCopyKeeps503WhenOverBudget) {
  Harness h(ConfigText(
      R"("rate_limit": {"per_ip_per_s": 0.001, "burst": 1},)", "[]"));
  const std::string peer = "203.0.113.7";
  HttpRequest unsigned_copy;
  unsigned_copy.method = "POST";
  unsigned_copy.target = "/webhooks/vonage";
  unsigned_copy.peer_ip = peer;
  unsigned_copy.headers.emplace_back("Content-Type", "application/json");
  unsigned_copy.body = R"({"message_uuid":"u","status":"delivered"})";
  // Vonage retries only 5xx: its unsigned copy is answered 503 even once
  // the address's budget is spent, so it comes back signed.
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = h.Handle(unsigned_copy);
    EXPECT_EQ(r.status, 503u) << i;
    EXPECT_EQ(r.body, "{\"error\":\"unsigned callback, retry\"}\n");
  }
  EXPECT_EQ(h.Requests("vonage", IngestOutcome::kUnsignedRetry), 3);
  EXPECT_EQ(h.Limited("rate_limit"), 0);
  // It did spend the budget: a forgery from there is limited.
  EXPECT_EQ(h.Post("open", peer, {}, /*sign=*/false).status, 429u);
}

TEST(WebhookGuards, SlowRateGivesLongerRetryAfter) {
  Harness h(
      ConfigText(R"("rate_limit": {"per_ip_per_s": 0.2, "burst": 1},)", "[]"));
  EXPECT_EQ(h.Post("open", "198.51.100.9", {}, /*sign=*/false).status, 401u);
  HttpResponse r = h.Post("open", "198.51.100.9", {}, /*sign=*/false);
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "5");
}

TEST(GuardResponses, Shapes) {
  HttpResponse r = RateLimitedResponse(0);
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "1");  // never below 1
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(HeaderOf(RateLimitedResponse(7), "Retry-After"), "7");
  EXPECT_EQ(ForbiddenResponse().status, 403u);
  EXPECT_EQ(ForbiddenResponse().body, "{\"error\":\"forbidden\"}\n");
}

}  // namespace
}  // namespace dlrd
