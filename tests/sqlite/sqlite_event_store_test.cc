// SqliteEventStore on a real file in a temp dir (not :memory:, so WAL and
// the migration path are the ones production uses): migrations, connection
// settings, failure classes and BLOB storage. The EventStore contract
// (dedupe, forward-only status, ...) is tests/postgres/
// event_store_contract_test.cc, on SQLite and PostgreSQL alike.
#include "dlrd/sqlite/sqlite_event_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/ports/event_store.h"
#include "testutil/sqlite_file.h"
#include "testutil/status_matchers.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

using testutil::SqliteFile;
using testutil::TempDir;

DeliveryEvent Event(std::string source, std::string key,
                    std::string verification_id = "v-1",
                    DeliveryStatus status = DeliveryStatus::kDelivered) {
  DeliveryEvent e;
  e.source = std::move(source);
  e.provider = "verifynow";
  e.dedupe_key = std::move(key);
  e.verification_id = std::move(verification_id);
  e.channel = Channel::kSms;
  e.status = status;
  e.raw_status = std::string(ToString(status));
  e.received_at_ms = 1'700'000'000'000;
  return e;
}

Submission Sub(std::vector<DeliveryEvent> events, std::string body = "{}") {
  Submission s;
  s.raw.source = events.empty() ? "src" : events.front().source;
  s.raw.target = "/webhooks/" + s.raw.source;
  s.raw.head = "POST " + s.raw.target +
               " HTTP/1.1\r\nContent-Type: application/json\r\n\r\n";
  s.raw.body = std::move(body);
  s.raw.received_at_ms = 1'700'000'000'000;
  s.events = std::move(events);
  return s;
}

// Commits `subs` as one batch; the batch itself must succeed.
BatchResult Commit(SqliteEventStore& store,
                   const std::vector<Submission>& subs) {
  std::vector<const Submission*> batch;
  for (const Submission& s : subs) batch.push_back(&s);
  BatchResult r = store.CommitBatch(batch);
  EXPECT_OK(r.status);
  EXPECT_EQ(r.submissions.size(), subs.size());
  for (const SubmissionResult& sr : r.submissions) EXPECT_OK(sr.status);
  return r;
}

std::unique_ptr<SqliteEventStore> OpenOrDie(const std::string& path) {
  auto r = SqliteEventStore::Open(path, SqliteOptions{});
  if (!r.ok()) {
    ADD_FAILURE() << "Open(" << path << "): " << r.status().message();
    return nullptr;
  }
  return std::move(r).value();
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("dlrd.db");
    store_ = OpenOrDie(path_);
    ASSERT_NE(store_, nullptr);
  }
  int64_t Count(const std::string& table) {
    return SqliteFile(path_).Int("SELECT count(*) FROM " + table);
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteEventStore> store_;
};

// --- migrations -------------------------------------------------------------

TEST(SqliteMigrationTest, FreshFileIsMigratedToLatestVersion) {
  TempDir dir;
  const std::string path = dir.File("fresh.db");
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(SqliteEventStore::LatestSchemaVersion(), 1);
  EXPECT_EQ(store->schema_version(), SqliteEventStore::LatestSchemaVersion());

  SqliteFile db(path);
  EXPECT_EQ(db.Int("PRAGMA user_version"),
            SqliteEventStore::LatestSchemaVersion());
  EXPECT_EQ(
      db.Int("SELECT count(*) FROM sqlite_master WHERE type='table' AND"
             " name IN ('raw_requests','delivery_events','verifications')"),
      3);
}

