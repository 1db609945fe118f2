// IngestService end to end over a FakeEventStore: verify -> normalize ->
// queue -> commit, and the metrics each outcome produces, read back from a
// local prometheus::Registry the way a scrape sees them.
#include "dlrd/app/ingest/ingest_service.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dlrd/core/config/config.h"
#include "dlrd/core/util/encoding.h"
#include "dlrd/app/ingest/ingest_queue.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/metrics.h"
#include "dlrd/core/signature/crypto.h"
#include "testutil/fake_event_store.h"
#include "testutil/metric_value.h"

namespace dlrd {
namespace {

using namespace std::chrono_literals;
using testutil::FakeEventStore;
using testutil::HistogramCount;
using testutil::Labels;
using testutil::MetricValue;

constexpr char kSource[] = "mc";
constexpr char kVonageSource[] = "vonage";
constexpr char kOldSecret[] = "retired-secret-0";
constexpr char kSecret[] = "current-secret-1";  // secret_index 1
constexpr int64_t kNowMs = 1'735'689'600'123;
constexpr char kDelivered[] =
    R"({"verificationId":"v-100","deliveryStatus":"DELIVERED",)"
    R"("channel":"SMS","latencyMs":1200})";

std::string Sign(std::string_view body, std::string_view secret = kSecret) {
  return HexEncode(*Hmac(HashAlgorithm::kSha256, secret, body));
}

InboundWebhook Hook(
    std::string body, std::optional<std::string> signature = std::nullopt,
    std::optional<std::string> content_type = std::string("application/json")) {
  InboundWebhook h;
  h.source = kSource;
  h.method = "POST";
  h.target = std::string("/webhooks/") + kSource;
  if (content_type) h.headers.emplace_back("Content-Type", *content_type);
  h.headers.emplace_back("X-Signature", signature ? *signature : Sign(body));
  h.body = std::move(body);
  h.client_ip = "192.0.2.1";
  return h;
}

std::string VerifyNowBody(const std::string& id, const std::string& status) {
  return R"({"verificationId":")" + id + R"(","deliveryStatus":")" + status +
         R"(","channel":"WHATSAPP"})";
}

SourceMap MakeSources() {
  Config config;
  SourceConfig sc;
  sc.name = kSource;
  sc.format = "verifynow";
  sc.signature.scheme = "hmac";
  sc.signature.header = "X-Signature";
  sc.signature.algorithm = "sha256";
  sc.signature.encoding = "hex";
  sc.signature.secrets = {kOldSecret, kSecret};
  config.sources[kSource] = sc;
  SourceConfig vonage;
  vonage.name = kVonageSource;
  vonage.format = "vonage-messages";
  vonage.signature.scheme = "vonage-jwt";
  vonage.signature.algorithm = "sha256";
  vonage.signature.secrets = {kSecret};
  config.sources[kVonageSource] = vonage;
  auto built = BuildSources(config);
  if (!built.ok()) {
    ADD_FAILURE() << "BuildSources: " << built.status().message();
    return {};
  }
  return std::move(built).value();
}

// The outcome of one Accept(): how many times `done` ran, with what, and
// whether the first call happened before Accept() returned.
struct Call {
  std::shared_ptr<std::promise<IngestOutcome>> promise =
      std::make_shared<std::promise<IngestOutcome>>();
  std::shared_ptr<std::atomic<int>> calls =
      std::make_shared<std::atomic<int>>(0);
  std::future<IngestOutcome> future = promise->get_future();
  bool synchronous = false;

  IngestService::Done Done() {
    return
        [p = promise, c = calls](IngestOutcome o, std::optional<WebhookReply>) {
          if ((*c)++ == 0) p->set_value(o);
        };
  }
  // The outcome, or nullopt if `done` did not run within the timeout.
  std::optional<IngestOutcome> Wait(std::chrono::milliseconds t = 5s) {
    if (future.wait_for(t) != std::future_status::ready) return std::nullopt;
    return future.get();
  }
};

class IngestServiceTest : public ::testing::Test {
 protected:
  IngestServiceTest()
      : sources_(MakeSources()),
        metrics_(registry_, MetricLabels(sources_), BuildLabels{"test", "t"}),
        log_(stderr, LogLevel::kError) {}

