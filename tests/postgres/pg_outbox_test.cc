// The OutboxStore contract (dlrd/core/ports/outbox_store.h) and the
// fallback decisions taken in the ingest transaction, stated once and run
// on both backends (SQLite: SqliteEventStore + SqliteOutbox; PostgreSQL:
// OpenPgEventStore with MakePgFallbackHook + OpenPgOutbox); then what only
// several PostgreSQL replicas can do: claim one queue concurrently (each job
// once), take over a dead replica's send after its lease (once, then dead),
// scan the same deadlines at once (each decided once), decide on one
// chain's callbacks stored by two replicas at once (one job), and not miss
// a decision committed out of id order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dlrd/postgres/pg_event_store.h"
#include "dlrd/postgres/pg_fallback.h"
#include "dlrd/postgres/pg_outbox.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_outbox.h"
#include "postgres/pg_conn.h"
#include "testutil/pg_test_db.h"
#include "testutil/sqlite_file.h"
#include "testutil/status_matchers.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr int64_t kLeaseMs = 30'000;
constexpr char kSource[] = "sms";
constexpr char kNumber[] = "+447700900123";

FallbackRules Rules() {
  FallbackConfig f;
  f.provider = "twilio";
  f.deadline_ms = {{Channel::kSms, 30000}, {Channel::kWhatsapp, 30000}};
  FallbackRules rules;
  rules[kSource] = f;
  return rules;
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::unique_ptr<EventStore> OpenEvents() = 0;
  virtual std::unique_ptr<OutboxStore> OpenOutbox(
      const std::string& replica) = 0;
  virtual std::string Value(const std::string& sql) = 0;
  virtual void Exec(const std::string& sql) = 0;
  int64_t Int(const std::string& sql) { return std::stoll(Value(sql)); }
};

