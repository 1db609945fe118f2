// Dispatcher over a real SQLite file, a fake clock and a fake HTTPS client:
// the fallback chain end to end below the network. Events enter through
// SqliteEventStore::CommitBatch (so the job is written in the event's
// transaction); the dispatcher claims, sends and records outcomes.
#include "dlrd/app/dispatch/dispatcher.h"
#include "dlrd/app/metrics/internal_errors.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_outbox.h"
#include "testutil/sqlite_file.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr char kSource[] = "sms";
constexpr char kNumber[] = "+447700900123";

class FakeClock final : public Clock {
 public:
  int64_t NowMs() const override { return now; }
  int64_t now = kT0;
};

// Records every call; the test answers them in order.
class FakeClient final : public OutboundClient {
 public:
  struct Call {
    HttpCall http;
    Done done;
  };
  void Send(HttpCall call, CallOptions, Done done) override {
    calls.push_back(Call{std::move(call), std::move(done)});
  }
  void Answer(int status, std::string body = "", HeaderList headers = {}) {
    ClientResult r;
    r.request_written = true;
    r.reply.status = status;
    r.reply.body = std::move(body);
    r.reply.headers = std::move(headers);
    Finish(std::move(r));
  }
  void Fail(TransportError e, bool written) {
    ClientResult r;
    r.error = e;
    r.request_written = written;
    r.detail = "fake";
    Finish(std::move(r));
  }
  size_t pending() const { return calls.size() - answered; }
  std::vector<Call> calls;
  size_t answered = 0;

 private:
  void Finish(ClientResult r) {
    ASSERT_LT(answered, calls.size());
    calls[answered++].done(std::move(r));
  }
};

// The URL carries channel and recipient; a 200 body is the provider's id.
class FakeAdapter final : public SendAdapter {
 public:
  Result<HttpCall> Build(const SendRequest& r) const override {
    HttpCall c;
    c.method = "POST";
    c.url = "https://provider.test/send/" + std::string(ToString(r.channel));
    c.body = r.recipient;
    return c;
  }
  SendOutcome Classify(const HttpReply& reply, int64_t now) const override {
    SendOutcome o;
    if (reply.status == 200) {
      o.provider_ref = reply.body;
    } else if (reply.status == 400) {
      o.error = SendErrorClass::kInvalidNumber;
    } else if (reply.status == 410) {  // "unsubscribed", as Twilio 21610
      o.error = SendErrorClass::kInvalidNumber;
      o.provider_code = "21610";
    } else if (reply.status == 403) {
      o.error = SendErrorClass::kFraud;
    } else if (reply.status == 429) {
      o.error = SendErrorClass::kRateLimited;
      for (const auto& [k, v] : reply.headers) {
        if (k == "Retry-After") o.retry_after_ms = ParseRetryAfterMs(v, now);
      }
    } else if (reply.status >= 500) {
      o.error = SendErrorClass::kServer;
    } else {
      o.error = SendErrorClass::kRejected;
    }
    o.detail = "http " + std::to_string(reply.status);
    return o;
  }
  std::string_view provider() const override { return "fake"; }
  bool supports_idempotency_key() const override { return false; }
};

