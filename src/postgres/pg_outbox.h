// PgOutbox: the OutboxStore on PostgreSQL, private to dlrd_postgres
// (OpenPgOutbox in dlrd/postgres/pg_outbox.h hands it out). Owned and used
// by one dispatcher thread per replica; several replicas share the queue.
//
// Same rows and answers as SqliteOutbox; what several replicas add:
// - Claims. ClaimDue picks due jobs with `SELECT ... FOR UPDATE SKIP
//   LOCKED LIMIT n` and, in the same statement, marks them in_flight with
//   claimed_by = this replica and lease_until_ms = now + lease. Two
//   replicas claiming at once take disjoint jobs (each skips the rows the
//   other locked; a row the other already committed in_flight no longer
//   matches, as READ COMMITTED re-checks a locked row's newest version).
// - Recovery. RecoverInFlight takes over in_flight jobs whose lease ran
//   out, whoever claimed them (a replica killed mid-send), except the ids
//   this replica still `held`; rows locked FOR UPDATE SKIP LOCKED, so each
//   job is reclaimed by one replica. The unknown-outcome rule is the
//   port's: re-sent once with the same idempotency key (recovered = 1),
//   reclaimed again -> dead and escalated, never a third send. A job with
//   no lease (lease_until_ms = 0, e.g. copied from SQLite by migrate-store)
//   uses the caller's lease_ms from its claim time (updated_at_ms). A
//   replica whose own send outlives its lease (a reply later than the
//   lease, or a result write failing that long) is taken over like a dead
//   one: keep outbox.in_flight_lease_ms above the send timeout.
// - Deadlines. ScanDeadlines locks root and step rows FOR UPDATE SKIP
//   LOCKED and sets deadline_checked in the same transaction
//   (src/postgres/pg_fallback.h), so each expired deadline is decided on
//   exactly one replica.
// - Opt-outs are one table: RecordOptOut is seen by every replica's next
//   decision.
// - The decision feed (DecisionsSince). fallback_decisions ids come from
//   a sequence, taken at INSERT and committed later, so another replica's
//   row can become visible after a higher id was already read. Besides
//   the rows above the cursor, every call also reads the rows below it
//   logged (at_ms) within kDecisionOverlapMs of the newest one seen, minus
//   the ids it already returned (kept in memory for that window). A row
//   whose transaction takes longer than that window between its INSERT
//   and its COMMIT (or logged by a replica whose clock is that far behind)
//   is missed by the metrics; the row itself is kept. The cursor's value
//   is the highest id returned, as in SQLite.
//
// Every method is one short transaction (lock_timeout 5 s: then kBusy,
// and the dispatcher retries). A lost connection: the call answers
// kUnavailable; the next call reconnects first.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "dlrd/core/ports/outbox_store.h"
#include "dlrd/postgres/pg_database.h"
#include "dlrd/postgres/pg_outbox.h"
#include "postgres/pg_conn.h"
#include "postgres/pg_fallback.h"
#include "postgres/pg_stats.h"

namespace dlrd {

class PgOutbox final : public OutboxStore {
 public:
  static constexpr int64_t kDecisionOverlapMs = 60'000;

  static Result<std::unique_ptr<PgOutbox>> Open(const PgTarget& target,
                                                const PgOutboxOptions& options);

  Result<bool> Register(const Registration& r, int64_t now_ms) override;
  Status ScanDeadlines(int64_t now_ms,
                       std::vector<FallbackNote>* notes) override;
  Result<std::vector<OutboxJob>> ClaimDue(int64_t now_ms, int limit) override;
  Status MarkAccepted(const OutboxJob& job, std::string_view ref,
                      int64_t now_ms) override;
  Status MarkRetry(const OutboxJob& job, int64_t next_attempt_at_ms,
                   std::string_view error, int64_t now_ms,
                   bool unknown_outcome) override;
  Status MarkDead(const OutboxJob& job, std::string_view error, bool fraud,
                  bool invalid_number, int64_t now_ms,
                  std::vector<FallbackNote>* notes) override;
  Result<int> RecoverInFlight(int64_t now_ms, int64_t lease_ms,
                              const std::set<int64_t>& held,
                              std::vector<FallbackNote>* notes) override;
  Status RecordOptOut(std::string_view recipient, std::string_view source,
                      std::string_view reason, int64_t now_ms) override;
  Result<OutboxDepth> Depth(int64_t now_ms) override;
  Result<std::vector<Decision>> DecisionsSince(int64_t* after_id,
                                               int limit) override;
  Result<std::optional<ChainView>> Chain(std::string_view id) override;

 private:
  PgOutbox(PgTarget target, PgOutboxOptions options, PgConn conn)
      : target_(std::move(target)),
        options_(std::move(options)),
        conn_(std::move(conn)),
        fallback_(&conn_, options_.rules, &stats_) {}
  static Result<PgConn> Connect(const PgTarget& target);
  // `body` in BEGIN ... COMMIT, the rollups flushed before COMMIT; rolled
  // back (or the connection dropped) on error, which names `what`.
  template <typename Body>
  Status InTxn(const char* what, Body body);
  // The job's outbox row dead, then the next channel decided. `fenced`:
  // only while the job is still this replica's claim of `job.attempts`
  // (MarkDead); else kSuperseded. RecoverInFlight, which holds the row
  // locked after checking it, passes false.
  Status Dead(const OutboxJob& job, std::string_view error, bool fraud,
              bool invalid_number, int64_t now_ms, bool fenced,
              std::vector<FallbackNote>* notes);

  PgTarget target_;
  PgOutboxOptions options_;
  PgConn conn_;
  bool lost_ = false;  // a call failed as kUnavailable: reconnect first
  PgStats stats_{&conn_, /*deferred=*/true};
  PgFallback fallback_;
  // DecisionsSince: ids returned whose at_ms is within the overlap window
  // of newest_at_ms_ (id -> at_ms); newest_at_ms_ < 0: nothing known yet.
  std::map<int64_t, int64_t> seen_;
  int64_t newest_at_ms_ = -1;
};

}  // namespace dlrd