class SqliteOutboxBackend final : public Backend {
 public:
  std::unique_ptr<EventStore> OpenEvents() override {
    SqliteOptions o;
    o.fallback = Rules();
    auto r = SqliteEventStore::Open(path_, o);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  std::unique_ptr<OutboxStore> OpenOutbox(const std::string&) override {
    SqliteOptions o;
    o.fallback = Rules();
    auto r = SqliteOutbox::Open(path_, o);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  std::string Value(const std::string& sql) override {
    return testutil::SqliteFile(path_).Value(sql);
  }
  void Exec(const std::string& sql) override {
    testutil::SqliteFile(path_).Exec(sql);
  }

 private:
  testutil::TempDir dir_;
  std::string path_ = dir_.File("dlrd.db");
};

class PgOutboxBackend final : public Backend {
 public:
  std::unique_ptr<EventStore> OpenEvents() override {
    PgStoreOptions o;
    o.hooks.push_back(MakePgFallbackHook(Rules()));
    auto r = OpenPgEventStore(target(), o);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  std::unique_ptr<OutboxStore> OpenOutbox(const std::string& replica) override {
    PgOutboxOptions o;
    o.rules = Rules();
    o.replica = replica;
    o.lease_ms = kLeaseMs;
    auto r = OpenPgOutbox(target(), o);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  std::string Value(const std::string& sql) override {
    Result<PgResult> r = conn().Exec(sql);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    if (r.value().rows() != 1) throw std::runtime_error("not one row: " + sql);
    return std::string(r.value().Text(0, 0));
  }
  void Exec(const std::string& sql) override {
    if (Status s = conn().ExecScript(sql); !s.ok()) {
      throw std::runtime_error(s.message());
    }
  }
  PgTarget target() const {
    PgTarget t;
    t.uri = db_.uri();
    t.application_name = "dlrd-outbox-test";
    return t;
  }
  PgConn& conn() {
    if (!conn_.connected()) {
      auto c = PgConn::Connect(db_.uri(), "", "dlrd-test-reader");
      if (!c.ok()) throw std::runtime_error(c.status().message());
      conn_ = std::move(c).value();
    }
    return conn_;
  }

 private:
  testutil::PgTestDb db_;
  PgConn conn_;
};

DeliveryEvent Event(const std::string& vid, DeliveryStatus status,
                    int64_t at_ms, const std::string& error_code = "",
                    const std::string& recipient = kNumber) {
  static std::atomic<int> n{0};
  DeliveryEvent e;
  e.source = kSource;
  e.provider = "twilio";
  e.dedupe_key = vid + ":" + std::string(ToString(status)) + ":" +
                 std::to_string(++n);
  e.verification_id = vid;
  e.channel = Channel::kSms;
  e.status = status;
  e.error_code = error_code;
  e.recipient = recipient;
  e.country = "GB";
  e.received_at_ms = at_ms;
  return e;
}

SubmissionResult Store(EventStore& store, const DeliveryEvent& e) {
  Submission sub;
  sub.raw.source = kSource;
  sub.raw.received_at_ms = e.received_at_ms;
  sub.events.push_back(e);
  BatchResult r = store.CommitBatch({&sub});
  EXPECT_OK(r.status);
  EXPECT_OK(r.submissions.at(0).status);
  return r.submissions.at(0);
}

class OutboxContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = std::make_unique<SqliteOutboxBackend>();
    } else {
      db_ = std::make_unique<PgOutboxBackend>();
    }
    events_ = db_->OpenEvents();
    outbox_ = db_->OpenOutbox("replica-a");
  }
  SubmissionResult Callback(const std::string& vid, DeliveryStatus status,
                            const std::string& error_code = "") {
    return Store(*events_, Event(vid, status, now_, error_code));
  }
  std::vector<OutboxJob> Claim(int limit = 10) {
    auto r = outbox_->ClaimDue(now_, limit);
    EXPECT_OK(r);
    return r.ok() ? r.value() : std::vector<OutboxJob>{};
  }

  int64_t now_ = kT0;
  std::unique_ptr<Backend> db_;
  std::unique_ptr<EventStore> events_;
  std::unique_ptr<OutboxStore> outbox_;
};

INSTANTIATE_TEST_SUITE_P(Backends, OutboxContractTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(OutboxContractTest, FailureCreatesOneJobAndDuplicatesDoNot) {
  EXPECT_TRUE(Callback("SM1", DeliveryStatus::kFailed).job_created);
  EXPECT_FALSE(Callback("SM1", DeliveryStatus::kUndelivered).job_created);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(db_->Value("SELECT trigger || ':' || result FROM"
                       " fallback_decisions WHERE result = 'escalate'"),
            "event:escalate");
  EXPECT_EQ(db_->Value("SELECT channel || ',' || state FROM outbox"),
            "whatsapp,pending");
}

TEST_P(OutboxContractTest, ClaimMarksInFlightOnce) {
  Callback("SM2", DeliveryStatus::kFailed);
  std::vector<OutboxJob> jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].root_id, "SM2");
  EXPECT_EQ(jobs[0].step, 1);
  EXPECT_EQ(jobs[0].channel, Channel::kWhatsapp);
  EXPECT_EQ(jobs[0].from_channel, Channel::kSms);
  EXPECT_EQ(jobs[0].recipient, kNumber);
  EXPECT_EQ(jobs[0].attempts, 1);
  EXPECT_EQ(jobs[0].idempotency_key, "dlrd-sms-SM2-1");
  EXPECT_FALSE(jobs[0].recovered);
  EXPECT_EQ(db_->Value("SELECT state FROM outbox"), "in_flight");
  EXPECT_TRUE(Claim().empty());
}

TEST_P(OutboxContractTest, AcceptedStartsTheNextStepsClock) {
  Callback("SM3", DeliveryStatus::kFailed);
  std::vector<OutboxJob> jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  now_ += 150;
  ASSERT_OK(outbox_->MarkAccepted(jobs[0], "WA-3", now_));
  EXPECT_EQ(db_->Value("SELECT state || ',' || provider_ref FROM outbox"),
            "accepted,WA-3");
  EXPECT_EQ(db_->Value("SELECT verification_id || ',' || status || ',' ||"
                       " (deadline_at_ms - " +
                       std::to_string(now_) +
                       ") FROM fallback_steps WHERE step = 1"),
            "WA-3,sent,30000");
  // A failure of the new step escalates to voice.
  DeliveryEvent wa = Event("WA-3", DeliveryStatus::kFailed, now_);
  wa.channel = Channel::kWhatsapp;
  EXPECT_TRUE(Store(*events_, wa).job_created);
  jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].channel, Channel::kVoice);
  EXPECT_EQ(jobs[0].from_channel, Channel::kWhatsapp);
}

