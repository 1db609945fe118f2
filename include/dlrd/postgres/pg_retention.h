// Retention on PostgreSQL: a RetentionStore (dlrd/core/ports/
// retention_store.h) that prunes the same rows as SqliteRetention, safely
// while other replicas ingest and prune the same database. The design
// (row locks, SKIP LOCKED, exact rollup unrolling) is described in
// src/postgres/pg_retention.h. No libpq type appears here.
#pragma once

#include <cstdint>
#include <memory>

#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/retention_store.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

// Connects (a connection of its own) and checks that the database has
// dlrd's schema. `quarantine_ttl_ms` > 0: quarantined requests older than
// that go too, even when events are kept forever (events_days 0).
// Errors: kUnavailable when the server cannot be reached; kError when the
// database has no dlrd schema yet.
Result<std::unique_ptr<RetentionStore>> OpenPgRetention(
    const PgTarget& target, const RetentionConfig& config,
    int64_t quarantine_ttl_ms = 0);

}  // namespace dlrd
