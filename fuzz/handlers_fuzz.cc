// Whole handlers: arbitrary requests into the public WebhookHandler
// (include/dlrd/http/webhook_routes.h) and the admin listener's AdminHandler
// (include/dlrd/http/admin_routes.h) with its VerificationApi and StatsApi, over
// fake dependencies: an IngestQueue over an in-memory store that accepts
// everything, a Dispatcher over a scripted OutboxStore (run with RunOnce,
// never started), and a StatsSource that returns a small report.
//
// The raw handlers are called, not the exception barrier the session puts
// in front of them, so an exception is a finding.
//
// Input: byte 0 picks the handler (bits 0-1: webhook, webhook behind a
// drained rate limiter, admin x2), the peer address (bits 2-3) and HTTP/1.0
// (bit 4); the rest is a request as text (fuzz_util.h): "METHOD TARGET",
// header lines, a blank line, the body. Invariants:
//   - no exception escapes Handle() (or a task it posts);
//   - respond is called exactly once, within 5 s for asynchronous paths;
//   - the status is one the routes document: {200, 400, 401, 403, 404, 405,
//     411, 413, 415, 429, 431, 500, 503}, plus 201, 409 and 422 from the
//     verification API on the admin listener.
//
// The two crashes this target found first (GET /v1/x: substr out of range;
// nlohmann type_error 316 on invalid UTF-8 echoed into JSON) are fixed and
// kept as regression inputs in fuzz/regressions/handlers/.
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dlrd/core/config/config.h"
#include "dlrd/core/util/shared_string.h"
#include "dlrd/app/dispatch/dispatcher.h"
#include "dlrd/app/ingest/ingest_queue.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/app/ingest/rate_limiter.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/metrics.h"
#include "dlrd/core/ports/event_store.h"
#include "fuzz_util.h"
#include "dlrd/http/admin_routes.h"
#include "dlrd/http/stats_routes.h"
#include "dlrd/http/verification_routes.h"
#include "dlrd/http/webhook_routes.h"