TEST_P(OutboxContractTest, DeadlineEscalatesOnceWhenItPasses) {
  Callback("SM4", DeliveryStatus::kSent);
  std::vector<FallbackNote> notes;
  now_ += 29'999;
  ASSERT_OK(outbox_->ScanDeadlines(now_, &notes));
  EXPECT_TRUE(notes.empty());
  now_ += 1;
  ASSERT_OK(outbox_->ScanDeadlines(now_, &notes));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].trigger, "deadline");
  EXPECT_EQ(notes[0].decision.result, DecisionResult::kEscalate);
  ASSERT_OK(outbox_->ScanDeadlines(now_ + 1000, &notes));
  EXPECT_EQ(notes.size(), 1u);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(db_->Value("SELECT trigger FROM fallback_decisions"), "deadline");
}

TEST_P(OutboxContractTest, DeliveredBeforeTheDeadlineSendsNothing) {
  Callback("SM5", DeliveryStatus::kSent);
  now_ += 1000;
  Callback("SM5", DeliveryStatus::kDelivered);
  now_ += 60'000;
  std::vector<FallbackNote> notes;
  ASSERT_OK(outbox_->ScanDeadlines(now_, &notes));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM outbox"), 0);
  EXPECT_EQ(db_->Value("SELECT reason FROM fallback_decisions"),
            "already_succeeded");
}

// The unknown-outcome rule: an in_flight job is reclaimed only once its
// lease ran out and it is not held; re-sent once; reclaimed again -> dead,
// and the next channel decided.
TEST_P(OutboxContractTest, InFlightIsReclaimedOnceThenDead) {
  Callback("SM6", DeliveryStatus::kFailed);
  std::vector<OutboxJob> jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  std::vector<FallbackNote> notes;
  auto n = outbox_->RecoverInFlight(now_ + kLeaseMs - 1, kLeaseMs, {}, &notes);
  ASSERT_OK(n);
  EXPECT_EQ(n.value(), 0);
  n = outbox_->RecoverInFlight(now_ + kLeaseMs, kLeaseMs, {jobs[0].id}, &notes);
  ASSERT_OK(n);
  EXPECT_EQ(n.value(), 0) << "a held job is the caller's own send";
  now_ += kLeaseMs;
  n = outbox_->RecoverInFlight(now_, kLeaseMs, {}, &notes);
  ASSERT_OK(n);
  EXPECT_EQ(n.value(), 1);
  EXPECT_EQ(db_->Value("SELECT state || ',' || recovered || ',' || last_error"
                       " FROM outbox"),
            "retry_wait,1,unknown_outcome");
  jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(jobs[0].recovered);
  EXPECT_EQ(jobs[0].attempts, 2);
  EXPECT_EQ(jobs[0].idempotency_key, "dlrd-sms-SM6-1");
  now_ += kLeaseMs;
  n = outbox_->RecoverInFlight(now_, kLeaseMs, {}, &notes);
  ASSERT_OK(n);
  EXPECT_EQ(n.value(), 1);
  EXPECT_EQ(db_->Value("SELECT state FROM outbox WHERE step = 1"), "dead");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].trigger, "send_failed");
  EXPECT_EQ(notes[0].decision.to, Channel::kVoice);
  jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].channel, Channel::kVoice);
}