// The real store, except that the next `fail_writes` outcome writes
// (MarkAccepted, MarkRetry, MarkDead) fail as SQLITE_BUSY would, writing
// nothing.
class FlakyOutbox final : public OutboxStore {
 public:
  explicit FlakyOutbox(OutboxStore& real) : real_(real) {}
  Result<bool> Register(const Registration& r, int64_t now_ms) override {
    return real_.Register(r, now_ms);
  }
  Status ScanDeadlines(int64_t now_ms,
                       std::vector<FallbackNote>* notes) override {
    return real_.ScanDeadlines(now_ms, notes);
  }
  Result<std::vector<OutboxJob>> ClaimDue(int64_t now_ms, int limit) override {
    if (on_claim) on_claim();
    return real_.ClaimDue(now_ms, limit);
  }
  Status MarkAccepted(const OutboxJob& job, std::string_view ref,
                      int64_t now_ms) override {
    if (Fail()) return Busy();
    return real_.MarkAccepted(job, ref, now_ms);
  }
  Status MarkRetry(const OutboxJob& job, int64_t next_attempt_at_ms,
                   std::string_view error, int64_t now_ms,
                   bool unknown_outcome) override {
    if (Fail()) return Busy();
    return real_.MarkRetry(job, next_attempt_at_ms, error, now_ms,
                           unknown_outcome);
  }
  Status MarkDead(const OutboxJob& job, std::string_view error, bool fraud,
                  bool invalid_number, int64_t now_ms,
                  std::vector<FallbackNote>* notes) override {
    if (Fail()) return Busy();
    return real_.MarkDead(job, error, fraud, invalid_number, now_ms, notes);
  }
  Result<int> RecoverInFlight(int64_t now_ms, int64_t lease_ms,
                              const std::set<int64_t>& held,
                              std::vector<FallbackNote>* notes) override {
    return real_.RecoverInFlight(now_ms, lease_ms, held, notes);
  }
  Status RecordOptOut(std::string_view recipient, std::string_view source,
                      std::string_view reason, int64_t now_ms) override {
    return real_.RecordOptOut(recipient, source, reason, now_ms);
  }
  Result<OutboxDepth> Depth(int64_t now_ms) override {
    return real_.Depth(now_ms);
  }
  Result<std::vector<Decision>> DecisionsSince(int64_t* after_id,
                                               int limit) override {
    return real_.DecisionsSince(after_id, limit);
  }
  Result<std::optional<ChainView>> Chain(std::string_view id) override {
    return real_.Chain(id);
  }

  int fail_writes = 0;
  int failed = 0;  // writes refused so far
  std::function<void()> on_claim;  // runs at the start of ClaimDue

