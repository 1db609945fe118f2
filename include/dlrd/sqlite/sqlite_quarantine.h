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
// - QuarantineStore has a connection of its own (WAL: safe beside the
//   daemon; writes wait up to busy_timeout_ms for the lock). It lists, reads
//   and deletes rows; it never writes events (the CLI commits replayed
//   requests through SqliteEventStore).
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

struct QuarantineRow {
  int64_t id = 0;
  std::string source;
  int64_t received_at_ms = 0;
  std::string reason;
  int64_t head_bytes = 0;
  int64_t body_bytes = 0;
  std::string head, body;  // filled only by List(..., with_content=true)
};

struct QuarantineTotals {
  int64_t rows = 0;
  int64_t bytes = 0;
};

class QuarantineStore {
 public:
  static Result<std::unique_ptr<QuarantineStore>> Open(const std::string& path,
                                                       int64_t busy_timeout_ms);

  // Rows received at or after `since_ms`, of `source` when set, oldest
  // first. Heads and bodies only when `with_content`.
  Result<std::vector<QuarantineRow>> List(
      const std::optional<std::string>& source, int64_t since_ms,
      bool with_content);
  Status Delete(int64_t id);
  Result<QuarantineTotals> Totals();

 private:
  explicit QuarantineStore(SqliteDb db) : db_(std::move(db)) {}
  SqliteDb db_;
};

}  // namespace dlrd
