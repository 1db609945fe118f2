// StatsReader: read-only queries over the analytics rollups
// (schema/0003_stats.sql, schema/0006_stats_daily.sql), on a connection of
// its own (WAL: safe while the daemon writes). Internal to the store
// adapter; StatsSql (store/sqlite_stats.h) writes the rollups.
//
// A window's whole UTC days are read from the daily tables and the hours
// at either end from the hourly ones, so a 30-day window reads 29 or 30
// daily rows and at most 24 hourly rows per group instead of 720 hourly
// ones (a window without a whole day, like the last 24 h, reads the hourly
// tables as before); the hourly series reads the hourly tables.
// The answer is exactly the one the hourly tables alone give, since each
// daily table equals its hourly twin summed by day. On a database older
// than schema 6 (no daily tables yet) every window is read hourly.
//
// Each query runs in one read transaction, so the tables agree with each
// other. The spans, the adding up and the report's assembly are shared
// with the PostgreSQL reader (dlrd/core/stats/rollup_read.h); this file
// does the SQLite I/O.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "dlrd/core/util/status.h"
#include "dlrd/core/stats/stats.h"
#include "dlrd/sqlite/sqlite_handle.h"

namespace dlrd {

class StatsReader final : public StatsSource {
 public:
  // `use_daily` false: read every window from the hourly tables only (the
  // tests compare the two answers).
  static Result<std::unique_ptr<StatsReader>> Open(const std::string& path,
                                                   bool use_daily = true);
  Result<StatsReport> Query(const StatsQuery& q) override;

 private:
  StatsReader(SqliteDb db, bool daily) : db_(std::move(db)), daily_(daily) {}
  SqliteDb db_;
  bool daily_;  // read whole days from the daily tables
};

}  // namespace dlrd