  void MakeQueue(size_t capacity = 64, size_t max_batch = 16) {
    queue_ = std::make_unique<IngestQueue>(
        store_, IngestQueueOptions{capacity, max_batch}, &metrics_,
        [this](const Status&) { fatal_calls_++; });
    queue_->Start();
    service_ =
        std::make_unique<IngestService>(sources_, *queue_, metrics_, log_);
  }
  void SetUp() override { MakeQueue(); }
  // Replaces the queue (and the service on it) with one of other sizes.
  void RebuildQueue(size_t capacity, size_t max_batch) {
    store_.ReleaseCommits();
    service_.reset();
    queue_.reset();
    MakeQueue(capacity, max_batch);
  }
  void TearDown() override {
    store_.ReleaseCommits();
    if (queue_) queue_->Stop();
  }

  // Starts Accept(); records whether `done` ran before it returned.
  std::unique_ptr<Call> Start(InboundWebhook hook) {
    auto call = std::make_unique<Call>();
    service_->Accept(std::move(hook), kNowMs, call->Done());
    call->synchronous = call->calls->load() > 0;
    return call;
  }
  std::optional<IngestOutcome> Run(InboundWebhook hook) {
    auto call = Start(std::move(hook));
    auto o = call->Wait();
    EXPECT_EQ(call->calls->load(), 1);
    return o;
  }

  double Requests(IngestOutcome o) {
    return MetricValue(registry_, "dlrd_webhook_requests_total",
                       {{"source", kSource},
                        {"provider", "verifynow"},
                        {"outcome", std::string(ToString(o))}})
        .value_or(-1);
  }
  double TotalRequests() {
    double sum = 0;
    for (IngestOutcome o : kAllOutcomes) {
      if (o != IngestOutcome::kUnknownSource) sum += Requests(o);
    }
    return sum;
  }
  double DeliveryEvents(const char* channel, const char* status) {
    return MetricValue(registry_, "dlrd_delivery_events_total",
                       {{"provider", "verifynow"},
                        {"channel", channel},
                        {"status", status}})
        .value_or(-1);
  }
  double SignatureFailures(const char* reason) {
    return MetricValue(registry_, "dlrd_webhook_signature_failures_total",
                       {{"source", kSource}, {"reason", reason}})
        .value_or(-1);
  }
  double Dropped(const char* reason) {
    return MetricValue(registry_, "dlrd_events_dropped_total",
                       {{"reason", reason}})
        .value_or(-1);
  }
  double StoreErrors(const char* op, const char* error) {
    return MetricValue(registry_, "dlrd_store_errors_total",
                       {{"operation", op}, {"error", error}})
        .value_or(-1);
  }

  prometheus::Registry registry_;
  SourceMap sources_;
  Metrics metrics_;
  Logger log_;
  FakeEventStore store_;
  std::unique_ptr<IngestQueue> queue_;
  std::unique_ptr<IngestService> service_;
  std::atomic<int> fatal_calls_{0};
};

TEST_F(IngestServiceTest, AcceptedOnceThenDuplicate) {
  ASSERT_EQ(sources_.size(), 2u);
  EXPECT_EQ(Run(Hook(kDelivered)), IngestOutcome::kAccepted);
  EXPECT_TRUE(store_.Contains(kSource, "v-100:SMS:DELIVERED"));
  EXPECT_EQ(Requests(IngestOutcome::kAccepted), 1);
  EXPECT_EQ(DeliveryEvents("sms", "delivered"), 1);
  EXPECT_EQ(HistogramCount(registry_, "dlrd_delivery_latency_seconds",
                           {{"channel", "sms"}}),
            1);
  EXPECT_EQ(MetricValue(registry_, "dlrd_signature_secret_matches_total",
                        {{"source", kSource}, {"secret_index", "1"}}),
            1);
  EXPECT_EQ(MetricValue(registry_, "dlrd_signature_secret_matches_total",
                        {{"source", kSource}, {"secret_index", "0"}}),
            0);

  // The provider retries the same callback: committed again, but as a
  // duplicate, so the delivery metrics do not move.
  EXPECT_EQ(Run(Hook(kDelivered)), IngestOutcome::kDuplicate);
  EXPECT_EQ(Requests(IngestOutcome::kAccepted), 1);
  EXPECT_EQ(Requests(IngestOutcome::kDuplicate), 1);
  EXPECT_EQ(DeliveryEvents("sms", "delivered"), 1);
  EXPECT_EQ(HistogramCount(registry_, "dlrd_delivery_latency_seconds",
                           {{"channel", "sms"}}),
            1);
  EXPECT_EQ(TotalRequests(), 2);
  EXPECT_EQ(store_.calls(), 2u);
  EXPECT_EQ(store_.stored_events(), 1u);

  // Only the one series moved.
  double all_events = 0;
  for (const char* ch : {"sms", "whatsapp", "voice", "other"}) {
    for (DeliveryStatus s : kAllStatuses) {
      all_events += DeliveryEvents(ch, std::string(ToString(s)).c_str());
    }
  }
  EXPECT_EQ(all_events, 1);
}

