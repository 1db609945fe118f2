// PgStats: the analytics rollups on PostgreSQL, the twin of StatsSql
// (include/dlrd/sqlite/sqlite_stats.h): same methods, same invariants, and
// the same pure rules (dlrd/core/stats/verification_outcome.h). Private to
// dlrd_postgres.
//
// Invariants:
// - Every write runs inside the caller's transaction, the one that stores
//   the event, registration or decision it summarises: a rollup never
//   counts something the database does not hold, and a rolled-back batch
//   leaves no trace.
// - sent / delivered / failed / verified in stats_hourly equal a GROUP BY
//   over `verifications` by (hour of first_event_at_ms, source, provider,
//   channel, country); each daily table equals its hourly twin summed by
//   UTC day (every hourly row written is added to its day's row too).
// - Exact with several replicas writing at once. Rollup rows are only ever
//   changed by `INSERT ... ON CONFLICT (key) DO UPDATE SET c = t.c +
//   excluded.c`: an increment, which PostgreSQL applies to the latest
//   committed row under its row lock, so concurrent increments add up. The
//   verification row is read `SELECT ... FOR UPDATE` (locked until COMMIT)
//   before it is changed, so the "take the old contribution out, add the
//   new one" rule always starts from the row as it really is, and the
//   status rank only moves forward. A row that does not exist yet is
//   created with `INSERT ... ON CONFLICT DO NOTHING`; if another replica
//   created it meanwhile (the insert waits for that transaction and then
//   inserts nothing), the row is read again FOR UPDATE and updated.
// - Rollup rows are written in key order (RollupDelta is sorted), the same
//   order on every replica, so two flushes never deadlock on each other.
//
// Deferred mode (the ingest writer): changes are summed in a RollupDelta
// and written once per batch by Flush(), still before COMMIT; the current
// submission's changes stay apart until KeepPending(), so a submission
// rolled back to its savepoint takes them with it (DropPending()).
// Otherwise each call writes at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/stats/rollup_delta.h"
#include "dlrd/core/stats/verification_outcome.h"
#include "dlrd/core/util/status.h"
#include "postgres/pg_conn.h"

namespace dlrd {

class PgStats {
 public:
  // `conn` outlives this object; it may be replaced (reconnected) in place.
  explicit PgStats(PgConn* conn, bool deferred = false)
      : conn_(conn), deferred_(deferred) {}

  // Deferred mode only. The current submission was kept / rolled back.
  void KeepPending();
  void DropPending();
  // Writes every kept change of the batch (and the pending one), inside the
  // caller's open transaction, and forgets them.
  [[nodiscard]] Status Flush();
  // Forgets every change not yet written (the transaction rolled back).
  void Clear();

  // A newly stored event: upserts its verification (status only moves up
  // the rank order) and counts the callback, its latency and error code.
  [[nodiscard]] Status OnEvent(const DeliveryEvent& e);
  // A send the app registered: a new verification (status unknown), first
  // seen at `sent_at_ms`. Nothing when the verification exists already.
  [[nodiscard]] Status OnRegistered(std::string_view source,
                                    std::string_view id,
                                    std::string_view provider, Channel channel,
                                    std::string_view recipient,
                                    std::string_view country,
                                    int64_t sent_at_ms);
  // Callbacks refused for their signature (they are never stored).
  [[nodiscard]] Status AddSignatureFailures(int64_t hour_ms,
                                            std::string_view source,
                                            std::string_view provider,
                                            int64_t n);
  // A fallback decision logged at `at_ms` for (source, root, step).
  [[nodiscard]] Status OnDecision(std::string_view source,
                                  std::string_view root_id, int step,
                                  Channel from, bool escalated, bool wasted,
                                  int64_t at_ms);
  // Step `step` of a root reached delivered (or better) for the first time
  // at `at_ms`: its derived latency (when dlrd knows the send time) and,
  // for a fallback step when no other step had delivered, a recovery.
  [[nodiscard]] Status OnStepDelivered(std::string_view source,
                                       std::string_view root_id, int step,
                                       int64_t at_ms);

 private:
  // The row, locked FOR UPDATE until the transaction ends.
  Result<VerificationRow> LoadForUpdate(std::string_view source,
                                        std::string_view id);
  // The end of every public change: writes it now unless deferred.
  Status Done();
  Status Write(const RollupDelta& d);

  PgConn* conn_;
  bool deferred_;
  RollupDelta pending_;  // the current call / submission
  RollupDelta batch_;    // deferred: kept submissions of this batch
};

}  // namespace dlrd
