// Retention on a real SQLite file: old rows go in bounded batches, recent
// rows, opt-outs, unfinished fallback chains and young rollups stay, and
// the daily rollups still equal the hourly ones summed by day.
#include "dlrd/sqlite/sqlite_retention.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dlrd/core/stats/stats.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "testutil/daily_rollups.h"
#include "testutil/prune_all.h"
#include "testutil/sqlite_file.h"
#include "testutil/status_matchers.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

using testutil::SqliteFile;
using testutil::TempDir;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNow = 1'760'000'000'000;

void Ingest(SqliteEventStore& store, const std::string& prefix, int n,
            int64_t at_ms) {
  for (int i = 0; i < n; ++i) {
    Submission s;
    s.raw.source = "src";
    s.raw.target = "/webhooks/src";
    s.raw.head = "POST /webhooks/src HTTP/1.1\r\n\r\n";
    s.raw.received_at_ms = at_ms + i;
    DeliveryEvent e;
    e.source = "src";
    e.provider = "verifynow";
    e.dedupe_key = prefix + std::to_string(i);
    e.verification_id = prefix + std::to_string(i);
    e.channel = Channel::kSms;
    e.status = DeliveryStatus::kDelivered;
    e.raw_status = "DELIVERED";
    e.received_at_ms = at_ms + i;
    s.events = {e};
    std::vector<const Submission*> batch = {&s};
    ASSERT_OK(store.CommitBatch(batch).status);
  }
}

// A delivered event with a latency and a failed one with an error code,
// for verifications `prefix`-d and `prefix`-f, at `at_ms`.
void IngestMixed(SqliteEventStore& store, const std::string& prefix,
                 int64_t at_ms) {
  for (const bool delivered : {true, false}) {
    Submission s;
    s.raw.source = "src";
    s.raw.target = "/webhooks/src";
    s.raw.head = "POST /webhooks/src HTTP/1.1\r\n\r\n";
    s.raw.received_at_ms = at_ms;
    DeliveryEvent e;
    e.source = "src";
    e.provider = "verifynow";
    e.verification_id = prefix + (delivered ? "-d" : "-f");
    e.dedupe_key = e.verification_id;
    e.channel = Channel::kSms;
    e.country = "GB";
    e.status = delivered ? DeliveryStatus::kDelivered : DeliveryStatus::kFailed;
    e.raw_status = delivered ? "DELIVERED" : "FAILED";
    if (delivered) e.latency_ms = 1500;
    if (!delivered) e.error_code = "E30";
    e.received_at_ms = at_ms;
    s.events = {e};
    std::vector<const Submission*> batch = {&s};
    ASSERT_OK(store.CommitBatch(batch).status);
  }
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("dlrd.db");
    auto store = SqliteEventStore::Open(path_, SqliteOptions{});
    ASSERT_OK(store.status());
    Ingest(*store.value(), "old-", 25, kNow - 40 * kDay);
    Ingest(*store.value(), "new-", 5, kNow - 1 * kDay);
    SqliteFile db(path_);
    // Two old fallback chains, one still waiting to send; an opt-out.
    db.Exec(
        "INSERT INTO fallback_roots(source, root_id, recipient,"
        " created_at_ms) VALUES ('src', 'done', '+447700900001', 1),"
        " ('src', 'waiting', '+447700900002', 1);"
        "INSERT INTO fallback_steps(source, root_id, step, channel, provider)"
        " VALUES ('src', 'done', 0, 'sms', 'twilio'),"
        " ('src', 'done', 1, 'whatsapp', 'twilio'),"
        " ('src', 'waiting', 0, 'sms', 'twilio');"
        "INSERT INTO outbox(source, root_id, step, provider, channel,"
        " recipient, state, next_attempt_at_ms, idempotency_key,"
        " created_at_ms, updated_at_ms) VALUES"
        " ('src', 'done', 1, 'twilio', 'whatsapp', '+447700900001',"
        "  'accepted', 1, 'k1', 1, 1),"
        " ('src', 'waiting', 1, 'twilio', 'whatsapp', '+447700900002',"
        "  'retry_wait', 1, 'k2', 1, 1);"
        "INSERT INTO opt_outs(recipient, source, reason, at_ms) VALUES"
        " ('+447700900003', 'src', 'STOP', 1);");
  }

  int64_t PruneAll(const RetentionConfig& config) {
    return testutil::PruneAll(path_, config, kNow);
  }
  int64_t Count(const std::string& sql) { return SqliteFile(path_).Int(sql); }
  // Prunes events after 30 days and rollups after 35, in small batches,
  // then checks that each daily rollup still equals its hourly one summed by
  // UTC day.
  void PruneRollupsOlderThan35Days() {
    RetentionConfig c;
    c.events_days = 30;
    c.rollup_days = 35;
    c.batch_rows = 3;
    PruneAll(c);
    SqliteFile db(path_);
    for (const testutil::RollupTwin& t : testutil::RollupTwins()) {
      EXPECT_EQ(testutil::DailyRows(db, t), testutil::HourlyRowsByDay(db, t))
          << t.daily;
    }
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(RetentionTest, OffByDefaultDeletesNothing) {
  EXPECT_EQ(PruneAll(RetentionConfig{}), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 30);
}

TEST_F(RetentionTest, OldEventsGoInBatchesAndRecentOnesStay) {
  RetentionConfig c;
  c.events_days = 30;
  c.batch_rows = 4;
  EXPECT_GT(PruneAll(c), 75);  // 25 events + 25 raw + 25 verifications + ...
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"
                  " WHERE verification_id LIKE 'new-%'"),
            5);
  EXPECT_EQ(Count("SELECT count(*) FROM raw_requests"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM verifications"), 5);
  // The finished chain went with its steps and jobs; the one with a job
  // still to send stayed; opt-outs are never pruned.
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_roots"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_roots"
                  " WHERE root_id = 'waiting'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_steps"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM opt_outs"), 1);
  // Rollups outlive events: the old hour still counts its 25 sends.
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_hourly"), 30);
}

TEST_F(RetentionTest, RollupsGoAfterTheirOwnAge) {
  RetentionConfig c;
  c.events_days = 30;
  c.rollup_days = 35;
  c.batch_rows = 3;  // rollup rows go in bounded batches too
  PruneAll(c);
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_hourly"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM stats_hourly"
                  " WHERE hour_ms < " +
                  std::to_string(kNow - 35 * kDay)),
            0);
}