TEST_F(IngestServiceTest, DifferentStatusOfSameVerificationIsNewEvent) {
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-7", "PENDING"))),
            IngestOutcome::kAccepted);
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-7", "FAILED"))),
            IngestOutcome::kAccepted);
  EXPECT_EQ(DeliveryEvents("whatsapp", "sent"), 1);
  EXPECT_EQ(DeliveryEvents("whatsapp", "failed"), 1);
  EXPECT_EQ(Requests(IngestOutcome::kAccepted), 2);
}

TEST_F(IngestServiceTest, BadSignatureIsRejectedWithReason) {
  auto call = Start(Hook(kDelivered, Sign(kDelivered, "not-the-secret")));
  EXPECT_TRUE(call->synchronous);
  EXPECT_EQ(call->Wait(), IngestOutcome::kRejectedSignature);
  EXPECT_EQ(call->calls->load(), 1);
  EXPECT_EQ(SignatureFailures("mismatch"), 1);
  EXPECT_EQ(SignatureFailures("missing_header"), 0);
  EXPECT_EQ(Requests(IngestOutcome::kRejectedSignature), 1);
  EXPECT_EQ(TotalRequests(), 1);
  EXPECT_EQ(DeliveryEvents("sms", "delivered"), 0);
  // Nothing of the request is stored: only its count, for analytics.
  std::vector<Submission> committed;
  for (int tries = 0; tries < 500 && committed.empty(); ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    committed = store_.committed();
  }
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_TRUE(committed[0].events.empty());
  EXPECT_TRUE(committed[0].raw.body.empty());
  ASSERT_EQ(committed[0].signature_failures.size(), 1u);
  EXPECT_EQ(committed[0].signature_failures[0].count, 1);
  EXPECT_EQ(committed[0].signature_failures[0].source, kSource);
}

// A flood of forged callbacks never takes more than one queue slot at a
// time, and every refusal is counted once. The writer is held on the first
// count so the flood provably arrives while that submission is in flight:
// the other refusals must wait in the tally and ride one more commit.
TEST_F(IngestServiceTest, SignatureFailureCountsAreCoalesced) {
  constexpr int kForged = 200;
  store_.HoldCommits();
  auto first = Start(Hook(kDelivered, Sign(kDelivered, "not-the-secret")));
  EXPECT_EQ(first->Wait(), IngestOutcome::kRejectedSignature);
  ASSERT_TRUE(store_.WaitForCallsAtGate(1));
  for (int i = 1; i < kForged; ++i) {
    auto call = Start(Hook(kDelivered, Sign(kDelivered, "not-the-secret")));
    EXPECT_TRUE(call->synchronous);
    EXPECT_EQ(call->Wait(0ms), IngestOutcome::kRejectedSignature);
  }
  // Nothing more was queued behind the held commit.
  EXPECT_EQ(queue_->depth(), 0u);
  EXPECT_EQ(store_.calls(), 1u);
  EXPECT_EQ(SignatureFailures("mismatch"), kForged);

  store_.ReleaseCommits();
  // The held commit's completion flushes the other 199 as one submission.
  ASSERT_TRUE(store_.WaitForCallsAtGate(2));
  std::vector<Submission> committed;
  for (int tries = 0; tries < 500 && committed.size() < 2; ++tries) {
    committed = store_.committed();
    if (committed.size() < 2) std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(committed.size(), 2u);
  std::vector<int64_t> counts;
  for (const Submission& s : committed) {
    EXPECT_TRUE(s.events.empty());
    EXPECT_TRUE(s.raw.body.empty());
    ASSERT_EQ(s.signature_failures.size(), 1u);
    EXPECT_EQ(s.signature_failures[0].source, kSource);
    counts.push_back(s.signature_failures[0].count);
  }
  EXPECT_EQ(counts, (std::vector<int64_t>{1, kForged - 1}));
  // With nothing left to count, no empty counts-only submission follows:
  // the next commit carries the next webhook alone.
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-after", "DELIVERED"))),
            IngestOutcome::kAccepted);
  EXPECT_EQ(store_.batch_sizes(), (std::vector<size_t>{1, 1, 1}));
  EXPECT_EQ(store_.committed().size(), 3u);
}

