// Replay protection across retention, on a real SQLite file: a callback
// whose event retention deleted is still a duplicate while its dedupe key
// is younger than dedupe_days (no new row, no rollup count, no fallback
// job); the key itself goes after dedupe_days, in bounded batches; and a
// database from before schema 0004 gets the same protection.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sqlite/schema_files.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_retention.h"
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
constexpr char kSource[] = "sms";

// A Twilio-style status callback: no signed timestamp, so the dedupe key
// is all that tells a replay from a new callback.
Submission Callback(const std::string& sid, DeliveryStatus status,
                    int64_t at_ms) {
  Submission s;
  s.raw.source = kSource;
  s.raw.target = "/webhooks/sms";
  s.raw.head = "POST /webhooks/sms HTTP/1.1\r\n\r\n";
  s.raw.body = "MessageSid=" + sid;
  s.raw.received_at_ms = at_ms;
  DeliveryEvent e;
  e.source = kSource;
  e.provider = "twilio";
  e.dedupe_key = sid + ":" + std::string(ToString(status));
  e.verification_id = sid;
  e.channel = Channel::kSms;
  e.status = status;
  e.raw_status = std::string(ToString(status));
  e.recipient = "+447700900123";
  e.country = "GB";
  e.received_at_ms = at_ms;
  s.events = {e};
  return s;
}

RetentionConfig Retention(int64_t events_days, int64_t dedupe_days) {
  RetentionConfig c;
  c.events_days = events_days;
  c.rollup_days = 400;
  c.dedupe_days = dedupe_days;
  c.batch_rows = 3;
  return c;
}

class DedupeRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.File("dlrd.db"); }

  void OpenStore() {
    FallbackConfig f;
    f.provider = "twilio";
    f.deadline_ms = {{Channel::kSms, 30000}, {Channel::kWhatsapp, 30000}};
    SqliteOptions opts;
    opts.fallback[kSource] = f;
    auto store = SqliteEventStore::Open(path_, opts);
    ASSERT_OK(store.status());
    store_ = std::move(store).value();
  }
  SubmissionResult Commit(const Submission& s) {
    BatchResult r = store_->CommitBatch({&s});
    EXPECT_OK(r.status);
    return r.submissions.at(0);
  }
  int64_t PruneAll(const RetentionConfig& config, int64_t now) {
    return testutil::PruneAll(path_, config, now);
  }
  int64_t Count(const std::string& sql) { return SqliteFile(path_).Int(sql); }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteEventStore> store_;
};

TEST_F(DedupeRetentionTest, ReplayAfterEventsArePrunedIsADuplicate) {
  OpenStore();
  const Submission first =
      Callback("SM1", DeliveryStatus::kFailed, kNow - 40 * kDay);
  SubmissionResult r = Commit(first);
  ASSERT_TRUE(r.inserted.at(0));
  ASSERT_TRUE(r.job_created);  // the failed SMS started a fallback
  // The fallback was sent long ago, so its chain is prunable too.
  SqliteFile(path_).Exec("UPDATE outbox SET state = 'accepted'");
  ASSERT_EQ(Count("SELECT sum(callbacks) FROM stats_hourly"), 1);

  PruneAll(Retention(30, 400), kNow);
  ASSERT_EQ(Count("SELECT count(*) FROM delivery_events"), 0);
  ASSERT_EQ(Count("SELECT count(*) FROM raw_requests"), 0);
  ASSERT_EQ(Count("SELECT count(*) FROM fallback_roots"), 0);
  ASSERT_EQ(Count("SELECT count(*) FROM outbox"), 0);

  // The captured callback, replayed today.
  Submission replay = first;
  replay.raw.received_at_ms = replay.events[0].received_at_ms = kNow;
  r = Commit(replay);
  ASSERT_OK(r.status);
  EXPECT_FALSE(r.inserted.at(0));
  EXPECT_FALSE(r.job_created);
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_decisions"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw_requests"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM verifications"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_roots"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 0);
  EXPECT_EQ(Count("SELECT sum(callbacks) FROM stats_hourly"), 1);

  // A different status of the same message is a new callback.
  r = Commit(Callback("SM1", DeliveryStatus::kDelivered, kNow));
  EXPECT_TRUE(r.inserted.at(0));
}

