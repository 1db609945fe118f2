// PgStatsReader: the StatsSource over the PostgreSQL rollups, private to
// dlrd_postgres (OpenPgStatsReader in dlrd/postgres/pg_stats_reader.h
// hands it out).
//
// Same answers as the SQLite StatsReader: the spans of a window (whole UTC
// days from the daily tables, the hours at either end from the hourly
// ones), the adding up and the report's assembly are the shared ones of
// dlrd/core/stats/rollup_read.h; only the SQL differs. Unlike SQLite, the
// server sums each group (GROUP BY), so a long window sends one row per
// group and span over the network rather than one per stored row; a sum
// of rows adds up to the same figures as the rows themselves.
//
// Consistency: each Query runs in one REPEATABLE READ, READ ONLY
// transaction, so the three tables (and the daily and hourly spans) are
// read from one snapshot even while replicas write.
//
// Connection loss: a query that fails as kUnavailable (the server closed
// the connection, restarted, was failed over) reconnects once and runs
// again from the start; if that fails too the error (kUnavailable) is the
// answer, and the next Query tries again. Statements are unnamed (no
// server-side prepared state to lose on reconnect).
#pragma once

#include <memory>
#include <utility>

#include "dlrd/core/stats/rollup_read.h"
#include "dlrd/core/stats/stats.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"
#include "postgres/pg_conn.h"

namespace dlrd {

class PgStatsReader final : public StatsSource {
 public:
  static Result<std::unique_ptr<PgStatsReader>> Open(const PgTarget& target,
                                                     bool use_daily = true);
  Result<StatsReport> Query(const StatsQuery& q) override;

 private:
  PgStatsReader(PgTarget target, PgConn conn, bool daily)
      : target_(std::move(target)), conn_(std::move(conn)), daily_(daily) {}
  // One attempt: the whole query in one read transaction.
  Result<StatsReport> QueryOnce(const StatsQuery& q);
  // Adds the figures of `span` (by group, and hour when `hourly`) to `*out`.
  Status Collect(const StatsQuery& q, bool hourly, const StatsSpan& span,
                 StatsGroups* out);
  Status Reconnect();

  PgTarget target_;
  PgConn conn_;
  bool daily_;  // read whole days from the daily tables
};

}  // namespace dlrd
