// The quarantine on a real SQLite file: the row and byte caps drop the
// newest request (the oldest stay), TTL pruning rides on SqliteRetention
// (even with events kept forever), and a quarantined request is never an
// event. Listing, deleting and the totals are in the contract suite run on
// both backends (tests/postgres/quarantine_contract_test.cc).
#include "dlrd/sqlite/sqlite_quarantine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_retention.h"
#include "testutil/sqlite_file.h"
#include "testutil/status_matchers.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

using testutil::SqliteFile;
using testutil::TempDir;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kNow = 1'760'000'000'000;

QuarantinedRequest Request(int i, size_t body_bytes, int64_t at_ms) {
  QuarantinedRequest q;
  q.source = "src";
  q.reason = "mismatch";
  q.head = "POST /webhooks/src HTTP/1.1\r\n\r\n";  // 31 bytes
  q.body = std::string(body_bytes, static_cast<char>('a' + i % 26));
  q.received_at_ms = at_ms;
  return q;
}

// Commits one quarantine-only submission per request; returns what the
// store reported per request (stored or dropped at a cap).
std::vector<bool> Add(SqliteEventStore& store,
                      const std::vector<QuarantinedRequest>& requests) {
  std::vector<bool> out;
  for (const QuarantinedRequest& q : requests) {
    Submission s;
    s.quarantine = {q};
    BatchResult r = store.CommitBatch({&s});
    EXPECT_OK(r.status);
    EXPECT_OK(r.submissions.front().status);
    out.push_back(r.submissions.front().quarantined.at(0));
  }
  return out;
}

class QuarantineTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteEventStore> Open(QuarantineLimits limits) {
    SqliteOptions options;
    options.quarantine = limits;
    auto store = SqliteEventStore::Open(path_, options);
    EXPECT_OK(store.status());
    return std::move(store).value();
  }
  TempDir dir_;
  std::string path_ = dir_.File("dlrd.db");
};

TEST_F(QuarantineTest, RowCapDropsTheNewestAndKeepsTheOldest) {
  auto store = Open({/*max_rows=*/3, /*max_bytes=*/1 << 20});
  std::vector<QuarantinedRequest> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back(Request(i, 10, kNow + i));
  EXPECT_EQ(Add(*store, reqs),
            (std::vector<bool>{true, true, true, false, false}));
  SqliteFile db(path_);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM quarantine"), 3);
  EXPECT_EQ(db.Int("SELECT MAX(received_at_ms) FROM quarantine"), kNow + 2);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM delivery_events"), 0);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM raw_requests"), 0);
}

TEST_F(QuarantineTest, ByteCapCountsHeadAndBody) {
  // Each request is 31 + 100 bytes: two fit in 300, a third does not.
  auto store = Open({/*max_rows=*/100, /*max_bytes=*/300});
  EXPECT_EQ(Add(*store, {Request(0, 100, kNow), Request(1, 100, kNow),
                         Request(2, 100, kNow)}),
            (std::vector<bool>{true, true, false}));
  // One byte over does not fit (262 + 31 + 8 = 301); exactly full does.
  EXPECT_EQ(Add(*store, {Request(3, 8, kNow)}), (std::vector<bool>{false}));
  EXPECT_EQ(Add(*store, {Request(4, 7, kNow)}), (std::vector<bool>{true}));
  SqliteFile db(path_);
  EXPECT_EQ(db.Int("SELECT bytes FROM quarantine_totals"), 300);
  EXPECT_EQ(db.Int("SELECT SUM(length(head) + length(body)) FROM quarantine"),
            300);
}

TEST_F(QuarantineTest, TtlPrunedByRetentionEvenWhenEventsAreKept) {
  auto store = Open({});
  Add(*store,
      {Request(0, 5, kNow - 80 * kHour), Request(1, 5, kNow - 73 * kHour),
       Request(2, 5, kNow - 71 * kHour), Request(3, 5, kNow)});
  RetentionConfig keep_events;  // events_days = 0: events kept forever
  keep_events.batch_rows = 1;
  auto pruner = SqliteRetention::Open(path_, 1000, keep_events, 72 * kHour);
  ASSERT_OK(pruner.status());
  std::string table;
  int64_t pruned = 0;
  for (;;) {
    auto n = pruner.value()->PruneBatch(kNow, &table);
    ASSERT_OK(n.status());
    if (n.value() == 0) break;
    EXPECT_EQ(table, "quarantine");
    pruned += n.value();
  }
  EXPECT_EQ(pruned, 2);
  SqliteFile db(path_);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM quarantine"), 2);
  EXPECT_EQ(db.Int("SELECT rows FROM quarantine_totals"), 2);
}

}  // namespace
}  // namespace dlrd