// Outcomes are fenced to their claim: once a job was reclaimed (its lease
// ran out) an outcome of the old attempt writes nothing and answers
// kSuperseded, before and after the job is claimed again. Without the
// fence a late retry would send the job a third time, and a late dead
// would escalate a channel the new claim may well deliver.
TEST_P(OutboxContractTest, AnOutcomeOfATakenOverClaimIsSuperseded) {
  Callback("SM8", DeliveryStatus::kFailed);
  std::vector<OutboxJob> jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  const OutboxJob stale = jobs[0];
  now_ += kLeaseMs;
  std::vector<FallbackNote> notes;
  auto n = outbox_->RecoverInFlight(now_, kLeaseMs, {}, &notes);
  ASSERT_OK(n);
  ASSERT_EQ(n.value(), 1);
  const std::string row =
      "SELECT state || ',' || attempts || ',' || next_attempt_at_ms FROM"
      " outbox";
  const std::string reclaimed = db_->Value(row);
  EXPECT_EQ(outbox_->MarkRetry(stale, now_ + 1, "timeout", now_, false).code(),
            StatusCode::kSuperseded);
  EXPECT_EQ(db_->Value(row), reclaimed);
  jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempts, 2);
  const std::string claimed = db_->Value(row);
  EXPECT_EQ(outbox_->MarkRetry(stale, now_ + 1, "timeout", now_, false).code(),
            StatusCode::kSuperseded);
  EXPECT_EQ(
      outbox_->MarkDead(stale, "http 500", false, false, now_, &notes).code(),
      StatusCode::kSuperseded);
  EXPECT_EQ(outbox_->MarkAccepted(stale, "WA-stale", now_).code(),
            StatusCode::kSuperseded);
  EXPECT_EQ(db_->Value(row), claimed);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM outbox"), 1) << "no voice job";
  EXPECT_EQ(db_->Int("SELECT count(*) FROM fallback_decisions"
                     " WHERE trigger = 'send_failed'"),
            0);
  // The new claim's own outcome is written.
  ASSERT_OK(outbox_->MarkAccepted(jobs[0], "WA-8", now_));
  EXPECT_EQ(db_->Value("SELECT state || ',' || provider_ref FROM outbox"),
            "accepted,WA-8");
  // And once it is accepted, no stale outcome changes it.
  EXPECT_EQ(outbox_->MarkRetry(jobs[0], now_ + 1, "late", now_, false).code(),
            StatusCode::kSuperseded);
  EXPECT_EQ(db_->Value("SELECT state FROM outbox"), "accepted");
}

TEST_P(OutboxContractTest, RetryAndDead) {
  Callback("SM7", DeliveryStatus::kFailed);
  std::vector<OutboxJob> jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_OK(outbox_->MarkRetry(jobs[0], now_ + 5000, "timeout", now_, true));
  EXPECT_EQ(db_->Value("SELECT state || ',' || recovered FROM outbox"),
            "retry_wait,1");
  EXPECT_TRUE(Claim().empty());
  now_ += 5000;
  jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  std::vector<FallbackNote> notes;
  ASSERT_OK(outbox_->MarkDead(jobs[0], "http 400", false, true, now_, &notes));
  EXPECT_EQ(db_->Value("SELECT state FROM outbox"), "dead");
  EXPECT_EQ(db_->Value("SELECT invalid_number FROM fallback_roots"), "1");
  EXPECT_EQ(db_->Value("SELECT reason FROM fallback_decisions"
                       " WHERE trigger = 'send_failed'"),
            "invalid_number");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].decision.result, DecisionResult::kSkip);
}

TEST_P(OutboxContractTest, OptedOutNumberGetsNoFallback) {
  ASSERT_OK(outbox_->RecordOptOut(kNumber, kSource, "twilio error 21610", now_));
  EXPECT_FALSE(Callback("SM8", DeliveryStatus::kFailed).job_created);
  EXPECT_EQ(db_->Value("SELECT reason FROM fallback_decisions"), "opted_out");
  // An opt-out error on a callback is stored too (once).
  EXPECT_FALSE(
      Callback("SM9", DeliveryStatus::kFailed, "21610").job_created);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM opt_outs"), 1);
}

