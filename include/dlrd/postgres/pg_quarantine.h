// The quarantine on PostgreSQL: the QuarantineStore port (dlrd/core/ports/
// quarantine_store.h) over the quarantine tables of
// schema/postgres/0001_init.sql, for `dlrd quarantine list|replay` and the
// dlrd_quarantine_* gauges. The daemon's writer adds the rows
// (PgEventStore). No libpq type appears here.
//
// Several replicas share the table: a replay on any host sees the rows
// every replica kept, and two replays at once are safe (the events go
// through the normal dedupe; a Delete of a row already gone is a no-op).
// Totals are exact while replicas write: quarantine_totals is kept by
// triggers in the writers' own transactions.
#pragma once

#include <memory>

#include "dlrd/core/ports/quarantine_store.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

// Connects (a connection of its own) and checks that the database has
// dlrd's schema. Errors: kUnavailable when the server cannot be reached;
// kError when the database has no dlrd schema yet. A call that finds the
// connection lost reconnects once and runs again; if the server is still
// down the answer is kUnavailable and the next call tries again.
Result<std::unique_ptr<QuarantineStore>> OpenPgQuarantine(
    const PgTarget& target);

}  // namespace dlrd
