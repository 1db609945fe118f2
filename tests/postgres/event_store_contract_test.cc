// The EventStore contract (dlrd/core/ports/event_store.h), stated once and
// run on both backends (store_backends.h): SQLite and PostgreSQL must give
// the same answers and leave the same rows. Dedupe (in a submission, a
// batch, across batches and sources, against pruned keys), raw requests
// kept only with a new event and byte-exact, a failing submission rolled
// back alone, the forward-only verification status, opt-outs, quarantine
// caps, and the rollups equal to GROUP BYs over the stored rows (hourly,
// and daily equal to hourly summed by day). SQLite-only behaviour (pragmas,
// power loss, the fast path) stays in tests/sqlite/.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dlrd/core/model/dedupe_key.h"
#include "dlrd/core/stats/stats.h"
#include "postgres/contract_fixtures.h"
#include "postgres/store_backends.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::DbRows;
using testutil::Event;
using testutil::kT0;
using testutil::StoreBackend;
using testutil::Stream;
using testutil::Sub;

std::unique_ptr<StoreBackend> MakeBackend(const std::string& name) {
  if (name == "sqlite") return std::make_unique<testutil::SqliteBackend>();
  return std::make_unique<testutil::PgBackend>();
}

class ContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = MakeBackend(GetParam());
    store_ = db_->Open();
  }
  // Commits `subs` as one batch; the batch and each submission must succeed.
  BatchResult Commit(const std::vector<Submission>& subs) {
    std::vector<const Submission*> batch;
    for (const Submission& s : subs) batch.push_back(&s);
    BatchResult r = store_->CommitBatch(batch);
    EXPECT_OK(r.status);
    EXPECT_EQ(r.submissions.size(), subs.size());
    for (const SubmissionResult& sr : r.submissions) EXPECT_OK(sr.status);
    return r;
  }
  int64_t Count(const std::string& table) {
    return db_->Int("SELECT count(*) FROM " + table);
  }

  std::unique_ptr<StoreBackend> db_;
  std::unique_ptr<EventStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, ContractTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// --- reopening, dedupe ----------------------------------------------------

TEST_P(ContractTest, ReopenKeepsDataAndStillDeduplicates) {
  Commit({Sub({Event("src", "k1")})});
  store_.reset();
  store_ = db_->Open();
  EXPECT_EQ(Count("delivery_events"), 1);
  EXPECT_EQ(Count("raw_requests"), 1);
  EXPECT_EQ(Count("verifications"), 1);
  BatchResult r = Commit({Sub({Event("src", "k1")})});
  EXPECT_EQ(r.submissions[0].inserted, std::vector<bool>{false});
}

TEST_P(ContractTest, SameKeyTwiceInOneSubmission) {
  BatchResult r = Commit({Sub({Event("src", "k"), Event("src", "k")})});
  EXPECT_EQ(r.submissions[0].inserted, (std::vector<bool>{true, false}));
  EXPECT_EQ(Count("delivery_events"), 1);
}

TEST_P(ContractTest, SameKeyTwiceInOneBatch) {
  BatchResult r = Commit(
      {Sub({Event("src", "k")}, "first"), Sub({Event("src", "k")}, "second")});
  EXPECT_EQ(r.submissions[0].inserted, std::vector<bool>{true});
  EXPECT_EQ(r.submissions[1].inserted, std::vector<bool>{false});
  EXPECT_EQ(Count("delivery_events"), 1);
  // The duplicate-only submission left no raw request behind.
  EXPECT_EQ(db_->Query("SELECT " + db_->HexOf("body") + " FROM raw_requests"),
            (DbRows{{testutil::Hex("first")}}));
}

TEST_P(ContractTest, SameKeyAcrossBatches) {
  BatchResult first = Commit({Sub({Event("src", "k")})});
  BatchResult second = Commit({Sub({Event("src", "k")})});
  EXPECT_EQ(first.submissions[0].inserted, std::vector<bool>{true});
  EXPECT_EQ(second.submissions[0].inserted, std::vector<bool>{false});
  EXPECT_EQ(Count("delivery_events"), 1);
}

TEST_P(ContractTest, SameKeyDifferentSourceIsTwoRows) {
  BatchResult r =
      Commit({Sub({Event("src-a", "k")}), Sub({Event("src-b", "k")})});
  EXPECT_EQ(r.submissions[0].inserted, std::vector<bool>{true});
  EXPECT_EQ(r.submissions[1].inserted, std::vector<bool>{true});
  EXPECT_EQ(Count("delivery_events"), 2);
  EXPECT_EQ(Count("raw_requests"), 2);
  EXPECT_EQ(Count("verifications"), 2);
}