TEST_F(RetentionTest, RollupsBefore1970LeaveTheirOwnDay) {
  // SQL's % truncates toward zero; a time before 1970 must still be taken
  // out of its own UTC day (the day before 1970-01-01), not out of day 0.
  {
    auto store = SqliteEventStore::Open(path_, SqliteOptions{});
    ASSERT_OK(store.status());
    IngestMixed(*store.value(), "pre1970", -12 * kHourMs);
  }
  ASSERT_GT(Count("SELECT count(*) FROM stats_daily WHERE day_ms = -86400000"),
            0);
  PruneRollupsOlderThan35Days();
  for (const char* table :
       {"stats_daily", "stats_latency_daily", "stats_errors_daily"}) {
    EXPECT_EQ(Count(std::string("SELECT count(*) FROM ") + table +
                    " WHERE day_ms <= 0"),
              0)
        << table;
  }
}

TEST_F(RetentionTest, DailyRollupsLoseWhatTheHourlyOnesLose) {
  // Rollups an hour and five hours either side of the cutoff, all in the
  // cutoff's UTC day, and a day before it.
  const int64_t cutoff = kNow - 35 * kDay;
  const int64_t offsets[] = {-kDay - 3 * kHourMs, -5 * kHourMs, -kHourMs,
                             kHourMs, 5 * kHourMs};
  ASSERT_EQ(DayFloor(cutoff - 5 * kHourMs), DayFloor(cutoff + 5 * kHourMs));
  {
    auto store = SqliteEventStore::Open(path_, SqliteOptions{});
    ASSERT_OK(store.status());
    for (int64_t offset : offsets) {
      IngestMixed(*store.value(), "m" + std::to_string(offset),
                  cutoff + offset);
    }
  }
  PruneRollupsOlderThan35Days();
  // The cutoff's day counts only its hours after the cutoff (two
  // verifications in each), in every daily table.
  const std::string day = std::to_string(DayFloor(cutoff));
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_daily WHERE day_ms = " + day),
            4);
  EXPECT_EQ(
      Count("SELECT sum(n) FROM stats_latency_daily WHERE day_ms = " + day), 2);
  EXPECT_EQ(
      Count("SELECT sum(n) FROM stats_errors_daily WHERE day_ms = " + day), 2);
  // Days wholly before the cutoff are gone.
  for (const char* table :
       {"stats_daily", "stats_latency_daily", "stats_errors_daily"}) {
    EXPECT_EQ(Count(std::string("SELECT count(*) FROM ") + table +
                    " WHERE day_ms < " + day),
              0)
        << table;
  }
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_daily"), 4 + 5);
}

}  // namespace
}  // namespace dlrd