 private:
  bool Fail() {
    if (fail_writes <= 0) return false;
    --fail_writes;
    ++failed;
    return true;
  }
  static Status Busy() { return Status::Error("outbox: database is locked"); }
  OutboxStore& real_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "dlrd.db").string();
    FallbackConfig f;
    f.provider = "twilio";
    f.deadline_ms = {{Channel::kSms, 30000}, {Channel::kWhatsapp, 30000}};
    SqliteOptions opts;
    opts.fallback[kSource] = f;
    auto store = SqliteEventStore::Open(path_, opts);
    ASSERT_TRUE(store.ok()) << store.status().message();
    events_ = std::move(store).value();
    auto outbox = SqliteOutbox::Open(path_, opts);
    ASSERT_TRUE(outbox.ok()) << outbox.status().message();
    outbox_ = std::move(outbox).value();
    flaky_ = std::make_unique<FlakyOutbox>(*outbox_);
    adapters_["twilio"] = std::make_unique<FakeAdapter>();
    providers_["twilio"].name = "twilio";
    config_.max_attempts = 3;
    config_.breaker_failures = 100;
    NewDispatcher();
  }
  void NewDispatcher() {
    dispatcher_ =
        std::make_unique<Dispatcher>(*flaky_, client_, adapters_, providers_,
                                     config_, clock_, nullptr, log_.get(), 42);
  }
  // From now on the dispatcher logs into a temp file; LoggedText() reads it.
  void NewLoggedDispatcher() {
    log_file_ = std::tmpfile();
    ASSERT_NE(log_file_, nullptr);
    log_ = std::make_unique<Logger>(log_file_, LogLevel::kInfo);
    NewDispatcher();
  }
  std::string LoggedText() {
    std::string text(16384, '\0');
    std::rewind(log_file_);
    text.resize(std::fread(text.data(), 1, text.size(), log_file_));
    return text;
  }
  void TearDown() override {
    dispatcher_.reset();
    log_.reset();
    if (log_file_ != nullptr) std::fclose(log_file_);
  }
  // A callback for `vid` as the ingest writer stores it.
  SubmissionResult Callback(const std::string& vid, DeliveryStatus status,
                            Channel channel = Channel::kSms,
                            const std::string& provider = "twilio",
                            const std::string& error_code = "") {
    static int n = 0;
    Submission sub;
    sub.raw.source = kSource;
    sub.raw.received_at_ms = clock_.now;
    DeliveryEvent e;
    e.source = kSource;
    e.provider = provider;
    e.dedupe_key =
        vid + ":" + std::string(ToString(status)) + ":" + std::to_string(++n);
    e.verification_id = vid;
    e.channel = channel;
    e.status = status;
    e.error_code = error_code;
    e.recipient = kNumber;
    e.country = "GB";
    e.received_at_ms = clock_.now;
    sub.events.push_back(e);
    BatchResult r = events_->CommitBatch({&sub});
    EXPECT_TRUE(r.status.ok()) << r.status.message();
    return r.submissions.at(0);
  }
  std::string Query(const std::string& sql) {
    testutil::SqliteFile db(path_);
    return db.Value(sql);
  }
  int64_t Count(const std::string& sql) {
    testutil::SqliteFile db(path_);
    return db.Int(sql);
  }

  testutil::TempDir dir_;
  std::string path_;
  FakeClock clock_;
  FakeClient client_;
  SendAdapters adapters_;
  std::map<std::string, ProviderConfig> providers_;
  OutboxConfig config_;
  std::unique_ptr<SqliteEventStore> events_;
  std::unique_ptr<SqliteOutbox> outbox_;
  std::unique_ptr<FlakyOutbox> flaky_;  // what the dispatcher uses
  std::FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;  // null: the dispatcher does not log
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, FailedSmsSendsWhatsappAndStartsItsClock) {
  SubmissionResult r = Callback("SM1", DeliveryStatus::kFailed);
  EXPECT_TRUE(r.job_created);
  EXPECT_EQ(Query("SELECT group_concat(trigger || ':' || result)"
                  " FROM fallback_decisions"),
            "event:escalate");
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  EXPECT_EQ(client_.calls[0].http.url, "https://provider.test/send/whatsapp");
  EXPECT_EQ(client_.calls[0].http.body, kNumber);
  EXPECT_EQ(Query("SELECT state FROM outbox"), "in_flight");
  clock_.now += 150;
  client_.Answer(200, "WA-1");
  dispatcher_->RunOnce();
  EXPECT_EQ(Query("SELECT state || ',' || provider_ref FROM outbox"),
            "accepted,WA-1");
  EXPECT_EQ(Query("SELECT verification_id || ',' || (deadline_at_ms - " +
                  std::to_string(clock_.now) +
                  ") FROM fallback_steps"
                  " WHERE step = 1"),
            "WA-1,30000");
  // A WhatsApp failure callback on the new id escalates to voice.
  SubmissionResult wa =
      Callback("WA-1", DeliveryStatus::kFailed, Channel::kWhatsapp, "twilio");
  EXPECT_TRUE(wa.job_created);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);
  EXPECT_EQ(client_.calls[1].http.url, "https://provider.test/send/voice");
}

TEST_F(DispatcherTest, AThrowingTaskIsReportedAndTheThreadGoesOn) {
  prometheus::Registry registry;
  InternalErrors errors(registry, nullptr);
  dispatcher_->SetInternalErrors(&errors);
  bool later_ran = false;
  dispatcher_->Post([] { throw std::logic_error("bug in a task"); });
  dispatcher_->Post([&] { later_ran = true; });
  Callback("v-throw", DeliveryStatus::kFailed);
  EXPECT_NO_THROW(dispatcher_->RunOnce());
  EXPECT_TRUE(later_ran);
  EXPECT_EQ(errors.count("dispatcher"), 1);
  // The poll still ran: the failed SMS went out on WhatsApp.
  EXPECT_EQ(client_.calls.size(), 1u);
}

TEST_F(DispatcherTest, DuplicateFailuresSendOnce) {
  EXPECT_TRUE(Callback("SM2", DeliveryStatus::kFailed).job_created);
  EXPECT_FALSE(Callback("SM2", DeliveryStatus::kUndelivered).job_created);
  dispatcher_->RunOnce();
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 1);
}

