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
// hourly twin summed by UTC day: every hourly upsert is repeated on the
// daily table (UpsertRollup).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "dlrd/core/delivery.h"
#include "dlrd/core/status.h"
#include "dlrd/stats/stats.h"
#include "store/sqlite_handle.h"

namespace dlrd {

class StatsSql {
 public:
  explicit StatsSql(sqlite3* db) : db_(db), cache_(db) {}

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
  struct Row {
    bool exists = false;
    std::string provider, channel, country;
    int rank = 0;
    int64_t first_at_ms = 0;
  };
  Result<Row> Load(std::string_view source, std::string_view id);
  Status MoveOutcome(std::string_view source, const Row& before,
                     const Row& after);
  // Runs the upsert `hourly_sql` with ?1 = the hour of `at_ms`, then the
  // same upsert on the daily twin, `daily_sql`, with ?1 = its UTC day;
  // `bind` binds ?2... on each. Every hourly rollup write goes through
  // here, which keeps the daily tables equal to the hourly ones summed by
  // day (schema/0006_stats_daily.sql).
  template <typename Bind>
  Status UpsertRollup(const char* hourly_sql, const char* daily_sql,
                      int64_t at_ms, const char* what, Bind bind);
  Status AddHourly(int64_t at_ms, std::string_view source,
                   std::string_view provider, std::string_view channel,
                   std::string_view country, const char* column, int64_t n);
  Status AddLatency(int64_t at_ms, std::string_view source,
                    std::string_view provider, std::string_view channel,
                    std::string_view country, const char* kind, int step,
                    int64_t latency_ms);
  Status Error(const char* what) const;

  sqlite3* db_;
  StmtCache cache_;
};

}  // namespace dlrd
