// SqliteOutbox: the OutboxStore on its own connection to the event
// database (WAL lets it write beside the ingest writer; BEGIN IMMEDIATE and
// the busy timeout serialize the two). Owned and used by the dispatcher
// thread only. Open() after SqliteEventStore::Open(), which migrates.
#pragma once

#include <memory>
#include <string>

#include "dlrd/core/ports/outbox_store.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_fallback.h"
#include "dlrd/sqlite/sqlite_handle.h"
#include "dlrd/sqlite/sqlite_stats.h"

namespace dlrd {

class SqliteOutbox final : public OutboxStore {
 public:
  static Result<std::unique_ptr<SqliteOutbox>> Open(
      const std::string& path, const SqliteOptions& options);

  Result<bool> Register(const Registration& r, int64_t now_ms) override;
  Status ScanDeadlines(int64_t now_ms,
                       std::vector<FallbackNote>* notes) override;
  Result<std::vector<OutboxJob>> ClaimDue(int64_t now_ms, int limit) override;
  Status MarkAccepted(const OutboxJob& job, std::string_view ref,
                      int64_t now_ms) override;
  Status MarkRetry(const OutboxJob& job, int64_t next_attempt_at_ms,
                   std::string_view error, int64_t now_ms,
                   bool unknown_outcome) override;
  Status MarkDead(const OutboxJob& job, std::string_view error, bool fraud,
                  bool invalid_number, int64_t now_ms,
                  std::vector<FallbackNote>* notes) override;
  Result<int> RecoverInFlight(int64_t now_ms, int64_t lease_ms,
                              const std::set<int64_t>& held,
                              std::vector<FallbackNote>* notes) override;
  Status RecordOptOut(std::string_view recipient, std::string_view source,
                      std::string_view reason, int64_t now_ms) override;
  Result<OutboxDepth> Depth(int64_t now_ms) override;
  Result<std::vector<Decision>> DecisionsSince(int64_t* after_id,
                                               int limit) override;
  Result<std::optional<ChainView>> Chain(std::string_view id) override;

 private:
  SqliteOutbox(SqliteDb db, FallbackRules rules);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error).
  template <typename Body>
  Status InTransaction(Body body);
  Status Exec(const char* sql);
  sqlite3_stmt* Stmt(const char* sql);

  SqliteDb db_;
  StatsSql stats_;
  FallbackSql fallback_;
  StmtCache cache_;
};

}  // namespace dlrd