TEST_F(DispatcherTest, SilenceEscalatesAtTheDeadline) {
  Callback("SM3", DeliveryStatus::kSent);
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 0u);
  clock_.now += 29'999;
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 0u);
  clock_.now += 1;
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  EXPECT_EQ(client_.calls[0].http.url, "https://provider.test/send/whatsapp");
  EXPECT_EQ(Query("SELECT trigger FROM fallback_decisions"), "deadline");
}

TEST_F(DispatcherTest, DeliveredBeforeTheDeadlineSendsNothing) {
  Callback("SM4", DeliveryStatus::kSent);
  clock_.now += 1000;
  Callback("SM4", DeliveryStatus::kDelivered);
  clock_.now += 60'000;
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 0u);
  EXPECT_EQ(Query("SELECT reason FROM fallback_decisions"),
            "already_succeeded");
}

TEST_F(DispatcherTest, RateLimitWaitsForRetryAfter) {
  Callback("SM5", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  client_.Answer(429, "", {{"Retry-After", "5"}});
  dispatcher_->RunOnce();
  EXPECT_EQ(Query("SELECT state FROM outbox"), "retry_wait");
  clock_.now += 4'999;
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
  clock_.now += 1;
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 2u);
}

TEST_F(DispatcherTest, InvalidNumberIsDeadWithoutRetryOrFallback) {
  Callback("SM6", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  client_.Answer(400);
  dispatcher_->RunOnce();
  clock_.now += 3'600'000;
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
  EXPECT_EQ(Query("SELECT state FROM outbox"), "dead");
  EXPECT_EQ(Query("SELECT invalid_number FROM fallback_roots"), "1");
  EXPECT_EQ(Query("SELECT reason FROM fallback_decisions WHERE"
                  " trigger = 'send_failed'"),
            "invalid_number");
}

TEST_F(DispatcherTest, ServerErrorsBackOffThenEscalate) {
  Callback("SM7", DeliveryStatus::kFailed);
  for (int i = 0; i < 3; ++i) {
    dispatcher_->RunOnce();
    ASSERT_EQ(client_.calls.size(), static_cast<size_t>(i + 1));
    client_.Answer(503);
    dispatcher_->RunOnce();
    clock_.now += 120'000;  // past any backoff
  }
  dispatcher_->RunOnce();
  EXPECT_EQ(Query("SELECT state FROM outbox WHERE step = 1"), "dead");
  ASSERT_EQ(client_.calls.size(), 4u);
  EXPECT_EQ(client_.calls[3].http.url, "https://provider.test/send/voice");
}

// kill -9 after the job was committed in_flight: the next start re-sends it
// once; a second loss escalates rather than sending a third time.
TEST_F(DispatcherTest, CrashInFlightResendsOnceThenEscalates) {
  Callback("SM8", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);  // never answered: the "crash"
  NewDispatcher();
  clock_.now += config_.in_flight_lease_ms;  // the claim's lease ran out
  dispatcher_->Recover();
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);
  EXPECT_EQ(client_.calls[1].http.url, "https://provider.test/send/whatsapp");
  NewDispatcher();
  clock_.now += config_.in_flight_lease_ms;
  dispatcher_->Recover();
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 3u);
  EXPECT_EQ(client_.calls[2].http.url, "https://provider.test/send/voice");
  EXPECT_EQ(Query("SELECT last_error FROM outbox WHERE step = 1"),
            "unknown_outcome");
}

TEST_F(DispatcherTest, TimeoutAfterRecoveryEscalates) {
  Callback("SM9", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  NewDispatcher();
  clock_.now += config_.in_flight_lease_ms;
  dispatcher_->Recover();
  dispatcher_->RunOnce();  // the one re-send after the crash
  ASSERT_EQ(client_.calls.size(), 2u);
  client_.answered = 1;
  client_.Fail(TransportError::kTimeout, /*written=*/true);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 3u);
  EXPECT_EQ(client_.calls[2].http.url, "https://provider.test/send/voice");
}