TEST_P(ContractTest, DuplicateOnlySubmissionLeavesNoRawRequest) {
  Commit({Sub({Event("src", "a"), Event("src", "b")}, "original")});
  BatchResult r =
      Commit({Sub({Event("src", "b"), Event("src", "a")}, "retry")});
  EXPECT_EQ(r.submissions[0].inserted, (std::vector<bool>{false, false}));
  EXPECT_EQ(Count("raw_requests"), 1);
  EXPECT_EQ(Count("delivery_events"), 2);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM delivery_events e LEFT JOIN"
                     " raw_requests r ON r.id = e.raw_request_id"
                     " WHERE r.id IS NULL"),
            0);
}

TEST_P(ContractTest, SubmissionWithNoEventsKeepsItsRawRequest) {
  BatchResult r = Commit({Sub({}, "empty")});
  EXPECT_TRUE(r.submissions[0].inserted.empty());
  EXPECT_EQ(Count("raw_requests"), 1);
  EXPECT_EQ(Count("delivery_events"), 0);
}

TEST_P(ContractTest, PartlyDuplicateSubmissionStoresItsRawRequest) {
  Commit({Sub({Event("src", "old")}, "one")});
  BatchResult r =
      Commit({Sub({Event("src", "old"), Event("src", "new")}, "two")});
  EXPECT_EQ(r.submissions[0].inserted, (std::vector<bool>{false, true}));
  EXPECT_EQ(Count("raw_requests"), 2);
  EXPECT_EQ(
      db_->Query("SELECT e.dedupe_key, " + db_->HexOf("r.body") +
                 " FROM delivery_events e JOIN raw_requests r"
                 " ON r.id = e.raw_request_id ORDER BY e.dedupe_key"),
      (DbRows{{"new", testutil::Hex("two")}, {"old", testutil::Hex("one")}}));
}

// A key whose event retention deleted stays a duplicate (dedupe_keys holds
// the same 16-byte hash on both backends).
TEST_P(ContractTest, PrunedKeyIsStillADuplicate) {
  const std::optional<std::string> hash = DedupeKeyHash("src", "gone");
  ASSERT_TRUE(hash.has_value());
  db_->Exec("INSERT INTO dedupe_keys(key_hash, first_seen_ms) VALUES (" +
            db_->BlobLiteral(*hash) + ", 1)");
  BatchResult r =
      Commit({Sub({Event("src", "gone")}), Sub({Event("other", "gone")})});
  EXPECT_EQ(r.submissions[0].inserted, std::vector<bool>{false});
  EXPECT_EQ(r.submissions[1].inserted, std::vector<bool>{true});
  EXPECT_EQ(Count("raw_requests"), 1);
  EXPECT_EQ(Count("verifications"), 1);
}

// --- one failing submission -------------------------------------------------

TEST_P(ContractTest, FailingSubmissionIsRolledBackAlone) {
  db_->RejectKey("bad");
  std::vector<Submission> subs = {
      Sub({Event("src", "a", "va")}, "A"),
      Sub({Event("src", "b-ok", "vb"), Event("src", "bad", "vb")}, "B"),
      Sub({Event("src", "c", "vc")}, "C")};
  BatchResult r = store_->CommitBatch({&subs[0], &subs[1], &subs[2]});
  ASSERT_OK(r.status);
  ASSERT_EQ(r.submissions.size(), 3u);
  EXPECT_OK(r.submissions[0].status);
  EXPECT_FALSE(r.submissions[1].status.ok());
  EXPECT_OK(r.submissions[2].status);
  EXPECT_EQ(r.submissions[1].inserted, (std::vector<bool>{false, false}));
  // B left nothing: not its first event, its raw request, its verification
  // or its rollup counts.
  EXPECT_EQ(db_->Query("SELECT dedupe_key FROM delivery_events ORDER BY 1"),
            (DbRows{{"a"}, {"c"}}));
  EXPECT_EQ(db_->Query("SELECT " + db_->HexOf("body") +
                       " FROM raw_requests ORDER BY id"),
            (DbRows{{testutil::Hex("A")}, {testutil::Hex("C")}}));
  EXPECT_EQ(db_->Query("SELECT verification_id FROM verifications ORDER BY 1"),
            (DbRows{{"va"}, {"vc"}}));
  EXPECT_EQ(db_->Int("SELECT SUM(callbacks) FROM stats_hourly"), 2);
  EXPECT_EQ(db_->Int("SELECT SUM(sent) FROM stats_hourly"), 2);
  // The store goes on, and B's good event can still be stored.
  BatchResult again = Commit({Sub({Event("src", "b-ok")}, "B2")});
  EXPECT_EQ(again.submissions[0].inserted, std::vector<bool>{true});
}