TEST_P(OutboxContractTest, RegistrationStartsTheClockAndChainFindsIt) {
  Registration reg;
  reg.verification_id = "APP-1";
  reg.source = kSource;
  reg.provider = "twilio";
  reg.recipient = kNumber;
  reg.country = "GB";
  reg.sent_at_ms = now_;
  auto r = outbox_->Register(reg, now_);
  ASSERT_OK(r);
  EXPECT_TRUE(r.value());
  r = outbox_->Register(reg, now_);
  ASSERT_OK(r);
  EXPECT_FALSE(r.value());
  Registration other = reg;
  other.recipient = "+447700900999";
  EXPECT_FALSE(outbox_->Register(other, now_).ok());
  Registration unknown = reg;
  unknown.source = "nope";
  EXPECT_FALSE(outbox_->Register(unknown, now_).ok());
  now_ += 30'000;
  std::vector<FallbackNote> notes;
  ASSERT_OK(outbox_->ScanDeadlines(now_, &notes));
  std::vector<OutboxJob> jobs = Claim();
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_OK(outbox_->MarkAccepted(jobs[0], "WA-9", now_));
  auto chain = outbox_->Chain("WA-9");
  ASSERT_OK(chain);
  ASSERT_TRUE(chain.value().has_value());
  EXPECT_EQ(chain.value()->root_id, "APP-1");
  EXPECT_EQ(chain.value()->country, "GB");
  ASSERT_EQ(chain.value()->steps.size(), 2u);
  ASSERT_EQ(chain.value()->jobs.size(), 1u);
  EXPECT_EQ(chain.value()->jobs[0].state, "accepted");
  ASSERT_EQ(chain.value()->decisions.size(), 1u);
  EXPECT_EQ(chain.value()->decisions[0].trigger, "deadline");
  EXPECT_EQ(chain.value()->outcome, "pending");
  auto none = outbox_->Chain("nothing");
  ASSERT_OK(none);
  EXPECT_FALSE(none.value().has_value());
  auto depth = outbox_->Depth(now_);
  ASSERT_OK(depth);
  EXPECT_EQ(depth.value().by_state.at("accepted"), 1);
  EXPECT_EQ(depth.value().by_state.at("pending"), 0);
}

TEST_P(OutboxContractTest, DecisionsSinceSkipsHistoryThenCountsOnce) {
  Callback("SM10", DeliveryStatus::kFailed);  // history
  int64_t cursor = -1;
  auto d = outbox_->DecisionsSince(&cursor, 100);
  ASSERT_OK(d);
  EXPECT_TRUE(d.value().empty());
  EXPECT_GT(cursor, 0);
  Callback("SM11", DeliveryStatus::kFailed);
  Callback("SM12", DeliveryStatus::kFailed);
  d = outbox_->DecisionsSince(&cursor, 100);
  ASSERT_OK(d);
  ASSERT_EQ(d.value().size(), 2u);
  EXPECT_EQ(d.value()[0].result, DecisionResult::kEscalate);
  EXPECT_EQ(d.value()[0].to, Channel::kWhatsapp);
  d = outbox_->DecisionsSince(&cursor, 100);
  ASSERT_OK(d);
  EXPECT_TRUE(d.value().empty());
}

// --- several PostgreSQL replicas -------------------------------------------

class PgReplicasTest : public ::testing::Test {
 protected:
  void InsertJobs(int n, int64_t at_ms) {
    db_.Exec(
        "INSERT INTO fallback_roots(source, root_id, recipient,"
        " created_at_ms) SELECT 'sms', 'R' || i, '+4477009' || i, " +
        std::to_string(at_ms) +
        " FROM generate_series(1, " + std::to_string(n) +
        ") i;"
        " INSERT INTO outbox(source, root_id, step, provider, channel,"
        " recipient, next_attempt_at_ms, idempotency_key, created_at_ms,"
        " updated_at_ms) SELECT 'sms', 'R' || i, 1, 'twilio', 'whatsapp',"
        " '+4477009' || i, " +
        std::to_string(at_ms) + ", 'k' || i, " + std::to_string(at_ms) +
        ", " + std::to_string(at_ms) + " FROM generate_series(1, " +
        std::to_string(n) + ") i");
  }
  PgOutboxBackend db_;
};