// A flood of forged callbacks can hold at most max_queued quarantine
// submissions in the queue at once: the rest are dropped and counted, each
// is still answered 401 at once, and a genuine callback still gets a slot.
TEST_F(IngestServiceTest, QuarantineSubmissionsAreBoundedInTheQueue) {
  constexpr int kForged = 50;
  service_->SetQuarantine({/*enabled=*/true, /*max_queued=*/2});
  store_.HoldCommits();
  for (int i = 0; i < kForged; ++i) {
    auto call = Start(Hook(kDelivered, Sign(kDelivered, "not-the-secret")));
    EXPECT_TRUE(call->synchronous);
    EXPECT_EQ(call->Wait(0ms), IngestOutcome::kRejectedSignature);
  }
  // One counts-only submission and two quarantine ones, held or queued.
  EXPECT_LE(queue_->depth(), 3u);
  EXPECT_EQ(MetricValue(registry_, "dlrd_quarantine_dropped_total",
                        {{"reason", "queue"}}),
            kForged - 2);
  auto genuine = Start(Hook(VerifyNowBody("v-real", "DELIVERED")));
  store_.ReleaseCommits();
  EXPECT_EQ(genuine->Wait(), IngestOutcome::kAccepted);
  std::vector<QuarantinedRequest> quarantined;
  for (int tries = 0; tries < 500; ++tries) {
    quarantined.clear();
    for (const Submission& s : store_.committed()) {
      for (const QuarantinedRequest& q : s.quarantine) quarantined.push_back(q);
    }
    if (quarantined.size() >= 2) break;
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(quarantined.size(), 2u);
  EXPECT_EQ(quarantined[0].source, kSource);
  EXPECT_EQ(quarantined[0].reason, "mismatch");
  EXPECT_EQ(quarantined[0].body, kDelivered);
  EXPECT_EQ(quarantined[0].received_at_ms, kNowMs);
  EXPECT_EQ(MetricValue(registry_, "dlrd_quarantine_stored_total",
                        {{"source", kSource}}),
            2);
  // Slots are free again once committed.
  auto again = Start(Hook(kDelivered, Sign(kDelivered, "not-the-secret")));
  EXPECT_EQ(again->Wait(0ms), IngestOutcome::kRejectedSignature);
  EXPECT_EQ(MetricValue(registry_, "dlrd_quarantine_dropped_total",
                        {{"reason", "queue"}}),
            kForged - 2);
}

TEST_F(IngestServiceTest, QuarantineDisabledCountsTheDrop) {
  service_->SetQuarantine({/*enabled=*/false, /*max_queued=*/2});
  EXPECT_EQ(Run(Hook(kDelivered, Sign(kDelivered, "not-the-secret"))),
            IngestOutcome::kRejectedSignature);
  EXPECT_EQ(MetricValue(registry_, "dlrd_quarantine_dropped_total",
                        {{"reason", "disabled"}}),
            1);
}

// Vonage posts an unsigned copy when its own signing fails, and drops a
// callback answered 4xx: no signature at all gets 503 so it comes back
// (signed). A wrong signature is still a plain 401, and neither is stored.
TEST_F(IngestServiceTest, UnsignedVonageCallbackIsAskedToRetry) {
  InboundWebhook hook;
  hook.source = kVonageSource;
  hook.method = "POST";
  hook.target = std::string("/webhooks/") + kVonageSource;
  hook.headers = {{"Content-Type", "application/json"}};
  hook.body = R"({"message_uuid":"m-1","status":"delivered","channel":"sms"})";
  // Hold the writer on the first count so that a second one, had the
  // unsigned copy been counted too, is flushed before the marker below.
  store_.HoldCommits();
  auto call = Start(hook);
  EXPECT_TRUE(call->synchronous);
  EXPECT_EQ(call->Wait(), IngestOutcome::kUnsignedRetry);

  hook.headers.emplace_back("Authorization", "Bearer not.a.jwt");
  auto forged = Start(hook);
  EXPECT_EQ(forged->Wait(), IngestOutcome::kRejectedSignature);

  auto vonage = [this](const char* metric, Labels labels) {
    labels.emplace("source", kVonageSource);
    return MetricValue(registry_, metric, labels).value_or(-1);
  };
  EXPECT_EQ(vonage("dlrd_webhook_signature_failures_total",
                   {{"reason", "missing_header"}}),
            1);
  EXPECT_EQ(vonage("dlrd_webhook_requests_total",
                   {{"provider", "vonage"}, {"outcome", "unsigned_retry"}}),
            1);
  EXPECT_EQ(vonage("dlrd_webhook_requests_total",
                   {{"provider", "vonage"}, {"outcome", "rejected_signature"}}),
            1);
  // Neither request is stored; only the forged one is counted (an unsigned
  // copy is not a signature failure, it comes back signed). Once the held
  // count commits, its completion flushes any count gathered meanwhile;
  // that flush is queued before (or beside) the marker webhook, so by the
  // time the marker is accepted every count has been committed.
  ASSERT_TRUE(store_.WaitForCallsAtGate(1));
  store_.ReleaseCommits();
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-marker", "DELIVERED"))),
            IngestOutcome::kAccepted);
  int64_t counted = 0;
  for (const Submission& s : store_.committed()) {
    if (!s.events.empty()) continue;  // the marker
    EXPECT_TRUE(s.raw.body.empty());
    for (const auto& c : s.signature_failures) {
      EXPECT_EQ(c.source, kVonageSource);
      counted += c.count;
    }
  }
  EXPECT_EQ(counted, 1);
}

