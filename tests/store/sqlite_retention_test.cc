// Retention on a real SQLite file: old rows go in bounded batches, recent
// rows, opt-outs, unfinished fallback chains and young rollups stay.
#include "store/sqlite_retention.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/sqlite_event_store.h"
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

}  // namespace
}  // namespace dlrd
