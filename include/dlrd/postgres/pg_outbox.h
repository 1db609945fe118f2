// The OutboxStore (dlrd/core/ports/outbox_store.h) on PostgreSQL, for
// several replicas sharing one queue of fallback sends. The design (claims
// with SKIP LOCKED and a lease, recovery of another replica's job, deadline
// scans decided once, the decision feed) is described in
// src/postgres/pg_outbox.h. No libpq type appears here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dlrd/core/fallback/policy.h"
#include "dlrd/core/ports/outbox_store.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

struct PgOutboxOptions {
  FallbackRules rules;
  // This replica's name (hostname + pid), written to outbox.claimed_by.
  std::string replica;
  // How long a claim is this replica's (outbox.in_flight_lease_ms):
  // ClaimDue sets lease_until_ms = now + lease_ms.
  int64_t lease_ms = 30'000;
};

// Connects (a connection of its own) and checks the schema is there (the
// event store migrates). Errors: kUnavailable when the server cannot be
// reached; kError when the database has no dlrd schema.
Result<std::unique_ptr<OutboxStore>> OpenPgOutbox(
    const PgTarget& target, const PgOutboxOptions& options);

}  // namespace dlrd
