// The analytics rollups (schema/0003_stats.sql, and their daily twins,
// schema/0006_stats_daily.sql): StatsSql writes them
// (store/sqlite_stats_reader.h answers queries from them). Internal to the
// store adapter.
//
// Invariant: every write here runs inside the caller's transaction, the
// same one that stores the event, registration or decision it summarises,
// so a rollup never counts something the database does not hold (and a
// rolled-back batch leaves no trace). In particular the sent / delivered /
// failed / verified columns always equal a GROUP BY over `verifications`
// by (hour of first_event_at_ms, source, provider, channel, country): when
// a verification's row changes group or outcome, its old contribution is
// taken out and the new one added. Each daily table always equals its
// hourly twin summed by UTC day: every hourly row written is added to its
// day's row too (Write).
//
// Deferred mode (the ingest writer): the rollup changes are summed in a
// RollupDelta and written once per batch by Flush(), still before COMMIT.
// The current submission's changes stay apart until KeepPending(), so a
// submission rolled back to its savepoint takes its changes with it
// (DropPending()). Otherwise (the outbox) each call writes at once.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/status.h"
#include "dlrd/core/stats/rollup_delta.h"
#include "dlrd/core/stats/stats.h"
#include "dlrd/core/stats/verification_outcome.h"
#include "dlrd/sqlite/sqlite_handle.h"

namespace dlrd {

class StatsSql {
 public:
  explicit StatsSql(sqlite3* db, bool deferred = false)
      : db_(db), cache_(db), deferred_(deferred) {}

  // Deferred mode only. The current submission was kept / rolled back.
  void KeepPending();
  void DropPending();
  // Writes every kept change of the batch (and the pending one), inside the
  // caller's open transaction, and forgets them.
  Status Flush();
  // Forgets every change not yet written (the transaction rolled back).
  void Clear();

  // A newly stored event: upserts its verification (status only moves up
  // the rank order) and counts the callback, its latency and error code.
  Status OnEvent(const DeliveryEvent& e);
  // A send the app registered: a new verification (status unknown), first
  // seen at `sent_at_ms`. Nothing when the verification exists already.
  Status OnRegistered(std::string_view source, std::string_view id,
                      std::string_view provider, Channel channel,
                      std::string_view recipient, std::string_view country,
                      int64_t sent_at_ms);
  // Callbacks refused for their signature (they are never stored).
  Status AddSignatureFailures(int64_t hour_ms, std::string_view source,
                              std::string_view provider, int64_t n);
  // A fallback decision logged at `at_ms` for (source, root, step).
  Status OnDecision(std::string_view source, std::string_view root_id, int step,
                    Channel from, bool escalated, bool wasted, int64_t at_ms);
  // Step `step` of a root reached delivered (or better) for the first time
  // at `at_ms`: its derived latency (when dlrd knows the send time) and,
  // for a fallback step when no other step had delivered, a recovery.
  Status OnStepDelivered(std::string_view source, std::string_view root_id,
                         int step, int64_t at_ms);

 private:
  using Row = VerificationRow;
  Result<Row> Load(std::string_view source, std::string_view id);
  // The end of every public change: writes it now unless deferred.
  Status Done();
  Status Write(const RollupDelta& d);

  sqlite3* db_;
  StmtCache cache_;
  bool deferred_;
  RollupDelta pending_;  // the current call / submission
  RollupDelta batch_;    // deferred: kept submissions of this batch
};

}  // namespace dlrd
