// The analytics read side on PostgreSQL: a StatsSource (dlrd/core/stats/
// stats.h) over the rollup tables of schema/postgres/0001_init.sql, giving
// the same reports as the SQLite StatsReader for the same rollup rows (the
// windows, spans and figures are shared: dlrd/core/stats/rollup_read.h).
// No libpq type appears here; the reader lives in src/postgres/.
#pragma once

#include <memory>

#include "dlrd/core/stats/stats.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

// Connects (a connection of the reader's own) and checks that the
// database has dlrd's schema. Errors: kUnavailable when the server cannot
// be reached; kError when the database has no dlrd schema yet.
// Query() reconnects once when the connection was lost and answers
// kUnavailable (the stats API's 503) when the server is still down.
// `use_daily` false: read every window from the hourly tables only (the
// tests compare the two answers). Not thread-safe, like every StatsSource.
Result<std::unique_ptr<StatsSource>> OpenPgStatsReader(const PgTarget& target,
                                                       bool use_daily = true);

}  // namespace dlrd