TEST_F(PgReplicasTest, ConcurrentClaimsTakeEveryJobExactlyOnce) {
  db_.OpenEvents();  // migrates
  InsertJobs(200, kT0);
  auto a = db_.OpenOutbox("replica-a");
  auto b = db_.OpenOutbox("replica-b");
  std::vector<int64_t> got_a, got_b;
  std::atomic<bool> failed{false};
  auto run = [&](OutboxStore* store, std::vector<int64_t>* got) {
    for (;;) {
      auto r = store->ClaimDue(kT0, 7);
      if (!r.ok()) {
        failed = true;
        return;
      }
      if (r.value().empty()) return;
      for (const OutboxJob& j : r.value()) got->push_back(j.id);
    }
  };
  std::thread ta(run, a.get(), &got_a);
  std::thread tb(run, b.get(), &got_b);
  ta.join();
  tb.join();
  EXPECT_FALSE(failed);
  std::multiset<int64_t> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), 200u)
      << "a job was claimed twice";
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox WHERE state = 'in_flight'"
                    " AND attempts = 1 AND lease_until_ms = " +
                    std::to_string(kT0 + kLeaseMs)),
            200);
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox WHERE claimed_by ="
                    " 'replica-a'"),
            static_cast<int64_t>(got_a.size()));
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox WHERE claimed_by ="
                    " 'replica-b'"),
            static_cast<int64_t>(got_b.size()));
}

// Replica A claims and "dies" mid-send. After the lease, B and C recover at
// the same moment: the job is reclaimed once (re-sent once, recovered);
// claimed and lost again, it is dead and escalated: never a third send.
TEST_F(PgReplicasTest, ADeadReplicasJobIsReclaimedOnceThenDead) {
  auto events = db_.OpenEvents();
  Store(*events, Event("SM1", DeliveryStatus::kFailed, kT0));
  auto a = db_.OpenOutbox("replica-a");
  auto b = db_.OpenOutbox("replica-b");
  auto c = db_.OpenOutbox("replica-c");
  auto claimed = a->ClaimDue(kT0, 10);
  ASSERT_OK(claimed);
  ASSERT_EQ(claimed.value().size(), 1u);
  a.reset();  // killed
  std::vector<FallbackNote> notes;
  auto early = b->RecoverInFlight(kT0 + kLeaseMs - 1, kLeaseMs, {}, &notes);
  ASSERT_OK(early);
  EXPECT_EQ(early.value(), 0);
  int64_t now = kT0 + kLeaseMs;
  std::atomic<int> reclaimed{0};
  auto recover = [&](OutboxStore* s) {
    std::vector<FallbackNote> n;
    auto r = s->RecoverInFlight(now, kLeaseMs, {}, &n);
    if (r.ok()) reclaimed += r.value();
  };
  std::thread tb(recover, b.get());
  std::thread tc(recover, c.get());
  tb.join();
  tc.join();
  EXPECT_EQ(reclaimed, 1);
  EXPECT_EQ(db_.Value("SELECT state || ',' || recovered FROM outbox"),
            "retry_wait,1");
  auto resend = b->ClaimDue(now, 10);
  ASSERT_OK(resend);
  ASSERT_EQ(resend.value().size(), 1u);
  EXPECT_EQ(resend.value()[0].idempotency_key, "dlrd-sms-SM1-1");
  EXPECT_EQ(resend.value()[0].attempts, 2);
  EXPECT_TRUE(c->ClaimDue(now, 10).value().empty());
  b.reset();  // dies too
  now += kLeaseMs;
  reclaimed = 0;
  auto d = db_.OpenOutbox("replica-d");
  std::thread tc2(recover, c.get());
  std::thread td(recover, d.get());
  tc2.join();
  td.join();
  EXPECT_EQ(reclaimed, 1);
  EXPECT_EQ(db_.Value("SELECT state || ',' || attempts FROM outbox"
                      " WHERE step = 1"),
            "dead,2");
  EXPECT_EQ(db_.Int("SELECT count(*) FROM fallback_decisions"
                    " WHERE trigger = 'send_failed'"),
            1);
  auto voice = c->ClaimDue(now, 10);
  ASSERT_OK(voice);
  ASSERT_EQ(voice.value().size(), 1u);
  EXPECT_EQ(voice.value()[0].channel, Channel::kVoice);
}