namespace dlrd {
namespace {

constexpr int64_t kNowMs = 1735689600123;
constexpr char kAdminToken[] = "fuzz-admin-token";

class FixedClock final : public Clock {
 public:
  int64_t NowMs() const override { return kNowMs; }
};

// Commits everything, every event new, and keeps nothing (unlike
// testutil::FakeEventStore, which would grow for millions of runs).
class AcceptAllStore final : public EventStore {
 public:
  BatchResult CommitBatch(
      const std::vector<const Submission*>& batch) override {
    BatchResult r;
    for (const Submission* s : batch) {
      SubmissionResult sr;
      sr.inserted.assign(s->events.size(), true);
      r.submissions.push_back(std::move(sr));
    }
    return r;
  }
};

// Scripted by the ids it is asked about: "conflict" -> another recipient,
// "fail" -> store error, "again" -> already registered, "none" -> unknown.
class FakeOutbox final : public OutboxStore {
 public:
  Result<bool> Register(const Registration& r, int64_t) override {
    if (r.verification_id.find("conflict") != std::string::npos) {
      return Result<bool>::Error("registered with another recipient");
    }
    if (r.verification_id.find("fail") != std::string::npos) {
      return Result<bool>::Error("store failure");
    }
    return r.verification_id.find("again") == std::string::npos;
  }
  Status ScanDeadlines(int64_t, std::vector<FallbackNote>*) override {
    return Status::Ok();
  }
  Result<std::vector<OutboxJob>> ClaimDue(int64_t, int) override {
    return std::vector<OutboxJob>{};
  }
  Status MarkAccepted(const OutboxJob&, std::string_view, int64_t) override {
    return Status::Ok();
  }
  Status MarkRetry(const OutboxJob&, int64_t, std::string_view, int64_t,
                   bool) override {
    return Status::Ok();
  }
  Status MarkDead(const OutboxJob&, std::string_view, bool, bool, int64_t,
                  std::vector<FallbackNote>*) override {
    return Status::Ok();
  }
  Result<int> RecoverInFlight(int64_t, int64_t, const std::set<int64_t>&,
                              std::vector<FallbackNote>*) override {
    return 0;
  }
  Status RecordOptOut(std::string_view, std::string_view, std::string_view,
                      int64_t) override {
    return Status::Ok();
  }
  Result<OutboxDepth> Depth(int64_t) override { return OutboxDepth{}; }
  Result<std::vector<Decision>> DecisionsSince(int64_t* after_id,
                                               int) override {
    if (*after_id < 0) *after_id = 0;
    return std::vector<Decision>{};
  }
  Result<std::optional<ChainView>> Chain(std::string_view id) override {
    if (id.find("fail") != std::string_view::npos) {
      return Result<std::optional<ChainView>>::Error("store failure");
    }
    if (id.find("none") != std::string_view::npos) {
      return std::optional<ChainView>();
    }
    ChainView v;
    v.source = "twilio-sms";
    v.root_id = std::string(id);
    v.recipient = "+14155550100";
    v.country = "US";
    v.created_at_ms = kNowMs - 60'000;
    ChainView::Step s;
    s.channel = "sms";
    s.provider = "twilio";
    s.verification_id = std::string(id);
    s.status = "sent";
    s.sent_at_ms = kNowMs - 60'000;
    s.deadline_at_ms = kNowMs - 30'000;
    v.steps.push_back(s);
    ChainView::Job j;
    j.step = 1;
    j.channel = "whatsapp";
    j.state = "accepted";
    j.provider_ref = "VE" + std::string(id.substr(0, 8));
    j.attempts = 1;
    v.jobs.push_back(j);
    ChainView::Event e;
    e.verification_id = std::string(id);
    e.channel = "sms";
    e.status = "failed";
    e.raw_status = "undelivered";
    e.error_code = "30003";
    v.events.push_back(e);
    v.outcome = "pending";
    return std::optional<ChainView>(std::move(v));
  }
};

class NeverClient final : public OutboundClient {
 public:
  void Send(HttpCall, CallOptions, Done done) override {
    ClientResult r;
    r.error = TransportError::kConnect;
    r.detail = "fuzz: no network";
    done(std::move(r));
  }
};

class FakeStats final : public StatsSource {
 public:
  Result<StatsReport> Query(const StatsQuery& q) override {
    StatsReport r;
    r.query = q;
    r.total.callbacks = 3;
    r.total.delivered = 2;
    StatsRow row;
    for (StatsDim d : q.by) row.key.push_back(ToString(d));
    row.figures = r.total;
    r.groups.push_back(row);
    if (q.hourly) {
      row.hour_ms = q.from_ms;
      r.series.push_back(row);
    }
    return r;
  }
};

constexpr char kWebhookConfig[] = R"({
  "demo": true,
  "trusted_proxies": ["10.0.0.0/8", "::1/128"],
  "admin_token": "fuzz-admin-token",
  "sources": {
    "verifynow": { "format": "verifynow",
      "signature": { "scheme": "hmac", "prefix": "sha256=",
                     "secrets": ["fuzz-only-secret"] } },
    "locked": { "format": "verifynow", "allow_ips": ["192.0.2.0/24"],
      "signature": { "scheme": "hmac", "secrets": ["fuzz-only-secret"] } },
    "twilio-sms": { "format": "twilio-messaging",
      "signature": { "scheme": "twilio",
                     "public_url": "https://hooks.example.com/webhooks/twilio-sms",
                     "secrets": ["fuzz-only-secret"] } },
    "vonage-sms": { "format": "vonage-sms-dlr",
      "signature": { "scheme": "vonage-sig", "algorithm": "md5hash",
                     "secrets": ["fuzz-only-secret"] } },
    "vonage-messages": { "format": "vonage-messages",
      "signature": { "scheme": "vonage-jwt", "secrets": ["fuzz-only-secret"] } },
    "sinch": { "format": "sinch-verification",
      "signature": { "scheme": "sinch", "variant": "nonce",
                     "secrets": ["ZnV6ei1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVm"] } },
    "stdwebhooks": { "format": "sinch-sms",
      "signature": { "scheme": "standard-webhooks",
                     "secrets": ["whsec_ZnV6ei1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVm"] } }
  }
})";

// Everything the handlers need, built once.
struct World {
  World() {
    auto c = ParseConfig(kWebhookConfig, [](std::string_view) {
      return Result<std::string>::Error("no secret references here");
    });
    if (!c.ok()) fuzz::Fail("config", c.status().message());
    config = std::move(c).value();
    auto s = BuildSources(config);
    if (!s.ok()) fuzz::Fail("sources", s.status().message());
    sources = std::move(s).value();
    metrics.emplace(registry, MetricLabels(sources), BuildLabels{"f", "f"});
    log_file = std::fopen("/dev/null", "w");
    log.emplace(log_file, LogLevel::kDebug);
    queue.emplace(store, IngestQueueOptions{}, &*metrics, nullptr);
    queue->Start();
    ingest.emplace(sources, *queue, *metrics, *log);
    webhook.emplace(*ingest, clock, MakeWebhookGuards(config, nullptr),
                    &*metrics, &*log);
    RateLimiterOptions o;
    o.per_s = 0.001;
    o.burst = 1;
    limiter.emplace(o);
    limited.emplace(*ingest, clock, MakeWebhookGuards(config, &*limiter),
                    &*metrics, &*log);

    token = std::make_shared<SharedString>(kAdminToken);
    dispatcher.emplace(outbox, client, adapters, providers, OutboxConfig{},
                       clock, nullptr, nullptr, 1);
    api.emplace(token, *dispatcher, outbox,
                std::map<std::string, std::string>{{"twilio-sms", "twilio"}},
                clock);
    stats.emplace(token, std::make_unique<FakeStats>(), clock);
    admin.emplace(
        std::vector<std::shared_ptr<prometheus::Collectable>>{
            std::shared_ptr<prometheus::Collectable>(&registry,
                                                     [](auto*) {})},
        [] { return true; }, &*api, &*stats);
  }