// Without an idempotency key, a live unknown outcome (timeout or reset after
// the request was written) is re-sent once; a second one escalates.
TEST_F(DispatcherTest, LiveUnknownOutcomeResendsOnceThenEscalates) {
  Callback("SM30", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  client_.Fail(TransportError::kTimeout, /*written=*/true);
  dispatcher_->RunOnce();
  clock_.now += 60'000;  // past any backoff
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);  // the one re-send
  client_.Fail(TransportError::kReset, /*written=*/true);
  dispatcher_->RunOnce();
  clock_.now += 60'000;
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 3u);
  EXPECT_EQ(client_.calls[2].http.url, "https://provider.test/send/voice");
  EXPECT_EQ(Query("SELECT substr(last_error, 1, 15) FROM outbox"
                  " WHERE step = 1"),
            "unknown_outcome");
}

// A 500 may have been sent (the provider took the request): without an
// idempotency key it is re-sent once, like a timeout, then escalates; a
// 503 (turned away) is retried up to max_attempts as above.
TEST_F(DispatcherTest, InternalServerErrorIsAnUnknownOutcome) {
  Callback("SM31", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  client_.Answer(500);
  dispatcher_->RunOnce();
  clock_.now += 60'000;
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);
  client_.Answer(502);
  dispatcher_->RunOnce();
  clock_.now += 60'000;
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 3u);
  EXPECT_EQ(client_.calls[2].http.url, "https://provider.test/send/voice");
  EXPECT_EQ(Query("SELECT substr(last_error, 1, 15) FROM outbox"
                  " WHERE step = 1"),
            "unknown_outcome");
}

TEST_F(DispatcherTest, RegistrationStartsTheClock) {
  Registration reg;
  reg.verification_id = "APP-1";
  reg.source = kSource;
  reg.provider = "twilio";
  reg.recipient = kNumber;
  reg.channel = Channel::kSms;
  reg.sent_at_ms = clock_.now;
  auto r = outbox_->Register(reg, clock_.now);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value());
  EXPECT_FALSE(outbox_->Register(reg, clock_.now).value());
  reg.recipient = "+447700900999";
  EXPECT_FALSE(outbox_->Register(reg, clock_.now).ok());
  clock_.now += 30'000;
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  client_.Answer(200, "WA-9");
  dispatcher_->RunOnce();
  auto chain = outbox_->Chain("WA-9");
  ASSERT_TRUE(chain.ok());
  ASSERT_TRUE(chain.value().has_value());
  EXPECT_EQ(chain.value()->root_id, "APP-1");
  ASSERT_EQ(chain.value()->steps.size(), 2u);
  EXPECT_EQ(chain.value()->jobs.at(0).state, "accepted");
  EXPECT_EQ(chain.value()->outcome, "pending");
}

TEST_F(DispatcherTest, OptedOutNumberGetsNoFallback) {
  Callback("SM10", DeliveryStatus::kFailed, Channel::kSms, "twilio", "21610");
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM opt_outs"), 1);
  // Another OTP to the same number later: still no fallback.
  Callback("SM11", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 0u);
  EXPECT_EQ(Query("SELECT group_concat(reason) FROM fallback_decisions"),
            "opted_out,opted_out");
}