// The fence also names the replica: an outcome written through another
// replica's store for a claim it never made is refused, even for the same
// attempt number.
TEST_F(PgReplicasTest, OnlyTheClaimingReplicaWritesTheOutcome) {
  auto events = db_.OpenEvents();
  Store(*events, Event("SM2", DeliveryStatus::kFailed, kT0));
  auto a = db_.OpenOutbox("replica-a");
  auto b = db_.OpenOutbox("replica-b");
  auto claimed = a->ClaimDue(kT0, 10);
  ASSERT_OK(claimed);
  ASSERT_EQ(claimed.value().size(), 1u);
  const OutboxJob job = claimed.value()[0];
  EXPECT_EQ(b->MarkAccepted(job, "WA-b", kT0 + 10).code(),
            StatusCode::kSuperseded);
  EXPECT_EQ(db_.Value("SELECT state || ',' || claimed_by FROM outbox"),
            "in_flight,replica-a");
  ASSERT_OK(a->MarkAccepted(job, "WA-a", kT0 + 10));
  EXPECT_EQ(db_.Value("SELECT state || ',' || provider_ref FROM outbox"),
            "accepted,WA-a");
}

TEST_F(PgReplicasTest, ConcurrentDeadlineScansDecideEachOnce) {
  auto events = db_.OpenEvents();
  constexpr int kChains = 120;
  for (int i = 0; i < kChains; ++i) {
    // One number each: the per-recipient cap is not what is tested.
    Store(*events, Event("D" + std::to_string(i), DeliveryStatus::kSent, kT0,
                         "", "+4477001" + std::to_string(i)));
  }
  auto a = db_.OpenOutbox("replica-a");
  auto b = db_.OpenOutbox("replica-b");
  const int64_t now = kT0 + 30'000;
  std::atomic<int> notes_total{0};
  std::atomic<bool> failed{false};
  auto scan = [&](OutboxStore* s) {
    for (int i = 0; i < 20; ++i) {
      std::vector<FallbackNote> notes;
      if (!s->ScanDeadlines(now, &notes).ok()) failed = true;
      notes_total += static_cast<int>(notes.size());
    }
  };
  std::thread ta(scan, a.get());
  std::thread tb(scan, b.get());
  ta.join();
  tb.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(db_.Int("SELECT count(*) FROM fallback_decisions"
                    " WHERE trigger = 'deadline'"),
            kChains);
  EXPECT_EQ(db_.Int("SELECT count(DISTINCT root_id) FROM fallback_decisions"
                    " WHERE trigger = 'deadline'"),
            kChains);
  EXPECT_EQ(notes_total, kChains);
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox"), kChains);
}

// Two replicas store different failure callbacks of the same chain at the
// same moment: one job. (The verification row the rollups lock already
// serializes these two; the root lock is shown by the next test.)
TEST_F(PgReplicasTest, TwoReplicasStoringOneChainCreateOneJob) {
  auto a = db_.OpenEvents();
  auto b = db_.OpenEvents();
  for (int round = 0; round < 20; ++round) {
    const std::string vid = "C" + std::to_string(round);
    const std::string number = "+4477002" + std::to_string(round);
    Store(*a, Event(vid, DeliveryStatus::kSent, kT0, "", number));
    std::atomic<int> created{0};
    auto fail = [&](EventStore* s, DeliveryStatus st) {
      Submission sub;
      DeliveryEvent e = Event(vid, st, kT0 + 10, "", number);
      sub.raw.source = kSource;
      sub.raw.received_at_ms = e.received_at_ms;
      sub.events.push_back(e);
      BatchResult r = s->CommitBatch({&sub});
      if (r.status.ok() && r.submissions[0].job_created) ++created;
    };
    std::thread ta(fail, a.get(), DeliveryStatus::kFailed);
    std::thread tb(fail, b.get(), DeliveryStatus::kUndelivered);
    ta.join();
    tb.join();
    EXPECT_EQ(created, 1) << vid;
  }
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox"), 20);
  EXPECT_EQ(db_.Int("SELECT count(*) FROM fallback_decisions"
                    " WHERE result = 'escalate'"),
            20);
}