  Config config;
  SourceMap sources;
  prometheus::Registry registry;
  std::optional<Metrics> metrics;
  std::FILE* log_file = nullptr;
  std::optional<Logger> log;
  AcceptAllStore store;
  std::optional<IngestQueue> queue;
  std::optional<IngestService> ingest;
  FixedClock clock;
  std::optional<WebhookHandler> webhook;
  std::optional<RateLimiter> limiter;
  std::optional<WebhookHandler> limited;

  FakeOutbox outbox;
  NeverClient client;
  SendAdapters adapters;
  std::map<std::string, ProviderConfig> providers;
  std::shared_ptr<const SharedString> token;
  std::optional<Dispatcher> dispatcher;
  std::optional<VerificationApi> api;
  std::optional<StatsApi> stats;
  std::optional<AdminHandler> admin;
};

// Deliberately leaked: the writer and stats threads outlive any exit path.
World& TheWorld() {
  static World* w = new World;
  return *w;
}

bool StatusDocumented(unsigned s, bool admin) {
  switch (s) {
    case 200: case 400: case 401: case 403: case 404: case 405: case 411:
    case 413: case 415: case 429: case 431: case 500: case 503:
      return true;
    case 201: case 409: case 422:
      return admin;
    default:
      return false;
  }
}

struct Reply {
  std::atomic<int> calls{0};
  std::promise<HttpResponse> promise;
};

}  // namespace
}  // namespace dlrd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dlrd;
  if (size < 1) return 0;
  World& w = TheWorld();
  const uint8_t ctl = data[0];
  const int mode = ctl & 3;
  const bool admin = mode >= 2;
  static constexpr const char* kPeers[] = {"192.0.2.7", "10.1.2.3", "::1",
                                           "2001:db8::5"};

  fuzz::TextMessage m = fuzz::ParseTextMessage(
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  HttpRequest req;
  std::tie(req.method, req.target) = fuzz::MethodAndTarget(m.first_line);
  req.version = (ctl & 0x10) ? 10 : 11;
  req.peer_ip = kPeers[(ctl >> 2) & 3];
  req.raw_head = m.first_line + "\r\n";
  for (const auto& [n, v] : m.headers) req.raw_head += n + ": " + v + "\r\n";
  req.raw_head += "\r\n";
  req.headers = std::move(m.headers);
  req.body = std::move(m.body);

  auto reply = std::make_shared<Reply>();
  std::future<HttpResponse> future = reply->promise.get_future();
  HttpHandler::Respond respond = [reply](HttpResponse r) {
    if (reply->calls.fetch_add(1) != 0) {
      fuzz::Fail("respond called more than once");
    }
    reply->promise.set_value(std::move(r));
  };
  HttpHandler& handler = admin ? static_cast<HttpHandler&>(*w.admin)
                         : mode == 1 ? static_cast<HttpHandler&>(*w.limited)
                                     : static_cast<HttpHandler&>(*w.webhook);
  const std::string head = req.raw_head;
  try {
    handler.Handle(std::move(req), std::move(respond));
    // Verification API tasks wait for the dispatcher thread: run them here.
    if (admin && future.wait_for(std::chrono::seconds(0)) !=
                     std::future_status::ready) {
      w.dispatcher->RunOnce();
    }
  } catch (const std::exception& e) {
    fuzz::Fail("exception escaped Handle()", std::string(e.what()) + "\n" + head);
  }
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    fuzz::Fail("no response within 5 s", head);
  }
  HttpResponse r = future.get();
  DLRD_FUZZ_CHECK(StatusDocumented(r.status, admin),
                  std::to_string(r.status) + "\n" + head);
  DLRD_FUZZ_CHECK(reply->calls.load() == 1, head);
  return 0;
}