// Other schemes: a missing signature is a plain 401.
TEST_F(IngestServiceTest, UnsignedHmacCallbackIsRejected) {
  InboundWebhook hook = Hook(kDelivered);
  hook.headers.pop_back();  // X-Signature
  EXPECT_EQ(Run(hook), IngestOutcome::kRejectedSignature);
  EXPECT_EQ(SignatureFailures("missing_header"), 1);
}

TEST_F(IngestServiceTest, SignatureOverTamperedBodyIsRejected) {
  std::string tampered = kDelivered;
  tampered.replace(tampered.find("DELIVERED"), 9, "FAILED\"  ");
  EXPECT_EQ(Run(Hook(tampered, Sign(kDelivered))),
            IngestOutcome::kRejectedSignature);
  EXPECT_EQ(SignatureFailures("mismatch"), 1);
}

TEST_F(IngestServiceTest, MissingSignatureHeaderIsRejected) {
  InboundWebhook h = Hook(kDelivered);
  h.headers.pop_back();  // drop X-Signature
  EXPECT_EQ(Run(std::move(h)), IngestOutcome::kRejectedSignature);
  EXPECT_EQ(SignatureFailures("missing_header"), 1);
  EXPECT_EQ(SignatureFailures("mismatch"), 0);
}

TEST_F(IngestServiceTest, WrongContentTypeIsUnsupportedMediaType) {
  auto call = Start(Hook(kDelivered, std::nullopt, std::string("text/plain")));
  EXPECT_TRUE(call->synchronous);
  EXPECT_EQ(call->Wait(), IngestOutcome::kUnsupportedMediaType);
  EXPECT_EQ(Run(Hook(kDelivered, std::nullopt, std::nullopt)),
            IngestOutcome::kUnsupportedMediaType);
  EXPECT_EQ(Requests(IngestOutcome::kUnsupportedMediaType), 2);
  EXPECT_EQ(TotalRequests(), 2);
  for (const char* r :
       {"missing_header", "duplicate_header", "bad_encoding", "mismatch"}) {
    EXPECT_EQ(SignatureFailures(r), 0) << r;
  }
  EXPECT_EQ(store_.calls(), 0u);
}