// Decisions taken by the ingest writer (in the event's transaction) and by
// the dispatcher are both counted, once, from the decision log.
TEST_F(DispatcherTest, DecisionsFromBothWritersAreCounted) {
  prometheus::Registry registry;
  FallbackMetrics metrics(registry, {"twilio"});
  Callback("SM20", DeliveryStatus::kFailed);  // before the dispatcher exists
  dispatcher_ =
      std::make_unique<Dispatcher>(*outbox_, client_, adapters_, providers_,
                                   config_, clock_, &metrics, nullptr, 1);
  Callback("SM21", DeliveryStatus::kFailed);  // ingest writer: escalate
  Callback("SM22", DeliveryStatus::kSent);
  clock_.now += 30'000;  // dispatcher: deadline
  dispatcher_->RunOnce();
  dispatcher_->RunOnce();
  auto value = [&](const std::string& result, const std::string& reason) {
    double sum = 0;
    for (const auto& f : registry.Collect()) {
      if (f.name != "dlrd_fallback_decisions_total") continue;
      for (const auto& m : f.metric) {
        std::map<std::string, std::string> l;
        for (const auto& p : m.label) l[p.name] = p.value;
        if (l["result"] == result && l["reason"] == reason &&
            l["from_channel"] == "sms" && l["to_channel"] == "whatsapp") {
          sum += m.counter.value;
        }
      }
    }
    return sum;
  };
  // SM21 (event) and SM22 (deadline); SM20 predates the dispatcher. SM20's
  // and SM21's own deadlines find the next step existing.
  EXPECT_EQ(value("escalate", ""), 2);
}

// The send itself says the number unsubscribed (Twilio 21610): stored as an
// opt-out, so neither voice now nor a later OTP's fallback is sent.
TEST_F(DispatcherTest, OptOutOnSendIsStoredAndStopsTheChain) {
  Callback("SM30", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  client_.Answer(410);
  dispatcher_->RunOnce();
  EXPECT_EQ(Query("SELECT reason FROM opt_outs"), "twilio error 21610");
  EXPECT_EQ(Query("SELECT state FROM outbox"), "dead");
  Callback("SM31", DeliveryStatus::kFailed);
  clock_.now += 3'600'000;
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
  // SM30's voice step and SM31's WhatsApp step, both skipped.
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_decisions"
                  " WHERE reason = 'opted_out'"),
            2);
}