// --- what is stored
// -----------------------------------------------------------

TEST_P(ContractTest, RawRequestIsStoredByteExact) {
  const std::string body("{\"a\":\"\xff\xfe\x80\"}\0tail\xc3", 17);
  Submission s = Sub({Event("src", "k1"), Event("src", "k2")}, body);
  s.raw.target = "/webhooks/src?x=1&y=%2F";
  s.raw.head = std::string(
      "POST /webhooks/src?x=1&y=%2F HTTP/1.1\r\n"
      "X-Signature: abc123\r\nX-Odd: a\xff"
      "b\r\n\r\n");
  s.raw.received_at_ms = 1'735'689'600'123;
  Commit({s});
  EXPECT_EQ(db_->Query("SELECT source, received_at_ms, target, " +
                       db_->HexOf("head") + ", " + db_->HexOf("body") +
                       ", length(body) FROM raw_requests"),
            (DbRows{{"src", "1735689600123", "/webhooks/src?x=1&y=%2F",
                     testutil::Hex(s.raw.head), testutil::Hex(body), "17"}}));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM delivery_events e JOIN"
                     " raw_requests r ON r.id = e.raw_request_id"),
            2);
}

TEST_P(ContractTest, EmptyBodyAndNoHeadersAreStored) {
  Submission s = Sub({Event("src", "k")}, "");
  s.raw.head.clear();
  Commit({s});
  EXPECT_EQ(db_->Query("SELECT length(head), length(body) FROM raw_requests"),
            (DbRows{{"0", "0"}}));
}

TEST_P(ContractTest, EventColumnsAreStored) {
  DeliveryEvent e = Event("src", "k", "ver-9", DeliveryStatus::kFailed);
  e.message_id = "msg-1";
  e.channel = Channel::kWhatsapp;
  e.raw_status = "FAILED";
  e.error_code = "E42";
  e.latency_ms = 1234;
  e.recipient = "+15551234567";
  e.country = "US";
  Commit({Sub({e, Event("src", "k2", "ver-9")})});
  EXPECT_EQ(
      db_->Query(
          "SELECT source, provider, dedupe_key, verification_id, message_id,"
          " channel, status, raw_status, error_code, latency_ms, recipient,"
          " country, received_at_ms, CASE WHEN latency_ms IS NULL THEN 'null'"
          " ELSE 'integer' END FROM delivery_events ORDER BY id"),
      (DbRows{{"src", "verifynow", "k", "ver-9", "msg-1", "whatsapp", "failed",
               "FAILED", "E42", "1234", "+15551234567", "US", "1700000000000",
               "integer"},
              {"src", "verifynow", "k2", "ver-9", "", "sms", "delivered",
               "delivered", "", "", "", "", "1700000000000", "null"}}));
}

// --- forward-only status
// ------------------------------------------------------

struct Step {
  DeliveryStatus status;
  std::string recipient = "";
  std::string country = "";
};

struct StatusCase {
  const char* name;
  std::vector<Step> steps;
  DeliveryStatus want_status;
  std::string want_recipient = "";
  std::string want_country = "";
  // Index of the step whose status (time, channel) the verification shows.
  size_t want_step = 0;
};

using S = DeliveryStatus;
const StatusCase kStatusCases[] = {
    {"sent_delivered_failed",
     {{S::kSent}, {S::kDelivered}, {S::kFailed}},
     S::kDelivered,
     "",
     "",
     1},
    {"failed_delivered",
     {{S::kFailed}, {S::kDelivered}},
     S::kDelivered,
     "",
     "",
     1},
    {"delivered_read", {{S::kDelivered}, {S::kRead}}, S::kRead, "", "", 1},
    {"read_delivered", {{S::kRead}, {S::kDelivered}}, S::kRead, "", "", 0},
    {"queued_sent_undelivered",
     {{S::kQueued}, {S::kSent}, {S::kUndelivered}},
     S::kUndelivered,
     "",
     "",
     2},
    {"failed_expired_first_wins",
     {{S::kFailed}, {S::kExpired}},
     S::kFailed,
     "",
     "",
     0},
    {"rejected_failed_first_wins",
     {{S::kRejected}, {S::kFailed}},
     S::kRejected,
     "",
     "",
     0},
    {"unknown_then_queued",
     {{S::kUnknown}, {S::kQueued}},
     S::kQueued,
     "",
     "",
     1},
    {"sent_then_unknown", {{S::kSent}, {S::kUnknown}}, S::kSent, "", "", 0},
    {"delivered_then_queued",
     {{S::kDelivered}, {S::kQueued}},
     S::kDelivered,
     "",
     "",
     0},
    {"recipient_filled_later",
     {{S::kSent, "", ""}, {S::kDelivered, "+15551234567", "US"}},
     S::kDelivered,
     "+15551234567",
     "US",
     1},
    {"recipient_filled_by_lower_rank_event",
     {{S::kDelivered, "", ""}, {S::kSent, "+15551234567", "US"}},
     S::kDelivered,
     "+15551234567",
     "US",
     0},
    {"recipient_kept_when_already_set",
     {{S::kSent, "+15551234567", "US"}, {S::kDelivered, "+447700900123", "GB"}},
     S::kDelivered,
     "+15551234567",
     "US",
     1},
};