TEST_F(IngestServiceTest, ContentTypeWithParametersIsAccepted) {
  EXPECT_EQ(Run(Hook(kDelivered, std::nullopt,
                     std::string("Application/JSON; charset=utf-8"))),
            IngestOutcome::kAccepted);
}

TEST_F(IngestServiceTest, MalformedJsonValidlySignedIsRejectedMalformed) {
  const std::string body = "{\"verificationId\": \"v-1\", ";
  auto call = Start(Hook(body));  // signed with the right secret
  EXPECT_TRUE(call->synchronous);
  EXPECT_EQ(call->Wait(), IngestOutcome::kRejectedMalformed);
  EXPECT_EQ(Requests(IngestOutcome::kRejectedMalformed), 1);
  EXPECT_EQ(SignatureFailures("mismatch"), 0);
  // The signature did verify (secret 1 matched) before the payload failed.
  EXPECT_EQ(MetricValue(registry_, "dlrd_signature_secret_matches_total",
                        {{"source", kSource}, {"secret_index", "1"}}),
            1);
  EXPECT_EQ(store_.calls(), 0u);
}

TEST_F(IngestServiceTest, UnknownSourceTouchesNoSourceMetrics) {
  InboundWebhook h = Hook(kDelivered);
  h.source = "nope";
  auto call = Start(std::move(h));
  EXPECT_TRUE(call->synchronous);
  EXPECT_EQ(call->Wait(), IngestOutcome::kUnknownSource);
  EXPECT_EQ(TotalRequests(), 0);
  EXPECT_EQ(store_.calls(), 0u);
}

TEST_F(IngestServiceTest, QueueFullIsOverloaded) {
  RebuildQueue(/*capacity=*/1, /*max_batch=*/8);
  EXPECT_EQ(MetricValue(registry_, "dlrd_store_queue_capacity"), 1);

  store_.HoldCommits();
  auto in_flight = Start(Hook(VerifyNowBody("v-1", "DELIVERED")));
  ASSERT_TRUE(store_.WaitForCallsAtGate(1));
  auto queued = Start(Hook(VerifyNowBody("v-2", "DELIVERED")));
  EXPECT_FALSE(queued->synchronous);
  EXPECT_EQ(MetricValue(registry_, "dlrd_store_queue_depth"), 1);

  auto rejected = Start(Hook(VerifyNowBody("v-3", "DELIVERED")));
  EXPECT_TRUE(rejected->synchronous);
  EXPECT_EQ(rejected->Wait(0ms), IngestOutcome::kOverloaded);
  EXPECT_EQ(Dropped("queue_full"), 1);
  EXPECT_EQ(Dropped("shutdown"), 0);
  EXPECT_EQ(Requests(IngestOutcome::kOverloaded), 1);

  store_.ReleaseCommits();
  EXPECT_EQ(in_flight->Wait(), IngestOutcome::kAccepted);
  EXPECT_EQ(queued->Wait(), IngestOutcome::kAccepted);
  EXPECT_EQ(Requests(IngestOutcome::kAccepted), 2);
  EXPECT_EQ(DeliveryEvents("whatsapp", "delivered"), 2);
  EXPECT_EQ(Dropped("queue_full"), 1);
  EXPECT_EQ(in_flight->calls->load(), 1);
  EXPECT_EQ(queued->calls->load(), 1);
  EXPECT_EQ(rejected->calls->load(), 1);
}

TEST_F(IngestServiceTest, ClosedQueueIsOverloadedAsShutdown) {
  queue_->Stop();
  EXPECT_EQ(Run(Hook(kDelivered)), IngestOutcome::kOverloaded);
  EXPECT_EQ(Dropped("shutdown"), 1);
  EXPECT_EQ(Dropped("queue_full"), 0);
  EXPECT_EQ(Requests(IngestOutcome::kOverloaded), 1);
}

TEST_F(IngestServiceTest, BusyStoreIsStoreFailed) {
  store_.FailCall(1, StatusCode::kBusy, "database is locked");
  EXPECT_EQ(Run(Hook(kDelivered)), IngestOutcome::kStoreFailed);
  EXPECT_EQ(Requests(IngestOutcome::kStoreFailed), 1);
  EXPECT_EQ(Dropped("store_failed"), 1);
  EXPECT_EQ(StoreErrors("commit", "busy"), 1);
  EXPECT_EQ(DeliveryEvents("sms", "delivered"), 0);
  EXPECT_EQ(fatal_calls_.load(), 0);

  // The provider retries: now it is stored, and counted, once.
  EXPECT_EQ(Run(Hook(kDelivered)), IngestOutcome::kAccepted);
  EXPECT_EQ(DeliveryEvents("sms", "delivered"), 1);
}

