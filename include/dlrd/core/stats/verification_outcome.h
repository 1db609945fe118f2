// The rollup rules both stores apply when an event moves a verification:
// which row the verifications upsert leaves (MergeVerification), what the
// event adds to the rollups (AddEventContribution), and how the outcome
// columns follow the row (MoveOutcome). Pure: no I/O. Shared by StatsSql
// (SQLite) and PgStats (PostgreSQL), so the two backends compute the same
// figures from the same events.
//
// Invariant kept by the callers: the sent / delivered / failed / verified
// columns of stats_hourly equal a GROUP BY over `verifications` by (hour
// of first_event_at_ms, source, provider, channel, country). When a row
// changes group or outcome, MoveOutcome takes its old contribution out and
// adds the new one; it is exact only if `before` is the row as committed
// with no concurrent writer in between (SQLite: the one writer; PostgreSQL:
// the row read FOR UPDATE).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/stats/rollup_delta.h"

namespace dlrd {

// The rollup-relevant columns of one verifications row.
struct VerificationRow {
  bool exists = false;
  std::string provider, channel, country, recipient;
  int rank = 0;
  int64_t first_at_ms = 0;
};

// The row the stores' verification upsert leaves, from the row before and
// a newly stored event: status (and its channel) only move up the rank
// order; recipient and country are filled once, never overwritten.
VerificationRow MergeVerification(const VerificationRow& before,
                                  const DeliveryEvent& e);

// Whether writing `after` over `before` changes the stored row (an upsert
// that would change nothing is skipped by the stores).
bool VerificationChanges(const VerificationRow& before,
                         const VerificationRow& after);

// Moves the verification's outcome contribution from `before` to `after`.
void MoveOutcome(RollupDelta& delta, std::string_view source,
                 const VerificationRow& before, const VerificationRow& after);

// The event's own counts: the callback, its provider latency (delivered
// with a latency) and its error code.
void AddEventContribution(RollupDelta& delta, const DeliveryEvent& e);

}  // namespace dlrd