TEST(SqliteMigrationTest, ReopenDoesNotReapplyAndKeepsData) {
  TempDir dir;
  const std::string path = dir.File("reopen.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    Commit(*store, {Sub({Event("src", "k1")})});
  }
  // A re-applied 0001 would fail on CREATE TABLE (table exists) or, if it
  // somehow did not, would leave the tables empty.
  auto again = OpenOrDie(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->schema_version(), SqliteEventStore::LatestSchemaVersion());
  SqliteFile db(path);
  EXPECT_EQ(db.Int("SELECT count(*) FROM delivery_events"), 1);
  EXPECT_EQ(db.Int("SELECT count(*) FROM raw_requests"), 1);
  EXPECT_EQ(db.Int("SELECT count(*) FROM verifications"), 1);

  // And the reopened store still deduplicates against the old rows.
  BatchResult r = Commit(*again, {Sub({Event("src", "k1")})});
  ASSERT_EQ(r.submissions.size(), 1u);
  EXPECT_EQ(r.submissions[0].inserted, std::vector<bool>{false});
}

TEST(SqliteMigrationTest, NewerSchemaVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.File("newer.db");
  const int newer = SqliteEventStore::LatestSchemaVersion() + 1;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    std::string sql = "PRAGMA user_version=" + std::to_string(newer);
    EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto r = SqliteEventStore::Open(path, SqliteOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("newer"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(std::to_string(newer)), std::string::npos)
      << r.status().message();
  // Nothing was migrated or rewritten.
  SqliteFile db(path);
  EXPECT_EQ(db.Int("PRAGMA user_version"), newer);
  EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_master WHERE type='table'"), 0);
}

TEST(SqliteMigrationTest, FailedMigrationRollsBackCompletely) {
  TempDir dir;
  const std::string path = dir.File("clash.db");
  {
    // A table the migration creates last already exists: the migration
    // fails after creating the earlier tables, which must be rolled back.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, "CREATE TABLE verifications(x)", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto r = SqliteEventStore::Open(path, SqliteOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("0001_delivery_events.sql"),
            std::string::npos)
      << r.status().message();
  SqliteFile db(path);
  EXPECT_EQ(db.Int("PRAGMA user_version"), 0);
  EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_master WHERE name IN"
                   " ('raw_requests','delivery_events')"),
            0);
}

TEST(SqliteMigrationTest, FileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto r = SqliteEventStore::Open(path, SqliteOptions{});
  EXPECT_FALSE(r.ok());
}

// --- connection settings ----------------------------------------------------

// The store's own connection, captured through sqlite3_auto_extension (run
// for every connection opened in this process while registered). This
// observes per-connection pragmas without any test hook in production code.
sqlite3* g_captured = nullptr;
int CaptureConnection(sqlite3* db, const char** /*err*/,
                      const sqlite3_api_routines* /*api*/) {
  if (g_captured == nullptr) g_captured = db;
  return SQLITE_OK;
}