// Each case uses its own verification id in one store: first with every
// step its own batch, then with all steps as events of one submission
// (out of order within one transaction).
TEST_P(ContractTest, StatusOnlyMovesForward) {
  for (const bool per_batch : {true, false}) {
    for (const StatusCase& c : kStatusCases) {
      SCOPED_TRACE(std::string(c.name) + (per_batch ? " per batch" : " one"));
      const std::string vid = std::string(per_batch ? "b-" : "s-") + c.name;
      std::vector<DeliveryEvent> events;
      for (size_t i = 0; i < c.steps.size(); ++i) {
        DeliveryEvent e =
            Event("src", vid + ":" + std::to_string(i), vid, c.steps[i].status);
        e.recipient = c.steps[i].recipient;
        e.country = c.steps[i].country;
        e.received_at_ms = 1000 * static_cast<int64_t>(i + 1);
        e.channel = i % 2 == 0 ? Channel::kSms : Channel::kWhatsapp;
        events.push_back(e);
      }
      if (per_batch) {
        for (const DeliveryEvent& e : events) Commit({Sub({e})});
      } else {
        Commit({Sub(events)});
      }
      EXPECT_EQ(db_->Query("SELECT status, status_rank, recipient, country,"
                           " first_event_at_ms, updated_at_ms, channel FROM"
                           " verifications WHERE source = 'src' AND"
                           " verification_id = '" +
                           vid + "'"),
                (DbRows{{std::string(ToString(c.want_status)),
                         std::to_string(StatusRank(c.want_status)),
                         c.want_recipient, c.want_country, "1000",
                         std::to_string(1000 * (c.want_step + 1)),
                         std::string(ToString(events[c.want_step].channel))}}));
      // Every event is kept in the log regardless of the rank rule.
      EXPECT_EQ(db_->Int("SELECT count(*) FROM delivery_events WHERE"
                         " verification_id = '" +
                         vid + "'"),
                static_cast<int64_t>(c.steps.size()));
    }
  }
}

TEST_P(ContractTest, DuplicateEventDoesNotTouchVerification) {
  Commit({Sub({Event("src", "k-sent", "v", DeliveryStatus::kSent)})});
  DeliveryEvent replay = Event("src", "k-sent", "v", DeliveryStatus::kRead);
  replay.recipient = "+15551234567";
  BatchResult r = Commit({Sub({replay})});
  EXPECT_EQ(r.submissions[0].inserted, std::vector<bool>{false});
  EXPECT_EQ(db_->Query("SELECT status, recipient FROM verifications"),
            (DbRows{{"sent", ""}}));
}

// --- opt-outs, signature failures, quarantine
// ---------------------------------

TEST_P(ContractTest, StopIsStoredAndStartRemovesIt) {
  Submission stop = Sub({});
  stop.opt_changes = {{"+447700900123", true, "twilio inbound STOP", ""}};
  Commit({stop});
  Commit({stop});  // a retried STOP changes nothing
  EXPECT_EQ(db_->Query("SELECT recipient, reason FROM opt_outs"),
            (DbRows{{"+447700900123", "twilio inbound STOP"}}));
  // START through another provider, or against an opt-out that came from
  // a provider error, lifts nothing.
  db_->Exec(
      "INSERT INTO opt_outs(recipient, source, reason, at_ms) VALUES"
      " ('+447700900124', 'src', 'twilio error 21610', 1)");
  Submission other = Sub({});
  other.opt_changes = {
      {"+447700900123", false, "vonage inbound START", "vonage inbound STOP"},
      {"+447700900124", false, "twilio inbound START", "twilio inbound STOP"}};
  Commit({other});
  EXPECT_EQ(Count("opt_outs"), 2);
  Submission start = Sub({});
  start.opt_changes = {
      {"+447700900123", false, "twilio inbound START", "twilio inbound STOP"}};
  Commit({start});
  EXPECT_EQ(db_->Query("SELECT recipient FROM opt_outs"),
            (DbRows{{"+447700900124"}}));
  // The message itself is kept, as any accepted request without events.
  EXPECT_EQ(Count("raw_requests"), 4);
}