TEST_F(DispatcherTest, LateSuccessIsAWastedFallback) {
  Callback("SM12", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  client_.Answer(200, "WA-12");
  dispatcher_->RunOnce();
  Callback("SM12", DeliveryStatus::kDelivered);
  EXPECT_EQ(Count("SELECT wasted FROM fallback_decisions WHERE"
                  " trigger = 'event' AND result = 'none'"),
            1);
}

// The provider accepted, but recording it failed 3 times (SQLITE_BUSY):
// the write is retried until it commits, the job is never re-sent (not
// even once its lease has run out), and a restart finds nothing to redo.
TEST_F(DispatcherTest, FailedAcceptedWriteIsRetriedWithoutResend) {
  config_.in_flight_lease_ms = 1000;  // runs out while the write fails
  NewLoggedDispatcher();
  Callback("SM40", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  flaky_->fail_writes = 3;
  client_.Answer(200, "WA-40");
  dispatcher_->RunOnce();
  EXPECT_EQ(flaky_->failed, 1);
  EXPECT_EQ(Query("SELECT state FROM outbox"), "in_flight");
  EXPECT_EQ(dispatcher_->held(), 1u);
  for (int i = 0; i < 20 && dispatcher_->held() > 0; ++i) {
    clock_.now += config_.in_flight_lease_ms;  // past lease and backoff
    dispatcher_->RunOnce();
  }
  EXPECT_EQ(flaky_->failed, 3);
  EXPECT_EQ(dispatcher_->held(), 0u);
  EXPECT_EQ(Query("SELECT state || ',' || provider_ref || ',' || recovered"
                  " FROM outbox"),
            "accepted,WA-40,0");
  EXPECT_EQ(Query("SELECT verification_id FROM fallback_steps WHERE step = 1"),
            "WA-40");
  EXPECT_EQ(client_.calls.size(), 1u);
  // Each failure is counted in the log, then the success.
  const std::string text = LoggedText();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("event=outbox_store_failed op=accepted"), 3u) << text;
  EXPECT_EQ(count("failures=3 retrying=true"), 1u) << text;
  EXPECT_EQ(count("event=outbox_write_recovered op=accepted failures=3"), 1u)
      << text;
  EXPECT_EQ(count("event=fallback_sent"), 1u) << text;
  NewDispatcher();  // a restart
  clock_.now += config_.in_flight_lease_ms;
  dispatcher_->Recover();
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
}

// Retry and dead outcomes are kept the same way: a 503 whose retry_wait
// write failed is re-sent once, after the write; an invalid number whose
// dead write failed still ends dead with the root flagged.
TEST_F(DispatcherTest, FailedRetryAndDeadWritesAreRetried) {
  Callback("SM41", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  flaky_->fail_writes = 2;
  client_.Answer(503);
  for (int i = 0; i < 10 && dispatcher_->held() > 0; ++i) {
    clock_.now += config_.poll_ms;
    dispatcher_->RunOnce();
  }
  EXPECT_EQ(flaky_->failed, 2);
  EXPECT_EQ(Query("SELECT state || ',' || attempts FROM outbox"),
            "retry_wait,1");
  clock_.now += 120'000;  // past any backoff
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);
  flaky_->fail_writes = 2;
  client_.Answer(400);
  for (int i = 0; i < 10 && dispatcher_->held() > 0; ++i) {
    clock_.now += config_.poll_ms;
    dispatcher_->RunOnce();
  }
  EXPECT_EQ(flaky_->failed, 4);
  EXPECT_EQ(Query("SELECT state FROM outbox"), "dead");
  EXPECT_EQ(Query("SELECT invalid_number FROM fallback_roots"), "1");
  EXPECT_EQ(client_.calls.size(), 2u);
}

// While one outcome cannot be written, other jobs are still claimed and
// sent, and the failing write backs off instead of running every poll.
TEST_F(DispatcherTest, FailingWriteDoesNotBlockOtherJobs) {
  Callback("SM42", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  flaky_->fail_writes = 1'000'000;
  client_.Answer(200, "WA-42");
  dispatcher_->RunOnce();
  Callback("SM43", DeliveryStatus::kFailed);
  for (int i = 0; i < 100; ++i) {
    clock_.now += config_.poll_ms;
    dispatcher_->RunOnce();
  }
  EXPECT_EQ(client_.calls.size(), 2u);  // SM43's WhatsApp went out
  // 100 polls over 20 s: about 1 + log2(5000 / 200) + 20 s / 5 s attempts.
  EXPECT_LT(flaky_->failed, 15);
  flaky_->fail_writes = 0;
  clock_.now += 5'000;
  dispatcher_->RunOnce();
  client_.Answer(200, "WA-43");
  dispatcher_->RunOnce();
  EXPECT_EQ(dispatcher_->held(), 0u);
  EXPECT_EQ(Query("SELECT group_concat(state || ':' || provider_ref)"
                  " FROM (SELECT * FROM outbox ORDER BY id)"),
            "accepted:WA-42,accepted:WA-43");
}

// An outcome whose write kept failing until the lease ran out, while
// another dispatcher (a replica) reclaimed the job and re-sent it, is
// dropped when the write finally goes through (kSuperseded): the job is
// not sent a third time, and the other sender's outcome stands.
TEST_F(DispatcherTest, AnOutcomeWrittenAfterATakeoverIsDropped) {
  config_.in_flight_lease_ms = 1000;
  NewLoggedDispatcher();
  Callback("SM50", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  flaky_->fail_writes = 1'000'000;  // the database is out of reach
  client_.Answer(503);              // an outcome to write: retry
  dispatcher_->RunOnce();
  ASSERT_EQ(dispatcher_->held(), 1u);
  // The other replica, on the same outbox, after the lease.
  Dispatcher other(*outbox_, client_, adapters_, providers_, config_, clock_,
                   nullptr, nullptr, 7);
  clock_.now += config_.in_flight_lease_ms;
  other.RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);  // the unknown-outcome re-send
  client_.Answer(200, "WA-50");
  other.RunOnce();
  EXPECT_EQ(Query("SELECT state || ',' || provider_ref || ',' || attempts"
                  " FROM outbox"),
            "accepted,WA-50,2");
  flaky_->fail_writes = 0;  // reachable again: the stale write goes
  for (int i = 0; i < 20 && dispatcher_->held() > 0; ++i) {
    clock_.now += config_.poll_ms;
    dispatcher_->RunOnce();
  }
  EXPECT_EQ(dispatcher_->held(), 0u);
  EXPECT_EQ(Query("SELECT state || ',' || provider_ref || ',' || attempts"
                  " FROM outbox"),
            "accepted,WA-50,2");
  // Past any retry backoff the stale outcome would have set, and before
  // the WhatsApp step's own 30 s deadline (which would rightly send voice).
  for (int i = 0; i < 25; ++i) {
    clock_.now += 1000;
    dispatcher_->RunOnce();
    other.RunOnce();
  }
  EXPECT_EQ(client_.calls.size(), 2u);
  const std::string text = LoggedText();
  EXPECT_NE(text.find("event=outbox_outcome_superseded"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("event=outbox_write_recovered"), std::string::npos)
      << text;
}

// A job another process left in_flight is not reclaimed before its lease
// runs out (that process may still get the reply); after it, it is an
// unknown outcome and re-sent once, found by the regular poll.
TEST_F(DispatcherTest, InFlightJobIsReclaimedOnlyAfterItsLease) {
  Callback("SM44", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);  // never answered
  NewDispatcher();
  clock_.now += config_.in_flight_lease_ms - 1;
  dispatcher_->Recover();
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
  EXPECT_EQ(Query("SELECT state FROM outbox"), "in_flight");
  clock_.now += 1;
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 2u);
  EXPECT_EQ(Query("SELECT recovered || ',' || attempts FROM outbox"), "1,2");
}

// A Drain() that starts while a claim is under way (ClaimDue can wait for
// the database lock) must wait for the jobs that claim sends: returning
// "drained" would stop the HTTPS client under them, and they would be sent
// again after their lease (a second code).
TEST_F(DispatcherTest, DrainDuringAClaimWaitsForItsSends) {
  Callback("SM47", DeliveryStatus::kFailed);
  std::atomic<int> drained{-1};
  std::thread drainer;
  bool fired = false;
  flaky_->on_claim = [&] {
    if (std::exchange(fired, true)) return;
    drainer = std::thread([&] {
      drained = dispatcher_->Drain(std::chrono::steady_clock::now() +
                                   std::chrono::milliseconds(300));
    });
    // Let Drain() look while the claim is still in progress.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  dispatcher_->RunOnce();
  drainer.join();
  ASSERT_EQ(client_.calls.size(), 1u);  // the claim's send went out
  EXPECT_EQ(drained, 0) << "Drain() reported done with a send in flight";
  client_.Answer(200, "WA-47");
  dispatcher_->RunOnce();
  EXPECT_TRUE(dispatcher_->Drain(std::chrono::steady_clock::now()));
}

// Shutdown: once draining, no job is claimed; Drain() reports the held
// send until its reply is recorded.
TEST_F(DispatcherTest, DrainStopsClaimingAndWaitsForHeldJobs) {
  Callback("SM45", DeliveryStatus::kFailed);
  dispatcher_->RunOnce();
  ASSERT_EQ(client_.calls.size(), 1u);
  Callback("SM46", DeliveryStatus::kFailed);
  dispatcher_->BeginDrain();
  dispatcher_->RunOnce();
  EXPECT_EQ(client_.calls.size(), 1u);
  EXPECT_FALSE(dispatcher_->Drain(std::chrono::steady_clock::now()));
  client_.Answer(200, "WA-45");
  dispatcher_->RunOnce();
  EXPECT_TRUE(dispatcher_->Drain(std::chrono::steady_clock::now()));
  EXPECT_EQ(client_.calls.size(), 1u);
  EXPECT_EQ(Query("SELECT group_concat(state) FROM"
                  " (SELECT * FROM outbox ORDER BY id)"),
            "accepted,pending");
}

}  // namespace
}  // namespace dlrd
