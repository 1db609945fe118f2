// SqliteEventStore: the EventStore on one SQLite file.
//
// Durability: journal_mode=WAL with synchronous=FULL, so a committed
// transaction survives an OS crash or power loss, not only a process crash
// (docs/reliability.md §2.1). Every write transaction is BEGIN IMMEDIATE on the
// single writer connection. A batch is first written without savepoints
// (they cost a copy of every page a submission touches); if one submission
// fails, the transaction is rolled back and the batch written again with a
// SAVEPOINT per submission, so the bad one is rolled back alone while the
// rest commits. A request whose events are all duplicates writes nothing.
// Every SAVEPOINT, RELEASE and ROLLBACK (TO) is checked: when one fails,
// the submissions can no longer be told apart, so the whole batch is
// rolled back and fails with that error (BatchResult::status).
//
// Each new event is passed to the batch hooks registered at Open (the
// rollups, then the fallback engine; dlrd/core/ports/batch_hook.h), and
// the rollups are flushed by their hook before COMMIT, in the same
// transaction, so analytics and fallback jobs commit with their events.
//
// Dedupe: (source, dedupe_key) is unique in delivery_events, and a key
// whose event retention deleted stays in dedupe_keys for dedupe_days; a
// key found in either is a duplicate (not stored, no fallback decision).
//
// Open() applies schema/*.sql migrations newer than PRAGMA user_version,
// each in its own transaction, and refuses a database whose version is newer
// than this build knows.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dlrd/core/util/status.h"
#include "dlrd/core/ports/batch_hook.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/sqlite/sqlite_fallback.h"
#include "dlrd/sqlite/sqlite_handle.h"
#include "dlrd/sqlite/sqlite_quarantine.h"
#include "dlrd/sqlite/sqlite_stats.h"

namespace dlrd {

struct SqliteOptions {
  int64_t busy_timeout_ms = 5000;
  // Sources with fallback: new events are decided on in their transaction.
  FallbackRules fallback;
  // The registered sqlite3_vfs to open the file with; empty: SQLite's
  // default. Used by SqliteEventStore and SqliteOutbox. Tests only (the
  // power-loss shim, tests/testutil/power_loss_vfs.h).
  std::string vfs;
  // Caps on quarantined requests (Submission::quarantine).
  QuarantineLimits quarantine;
};

class SqliteEventStore final : public EventStore {
 public:
  static Result<std::unique_ptr<SqliteEventStore>> Open(
      const std::string& path, const SqliteOptions& options);

  BatchResult CommitBatch(const std::vector<const Submission*>& batch) override;

  // The schema version now in the file (PRAGMA user_version).
  int schema_version() const { return schema_version_; }
  // The highest version this build ships.
  static int LatestSchemaVersion();

 private:
  SqliteEventStore(SqliteDb db, const QuarantineLimits& limits)
      : db_(std::move(db)),
        stats_(db_.get(), /*deferred=*/true),
        quarantine_(db_.get()),
        quarantine_limits_(limits) {}
  Status Prepare();
  Status Migrate();
  Status WriteSubmission(const Submission& s, SubmissionResult& out);
  // Whether `e`'s key is stored already or in dedupe_keys (its event was
  // stored once and pruned since): `e` is a duplicate.
  Result<bool> KeyIsKnown(const DeliveryEvent& e);
  // BEGIN, with the result sized for `n` submissions (status set on error).
  BatchResult Begin(size_t n);
  // Flushes the rollups and COMMITs (or rolls back and sets the error).
  BatchResult& Commit(BatchResult& result);
  // Rolls the whole transaction back and fails `result` with `why`'s
  // message and `code` (read before the ROLLBACK replaces SQLite's last
  // error); a failed ROLLBACK is added to the message.
  void Abort(BatchResult& result, StatusCode code, const Status& why);
  // ROLLBACK, and the hooks forget the batch.
  Status Rollback();
  // Every hook's OnRollback().
  void ForgetBatch();
  // No savepoints; nullopt when a submission failed and the batch was
  // rolled back to be written by CommitCareful.
  std::optional<BatchResult> CommitFast(
      const std::vector<const Submission*>& batch);
  BatchResult CommitCareful(const std::vector<const Submission*>& batch);
  Status Exec(const char* sql);
  // Runs a prepared statement to completion and resets it.
  Status Step(const SqliteStmt& stmt);
  StatusCode LastErrorCode() const;

  SqliteDb db_;
  StatsSql stats_;
  QuarantineSql quarantine_;
  QuarantineLimits quarantine_limits_;
  // Called for each new event and at the batch's ends (batch_hook.h): the
  // rollups, then the fallback engine when a source has fallback.
  std::vector<std::unique_ptr<BatchHook>> hooks_;
  int schema_version_ = 0;
  SqliteStmt insert_raw_;
  SqliteStmt insert_event_;
  SqliteStmt known_key_;
  std::vector<bool> known_scratch_;  // WriteSubmission's, reused
  SqliteStmt opt_out_, opt_in_;
  SqliteStmt begin_, commit_, rollback_, savepoint_, release_, rollback_to_;
};

}  // namespace dlrd