TEST_P(ContractTest, SignatureFailuresAreCountedNotStored) {
  Submission counts;
  counts.signature_failures = {
      {HourFloor(kT0), "src", "verifynow", 40},
      {HourFloor(kT0) + kHourMs, "src", "verifynow", 2}};
  ASSERT_OK(store_->CommitBatch({&counts}).status);
  ASSERT_OK(store_->CommitBatch({&counts}).status);  // adds up
  EXPECT_EQ(Count("raw_requests"), 0);
  EXPECT_EQ(Count("delivery_events"), 0);
  EXPECT_EQ(db_->Query("SELECT hour_ms, provider, signature_failures, sent"
                       " FROM stats_hourly ORDER BY 1"),
            (DbRows{{std::to_string(HourFloor(kT0)), "verifynow", "80", "0"},
                    {std::to_string(HourFloor(kT0) + kHourMs), "verifynow", "4",
                     "0"}}));
  EXPECT_EQ(db_->Int("SELECT SUM(signature_failures) FROM stats_daily"), 84);
}

QuarantinedRequest Quarantined(int i, size_t body_bytes) {
  QuarantinedRequest q;
  q.source = "src";
  q.reason = "mismatch";
  q.head = "POST /webhooks/src HTTP/1.1\r\n\r\n";  // 31 bytes
  q.body = std::string(body_bytes, static_cast<char>('a' + i % 26));
  q.received_at_ms = kT0 + i;
  return q;
}

TEST_P(ContractTest, QuarantineCapsDropTheNewest) {
  store_.reset();
  store_ = db_->Open({/*max_rows=*/3, /*max_bytes=*/300});
  std::vector<bool> stored;
  // 131 bytes each: two fit in 300 bytes; then 38 bytes fit exactly, and
  // the fourth row is over the row cap.
  for (const QuarantinedRequest& q :
       {Quarantined(0, 100), Quarantined(1, 100), Quarantined(2, 100),
        Quarantined(3, 8), Quarantined(4, 7), Quarantined(5, 1)}) {
    Submission s;
    s.quarantine = {q};
    BatchResult r = store_->CommitBatch({&s});
    EXPECT_OK(r.status);
    EXPECT_OK(r.submissions.at(0).status);
    stored.push_back(r.submissions.at(0).quarantined.at(0));
  }
  EXPECT_EQ(stored, (std::vector<bool>{true, true, false, false, true, false}));
  EXPECT_EQ(db_->Query("SELECT rows, bytes FROM quarantine_totals"),
            (DbRows{{"3", "300"}}));
  EXPECT_EQ(db_->Int("SELECT MAX(received_at_ms) FROM quarantine"), kT0 + 4);
  EXPECT_EQ(Count("raw_requests"), 0);
}

// --- rollups equal GROUP BYs over the stored rows -------------------------

TEST_P(ContractTest, RollupsEqualGroupByOverTheStoredRows) {
  for (const auto& subs : testutil::Batches(Stream(700, 4, 7), 7)) {
    std::vector<const Submission*> batch;
    for (const Submission& s : subs) batch.push_back(&s);
    ASSERT_OK(store_->CommitBatch(batch).status);
  }
  Submission counts;
  counts.signature_failures = {{HourFloor(kT0) + kDayMs, "src", "vonage", 7}};
  ASSERT_OK(store_->CommitBatch({&counts}).status);
  ASSERT_GT(Count("verifications"), 100);
  // The outcome moved after the first event for some verifications.
  ASSERT_GT(db_->Int("SELECT count(*) FROM verifications WHERE"
                     " status_rank = 6 AND updated_at_ms > first_event_at_ms"),
            0);
  ASSERT_GT(Count("stats_errors"), 0);
  for (const auto& [rollup, truth] : testutil::RollupTruths()) {
    const DbRows want = db_->Query(truth);
    ASSERT_FALSE(want.empty()) << truth;
    EXPECT_EQ(db_->Query(rollup), want) << rollup;
  }
}

}  // namespace
}  // namespace dlrd