int64_t PragmaOn(sqlite3* db, const char* pragma) {
  sqlite3_stmt* st = nullptr;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, pragma, -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

// Opens the store at `path` and returns its own connection in `*conn`
// (valid while the store lives).
std::unique_ptr<SqliteEventStore> OpenCapturing(const std::string& path,
                                                sqlite3** conn,
                                                SqliteOptions options = {}) {
  g_captured = nullptr;
  auto entry = reinterpret_cast<void (*)(void)>(&CaptureConnection);
  EXPECT_EQ(sqlite3_auto_extension(entry), SQLITE_OK);
  auto r = SqliteEventStore::Open(path, options);
  sqlite3_cancel_auto_extension(entry);
  *conn = g_captured;
  g_captured = nullptr;
  if (!r.ok()) {
    ADD_FAILURE() << "Open(" << path << "): " << r.status().message();
    return nullptr;
  }
  EXPECT_NE(*conn, nullptr);
  return std::move(r).value();
}

TEST(SqliteConnectionTest, WalAndSynchronousFull) {
  TempDir dir;
  const std::string path = dir.File("pragmas.db");
  sqlite3* conn = nullptr;
  auto store = OpenCapturing(path, &conn);
  ASSERT_NE(store, nullptr);
  ASSERT_NE(conn, nullptr);

  // synchronous and foreign_keys are per connection: read them on the
  // store's own connection. 2 == FULL.
  EXPECT_EQ(PragmaOn(conn, "PRAGMA synchronous"), 2);
  EXPECT_EQ(PragmaOn(conn, "PRAGMA foreign_keys"), 1);

  // journal_mode=WAL is persistent in the file: a second connection sees it.
  SqliteFile db(path);
  EXPECT_EQ(db.Value("PRAGMA journal_mode"), "wal");
}

// --- failures
// -----------------------------------------------------------------

TEST(SqliteFailureTest, LockedDatabaseIsBusyAndStoreRecovers) {
  TempDir dir;
  const std::string path = dir.File("busy.db");
  SqliteOptions options;
  options.busy_timeout_ms = 20;
  auto store = OpenOrDie(path);  // migrate first
  store.reset();
  auto r = SqliteEventStore::Open(path, options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  store = std::move(r).value();

  Submission s = Sub({Event("src", "k")});
  {
    SqliteFile other(path);
    other.Exec("BEGIN IMMEDIATE");  // another writer holds the lock
    BatchResult busy = store->CommitBatch({&s});
    EXPECT_FALSE(busy.status.ok());
    EXPECT_EQ(busy.status.code(), StatusCode::kBusy) << busy.status.message();
    EXPECT_FALSE(IsFatal(busy.status.code()));
    other.Exec("ROLLBACK");
  }
  BatchResult ok = Commit(*store, {s});
  EXPECT_EQ(ok.submissions[0].inserted, std::vector<bool>{true});
  EXPECT_EQ(SqliteFile(path).Int("SELECT count(*) FROM delivery_events"), 1);
}

TEST(SqliteFailureTest, ConstraintFailureRollsBackOnlyThatSubmission) {
  TempDir dir;
  const std::string path = dir.File("constraint.db");
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  // A trigger turns one dedupe key into a constraint error (RAISE(ABORT) is
  // SQLITE_CONSTRAINT_TRIGGER), the way a bad row would fail.
  SqliteFile(path).Exec(
      "CREATE TRIGGER reject_bad BEFORE INSERT ON delivery_events"
      " WHEN NEW.dedupe_key = 'bad' BEGIN SELECT RAISE(ABORT, 'bad key'); END");

  std::vector<Submission> subs = {
      Sub({Event("src", "a", "va")}, "A"),
      Sub({Event("src", "b-ok", "vb"), Event("src", "bad", "vb")}, "B"),
      Sub({Event("src", "c", "vc")}, "C")};
  std::vector<const Submission*> batch = {&subs[0], &subs[1], &subs[2]};
  BatchResult r = store->CommitBatch(batch);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.submissions.size(), 3u);
  EXPECT_TRUE(r.submissions[0].status.ok());
  EXPECT_FALSE(r.submissions[1].status.ok());
  EXPECT_TRUE(r.submissions[2].status.ok());
  EXPECT_EQ(r.submissions[1].inserted, (std::vector<bool>{false, false}));

  SqliteFile db(path);
  // B left nothing: not its first event, not its raw request.
  EXPECT_EQ(db.Rows("SELECT dedupe_key FROM delivery_events ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"a"}, {"c"}}));
  EXPECT_EQ(db.Rows("SELECT body FROM raw_requests ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"A"}, {"C"}}));
  EXPECT_EQ(db.Rows("SELECT verification_id FROM verifications ORDER BY 1"),
            (std::vector<std::vector<std::string>>{{"va"}, {"vc"}}));
  // The batch was first tried without savepoints and redone with them: the
  // rollups count A and C once each, and nothing of B (the first try's
  // in-memory rollup changes were dropped with it).
  EXPECT_EQ(db.Int("SELECT SUM(callbacks) FROM stats_hourly"), 2);
  EXPECT_EQ(db.Int("SELECT SUM(sent) FROM stats_hourly"), 2);

  // The store is usable afterwards and B's good event can still be stored.
  BatchResult again = Commit(*store, {Sub({Event("src", "b-ok")}, "B2")});
  EXPECT_EQ(again.submissions[0].inserted, std::vector<bool>{true});
}

TEST(SqliteFailureTest, DiskFullFailsWholeBatchAndStoreRecovers) {
  TempDir dir;
  const std::string path = dir.File("full.db");
  sqlite3* conn = nullptr;
  auto store = OpenCapturing(path, &conn);
  ASSERT_NE(store, nullptr);
  ASSERT_NE(conn, nullptr);
  Commit(*store, {Sub({Event("src", "before")})});

  // Cap the file at its current size: the big body cannot be written.
  const int64_t pages = PragmaOn(conn, "PRAGMA page_count");
  ASSERT_GT(pages, 0);
  const std::string cap = "PRAGMA max_page_count=" + std::to_string(pages);
  ASSERT_EQ(PragmaOn(conn, cap.c_str()), pages);

  std::vector<Submission> subs = {
      Sub({Event("src", "small")}, "small"),
      Sub({Event("src", "big")}, std::string(256 * 1024, 'x'))};
  BatchResult r = store->CommitBatch({&subs[0], &subs[1]});
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), StatusCode::kFull) << r.status.message();
  // Not fatal: the daemon answers 503 and goes on (see IsFatal).
  EXPECT_FALSE(IsFatal(r.status.code()));
  {
    SqliteFile db(path);
    // Nothing of the batch committed, not even the small submission.
    EXPECT_EQ(db.Rows("SELECT dedupe_key FROM delivery_events"),
              (std::vector<std::vector<std::string>>{{"before"}}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM raw_requests"), 1);
  }

  // The connection is not left inside a transaction: once space is back,
  // the same store commits again.
  ASSERT_GT(PragmaOn(conn, "PRAGMA max_page_count=1000000"), pages);
  BatchResult ok = Commit(*store, {subs[0], subs[1]});
  EXPECT_EQ(ok.submissions[0].inserted, std::vector<bool>{true});
  EXPECT_EQ(ok.submissions[1].inserted, std::vector<bool>{true});
}

// The EventStore contract itself (dedupe, raw requests kept only with a
// new event, stored columns, the forward-only status, opt-outs) runs on
// SQLite and PostgreSQL alike: tests/postgres/event_store_contract_test.cc.
// What stays here is SQLite's own: migrations, pragmas, failure classes,
// the savepoint-free fast path and its redo, and BLOB storage.

// --- raw requests
// -------------------------------------------------------------

TEST_F(SqliteStoreTest, RawRequestIsStoredByteExact) {
  // Not UTF-8 (0xff, 0xfe, a lone continuation byte, a truncated sequence)
  // and an embedded NUL: the body is bytes, not text.
  const std::string body("{\"a\":\"\xff\xfe\x80\"}\0tail\xc3", 17);
  ASSERT_EQ(body[11], '\0');
  ASSERT_EQ(body.back(), '\xc3');

  Submission s = Sub({Event("src", "k1"), Event("src", "k2")}, body);
  s.raw.target = "/webhooks/src?x=1&y=%2F";
  // The head is bytes too: odd spacing, a non-UTF-8 value, kept as is.
  s.raw.head = std::string(
      "POST /webhooks/src?x=1&y=%2F HTTP/1.1\r\n"
      "Content-Type:application/json; charset=utf-8\r\n"
      "X-Signature: abc123\r\nX-Odd: a\xff"
      "b\r\n\r\n");
  s.raw.received_at_ms = 1'735'689'600'123;
  Commit(*store_, {s});

  SqliteFile db(path_);
  auto rows = db.Rows(
      "SELECT id, source, received_at_ms, target, head, body,"
      " typeof(body) FROM raw_requests");
  ASSERT_EQ(rows.size(), 1u);
  const auto& row = rows[0];
  EXPECT_EQ(row[1], "src");
  EXPECT_EQ(row[2], "1735689600123");
  EXPECT_EQ(row[3], "/webhooks/src?x=1&y=%2F");
  EXPECT_EQ(row[4], s.raw.head);
  EXPECT_EQ(row[5], body);
  EXPECT_EQ(row[6], "blob");
  // Both events of the request point at its one raw row.
  EXPECT_EQ(db.Int("SELECT count(*) FROM delivery_events WHERE"
                   " raw_request_id = ?1",
                   {row[0]}),
            2);
}

}  // namespace
}  // namespace dlrd