// Another replica deciding on a chain holds its root: a callback of that
// chain waits for it (then decides on what it committed), and a deadline
// scan skips the chain instead of waiting (the next scan decides it).
TEST_F(PgReplicasTest, DecisionsWaitForTheRootLockScansSkipIt) {
  auto events = db_.OpenEvents();
  auto outbox = db_.OpenOutbox("replica-a");
  Store(*events, Event("L1", DeliveryStatus::kSent, kT0));
  auto other = PgConn::Connect(db_.target().uri, "", "other-replica");
  ASSERT_OK(other);
  ASSERT_OK(other.value().ExecScript(
      "BEGIN; SELECT 1 FROM fallback_roots WHERE root_id = 'L1' FOR UPDATE"));
  std::atomic<bool> scanned{false};
  std::vector<FallbackNote> notes;
  std::thread scan([&] {
    EXPECT_OK(outbox->ScanDeadlines(kT0 + 30'000, &notes));
    scanned = true;
  });
  for (int i = 0; i < 100 && !scanned; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(scanned) << "the scan waited for a locked chain";
  EXPECT_TRUE(notes.empty());
  std::atomic<bool> stored{false};
  std::thread callback([&] {
    Store(*events, Event("L1", DeliveryStatus::kFailed, kT0 + 30'000));
    stored = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(stored) << "decided without the chain's root lock";
  ASSERT_OK(other.value().ExecScript("COMMIT"));
  callback.join();
  scan.join();
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox"), 1);
  notes.clear();
  ASSERT_OK(outbox->ScanDeadlines(kT0 + 30'000, &notes));
  // The deadline is decided now: the failure already escalated.
  EXPECT_EQ(db_.Int("SELECT deadline_checked FROM fallback_steps"
                    " WHERE root_id = 'L1' AND step = 0"),
            1);
  EXPECT_EQ(db_.Int("SELECT count(*) FROM outbox"), 1);
}

// A decision row whose id is lower than one already read, committed later
// (another replica's longer transaction), is still counted, once.
TEST_F(PgReplicasTest, DecisionCommittedOutOfIdOrderIsCountedOnce) {
  auto events = db_.OpenEvents();
  auto outbox = db_.OpenOutbox("replica-a");
  int64_t cursor = -1;
  ASSERT_OK(outbox->DecisionsSince(&cursor, 100));
  auto slow = PgConn::Connect(db_.target().uri, "", "slow-replica");
  ASSERT_OK(slow);
  ASSERT_OK(slow.value().ExecScript(
      "BEGIN; INSERT INTO fallback_decisions(source, root_id, step, trigger,"
      " from_channel, to_channel, result, wasted, at_ms) VALUES ('sms', 'S',"
      " 0, 'event', 'sms', 'whatsapp', 'escalate', 0, " +
      std::to_string(kT0) + ")"));
  Store(*events, Event("F1", DeliveryStatus::kFailed, kT0));  // higher id
  auto d = outbox->DecisionsSince(&cursor, 100);
  ASSERT_OK(d);
  EXPECT_EQ(d.value().size(), 1u);
  ASSERT_OK(slow.value().ExecScript("COMMIT"));
  d = outbox->DecisionsSince(&cursor, 100);
  ASSERT_OK(d);
  EXPECT_EQ(d.value().size(), 1u) << "the late row was missed";
  d = outbox->DecisionsSince(&cursor, 100);
  ASSERT_OK(d);
  EXPECT_EQ(d.value().size(), 0u) << "counted twice";
}

// A lost connection: kUnavailable, and the next call reconnects.
TEST_F(PgReplicasTest, LostConnectionIsUnavailableThenReconnects) {
  db_.OpenEvents();
  auto outbox = db_.OpenOutbox("replica-a");
  ASSERT_OK(outbox->Depth(kT0));
  db_.Exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE application_name = 'dlrd-outbox-test'"
      " AND datname = current_database()");  // not another test's sessions
  auto lost = outbox->Depth(kT0);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable);
  EXPECT_OK(outbox->Depth(kT0));
}

}  // namespace
}  // namespace dlrd