TEST_F(DedupeRetentionTest, KeysGoAfterDedupeDaysInBatches) {
  OpenStore();
  for (int i = 0; i < 7; ++i) {
    Commit(Callback("SM" + std::to_string(i), DeliveryStatus::kDelivered,
                    kNow - 33 * kDay + i));
  }
  // Older than dedupe_days already when its event goes: not kept.
  Commit(Callback("SMold", DeliveryStatus::kDelivered, kNow - 36 * kDay));
  Commit(Callback("SMnew", DeliveryStatus::kDelivered, kNow - kDay));
  const RetentionConfig c = Retention(30, 35);

  PruneAll(c, kNow);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM dedupe_keys"), 7);
  EXPECT_FALSE(
      Commit(Callback("SM3", DeliveryStatus::kDelivered, kNow)).inserted[0]);

  // Three days on, the 33-day-old keys are 36 days old: gone, 3 a batch.
  EXPECT_EQ(PruneAll(c, kNow + 3 * kDay), 7);
  EXPECT_EQ(Count("SELECT count(*) FROM dedupe_keys"), 0);
  // Past dedupe_days a replay is stored as new (README, Limitations).
  EXPECT_TRUE(Commit(Callback("SM3", DeliveryStatus::kDelivered, kNow + kDay))
                  .inserted[0]);
  EXPECT_TRUE(
      Commit(Callback("SMold", DeliveryStatus::kDelivered, kNow)).inserted[0]);
}

TEST_F(DedupeRetentionTest, SchemaThreeDatabaseIsProtectedAfterUpgrade) {
  {
    // A database as a build with migrations 0001..0003 left it.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    sqlite3_close(raw);
    SqliteFile db(path_);
    for (const SchemaFile& f : SchemaFiles()) {
      if (f.version > 3) break;
      db.Exec("BEGIN;" + std::string(f.sql) +
              ";PRAGMA user_version=" + std::to_string(f.version) + ";COMMIT;");
    }
    ASSERT_EQ(db.Int("SELECT count(*) FROM sqlite_master"
                     " WHERE name = 'dedupe_keys'"),
              0);
    db.Exec(
        "INSERT INTO raw_requests(id, source, received_at_ms, target, head,"
        " body) VALUES (1, 'sms', " +
        std::to_string(kNow - 40 * kDay) +
        ", '/webhooks/sms', x'', x'');"
        "INSERT INTO delivery_events(source, provider, dedupe_key,"
        " verification_id, channel, status, raw_status, received_at_ms,"
        " raw_request_id) VALUES ('sms', 'twilio', 'SM1:failed', 'SM1',"
        " 'sms', 'failed', 'failed', " +
        std::to_string(kNow - 40 * kDay) + ", 1);");
  }
  OpenStore();
  EXPECT_EQ(store_->schema_version(), SqliteEventStore::LatestSchemaVersion());
  // Nothing to backfill: the key is still in delivery_events.
  EXPECT_EQ(Count("SELECT count(*) FROM dedupe_keys"), 0);
  EXPECT_FALSE(
      Commit(Callback("SM1", DeliveryStatus::kFailed, kNow)).inserted[0]);

  PruneAll(Retention(30, 400), kNow);
  ASSERT_EQ(Count("SELECT count(*) FROM delivery_events"), 0);
  SubmissionResult r = Commit(Callback("SM1", DeliveryStatus::kFailed, kNow));
  EXPECT_FALSE(r.inserted.at(0));
  EXPECT_FALSE(r.job_created);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 0);
}

}  // namespace
}  // namespace dlrd
