// The fallback engine's decisions in the PostgreSQL ingest transaction:
// a batch hook for OpenPgEventStore (PgStoreOptions::hooks), the twin of
// SQLite's FallbackHook. The design (the chain root locked before every
// decision, at most one job per step across replicas) is described in
// src/postgres/pg_fallback.h. No libpq type appears here.
#pragma once

#include "dlrd/core/fallback/policy.h"
#include "dlrd/postgres/pg_event_store.h"

namespace dlrd {

// A hook factory deciding on every newly stored event of a source in
// `rules` (opt-outs, fraud/invalid flags, step status, the next channel's
// job), in the event's own transaction. Register it after the rollups'
// hook (OpenPgEventStore does: PgStoreOptions::hooks come after it).
PgHookFactory MakePgFallbackHook(FallbackRules rules);

}  // namespace dlrd