TEST_F(IngestServiceTest, FatalStoreErrorFailsRequestAndClosesQueue) {
  store_.FailCall(1, StatusCode::kIo, "disk I/O error");
  EXPECT_EQ(Run(Hook(kDelivered)), IngestOutcome::kStoreFailed);
  EXPECT_EQ(fatal_calls_.load(), 1);
  EXPECT_EQ(StoreErrors("commit", "io"), 1);
  EXPECT_FALSE(queue_->healthy());
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-2", "DELIVERED"))),
            IngestOutcome::kOverloaded);
  EXPECT_EQ(Dropped("shutdown"), 1);
  EXPECT_EQ(Requests(IngestOutcome::kAccepted), 0);
}

TEST_F(IngestServiceTest, SubmissionCarriesTheRawRequestUntouched) {
  // Odd but valid JSON: escapes, spacing and key order the normalizer does
  // not care about, which must still reach the store byte for byte.
  const std::string body =
      "{ \"channel\" : \"sms\",\n\t\"verificationId\": 42,"
      " \"deliveryStatus\":\"DELIVERED\", \"note\": \"\\u00e9\\u0000\" }";
  InboundWebhook h = Hook(body);
  h.target = "/webhooks/mc?attempt=2&x=%20";
  h.headers.emplace_back("X-Extra", "1");
  const std::string head = h.Head();
  EXPECT_EQ(Run(std::move(h)), IngestOutcome::kAccepted);

  std::vector<Submission> got = store_.committed();
  ASSERT_EQ(got.size(), 1u);
  const Submission& s = got[0];
  EXPECT_EQ(s.raw.source, kSource);
  EXPECT_EQ(s.raw.body, body);
  EXPECT_EQ(s.raw.target, "/webhooks/mc?attempt=2&x=%20");
  EXPECT_EQ(s.raw.head, head);
  EXPECT_NE(s.raw.head.find("\r\nX-Extra: 1\r\n"), std::string::npos);
  EXPECT_EQ(s.raw.received_at_ms, kNowMs);
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].source, kSource);
  EXPECT_EQ(s.events[0].verification_id, "42");
  EXPECT_EQ(s.events[0].received_at_ms, kNowMs);
}

// An id with a NUL byte cannot be kept alike by both stores (PostgreSQL
// text cannot hold it; cut at the NUL it could equal another event's key):
// refused as malformed, nothing stored. A NUL in the raw body elsewhere is
// kept byte for byte (above).
TEST_F(IngestServiceTest, IdWithANulByteIsRejectedAsMalformed) {
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-8\\u0000x", "DELIVERED"))),
            IngestOutcome::kRejectedMalformed);
  EXPECT_TRUE(store_.committed().empty());
  EXPECT_EQ(Run(Hook(VerifyNowBody("v-8", "DELIVERED"))),
            IngestOutcome::kAccepted);
}

TEST_F(IngestServiceTest, StoredHeadHasCredentialsRedacted) {
  InboundWebhook h = Hook(kDelivered);
  h.headers.emplace_back("Authorization", "Basic dXNlcjpwYXNz");
  h.headers.emplace_back("Cookie", "session=abc");
  h.headers.emplace_back("X-Extra", "1");
  std::string want = h.Head();
  for (const char* secret : {"Basic dXNlcjpwYXNz", "session=abc"}) {
    want.replace(want.find(secret), std::string(secret).size(), "[redacted]");
  }
  ASSERT_EQ(Run(std::move(h)), IngestOutcome::kAccepted);

  std::vector<Submission> got = store_.committed();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].raw.head, want);
  EXPECT_EQ(got[0].raw.head.find("dXNlcjpwYXNz"), std::string::npos);
  // The signature header the hmac scheme reads is kept.
  EXPECT_NE(got[0].raw.head.find("\r\nX-Signature: "), std::string::npos);
}

}  // namespace
}  // namespace dlrd
