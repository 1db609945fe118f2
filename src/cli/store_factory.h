// The one place that turns the config's `database` into stores: a SQLite
// file or a PostgreSQL URI (StoreConfig::backend). Everything above gets
// the core ports (EventStore, StatsSource, QuarantineStore) and never asks which it is.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/core/ports/quarantine_store.h"
#include "dlrd/core/stats/stats.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

// How to reach the config's PostgreSQL database; `role` becomes part of
// application_name ("dlrd <role> <host>"), so pg_stat_activity tells the
// replicas and their connections apart.
PgTarget PgTargetOf(const Config& config, std::string_view role);

// The ingest writer's store, migrated and ready, and the schema version
// now in the database (logged at start-up).
struct OpenedEventStore {
  std::unique_ptr<EventStore> store;
  int schema_version = 0;
};
// `with_fallback` false: no fallback decisions are taken in the ingest
// transaction (`dlrd quarantine replay` stores late events only).
Result<OpenedEventStore> OpenEventStore(const Config& config,
                                        bool with_fallback = true);

// Read-only analytics for /v1/stats and `dlrd stats`.
Result<std::unique_ptr<StatsSource>> OpenStatsSource(const Config& config);

// The quarantine's list/delete/totals side, on a connection of its own;
// on SQLite, writes wait up to `busy_timeout_ms` for the file's lock.
Result<std::unique_ptr<QuarantineStore>> OpenQuarantineStore(
    const Config& config, std::string_view role, int64_t busy_timeout_ms);

}  // namespace dlrd
