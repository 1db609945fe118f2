// The quarantine (schema/0005_quarantine.sql): requests refused for their
// signature, kept for `dlrd quarantine list|replay`. Internal to the store
// adapter and the CLI.
//
// Contract:
// - QuarantineSql::Add runs inside the ingest writer's transaction and
//   enforces the caps (QuarantineLimits) in the same statement that
//   inserts, against quarantine_totals, which triggers keep exact on every
//   connection. A request that would exceed a cap is not stored (the newest
//   is dropped; the caller counts it).
// - SqliteQuarantine is the QuarantineStore port (dlrd/core/ports/
//   quarantine_store.h) on the file: a connection of its own (WAL: safe
//   beside the daemon; writes wait up to busy_timeout_ms for the lock). It
//   lists, reads and deletes rows; it never writes events (the CLI commits
//   replayed requests through the EventStore).
// - Rows older than quarantine.ttl_hours are deleted by the retention worker
//   (SqliteRetention), in bounded batches.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dlrd/core/util/status.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/core/ports/quarantine_store.h"
#include "dlrd/sqlite/sqlite_handle.h"

namespace dlrd {

class QuarantineSql {
 public:
  explicit QuarantineSql(sqlite3* db) : db_(db), cache_(db) {}
  // True: stored; false: a cap was reached, nothing stored.
  Result<bool> Add(const QuarantinedRequest& q, const QuarantineLimits& limits);

 private:
  sqlite3* db_;
  StmtCache cache_;
};

class SqliteQuarantine final : public QuarantineStore {
 public:
  static Result<std::unique_ptr<SqliteQuarantine>> Open(
      const std::string& path, int64_t busy_timeout_ms);

  Result<std::vector<QuarantineRow>> List(
      const std::optional<std::string>& source, int64_t since_ms,
      bool with_content) override;
  Status Delete(int64_t id) override;
  Result<QuarantineTotals> Totals() override;

 private:
  explicit SqliteQuarantine(SqliteDb db) : db_(std::move(db)) {}
  SqliteDb db_;
};

}  // namespace dlrd
