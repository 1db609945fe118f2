// The EventStore on PostgreSQL (dlrd/core/ports/event_store.h), for several
// replicas sharing one database. No libpq type appears here: the store is
// handed out behind the port.
//
// OpenPgEventStore connects, applies the migrations (one replica at a time,
// src/postgres/pg_schema.h) and returns the store. Its contract is the
// port's, on every backend; what PostgreSQL adds is described in
// src/postgres/pg_event_store.h (savepoints, dedupe across replicas, the
// lost connection and the reconnect backoff).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dlrd/core/ports/batch_hook.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

// What a hook may write through: the store's connection and its rollups
// (src/postgres/pg_hook_context.h; private to dlrd_postgres). Valid as
// long as the store, across reconnects.
struct PgHookContext;

// Builds one batch hook on the store's context. The seam for adapters
// that write in the ingest transaction (the fallback engine): they live in
// dlrd_postgres, where the context is complete.
using PgHookFactory =
    std::function<Result<std::unique_ptr<BatchHook>>(PgHookContext&)>;

struct PgStoreOptions {
  // Caps on quarantined requests (Submission::quarantine), checked against
  // quarantine_totals locked FOR UPDATE, so replicas never overshoot them
  // together.
  QuarantineLimits quarantine;
  // Extra batch hooks, registered after the rollups' own hook, in this
  // order (the same order as SqliteEventStore: rollups first, so a hook
  // may report to them before their flush): the fallback engine's
  // (dlrd/postgres/pg_fallback.h).
  std::vector<PgHookFactory> hooks;
};

Result<std::unique_ptr<EventStore>> OpenPgEventStore(
    const PgTarget& target, const PgStoreOptions& options);

}  // namespace dlrd
