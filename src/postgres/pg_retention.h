// PgRetention: the RetentionStore on PostgreSQL, private to dlrd_postgres
// (OpenPgRetention in dlrd/postgres/pg_retention.h hands it out).
//
// Same rows go and stay as with SqliteRetention (src/sqlite/
// sqlite_retention.cc, whose step order it follows): one bounded batch per
// transaction (batch_rows rows of one table; a fallback chain whole, up to
// batch_rows / 4 chains), the dedupe key of every pruned event younger than
// dedupe_days inserted into dedupe_keys by the transaction that deletes the
// event, hourly rollups taken out of their daily twin by the transaction
// that deletes them (daily rows that reach zero deleted), fallback chains
// with a job still to send kept, opt-outs never touched, quarantined
// requests older than the TTL deleted.
//
// Several replicas at once. SQLite has one writer at a time; here every
// replica's ingest and retention run side by side, so each batch is
// chosen with `SELECT ... ORDER BY <time> LIMIT n FOR UPDATE SKIP LOCKED`
// and deleted by key in the same statement:
//  - two replicas pruning together take disjoint rows (each skips what the
//    other locked) and never wait on each other's batch;
//  - a row an ingest transaction is updating (a verification, an old
//    hour's rollup) is skipped, and one updated since the statement's
//    snapshot is re-checked on its newest version (READ COMMITTED), so a
//    verification that just moved is not deleted;
//  - DELETE ... RETURNING gives the values of the rows this transaction
//    locked and deleted, so what is subtracted from the daily twin is
//    exactly what left the hourly table, even when two replicas prune the
//    same hour: each subtracts only its own rows, with an atomic
//    `ON CONFLICT DO UPDATE SET n = n + excluded.n`. The subtraction is
//    summed per daily row and applied in key order, so two replicas lock
//    daily rows in the same order (no deadlock between them).
// Raw requests go only once no event refers to them (the foreign key is
// enforced here, unlike on the SQLite retention connection).
// Fallback chains: the roots are locked (FOR UPDATE SKIP LOCKED), then a
// second statement, whose snapshot is taken after the lock, checks again
// that no job of the chain waits to be sent and deletes outbox rows, steps
// and root. A writer that adds a job to an existing chain must lock its
// root first (FOR SHARE) and treat a missing root as a finished chain;
// then no job can appear in a chain between that check and the delete.
// For the same reason ingest should upsert an hourly rollup row before its
// daily twin (retention's order); the other order can deadlock, which the
// server resolves by aborting one side (kBusy, retried).
//
// Waits are bounded: lock_timeout (10 s) on the session, so Stop() of the
// worker returns even when some transaction sits on a row (kBusy).
// A lost connection: the failing call answers kUnavailable; the next call
// reconnects first (and answers kUnavailable again while the server is
// down). Statements are unnamed: no server-side state to lose.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/retention_store.h"
#include "dlrd/postgres/pg_database.h"
#include "postgres/pg_conn.h"

namespace dlrd {

class PgRetention final : public RetentionStore {
 public:
  static Result<std::unique_ptr<PgRetention>> Open(
      const PgTarget& target, const RetentionConfig& config,
      int64_t quarantine_ttl_ms);

  Result<int64_t> PruneBatch(int64_t now_ms, std::string* table) override;

 private:
  PgRetention(PgTarget target, PgConn conn, const RetentionConfig& config,
              int64_t quarantine_ttl_ms)
      : target_(std::move(target)),
        conn_(std::move(conn)),
        config_(config),
        quarantine_ttl_ms_(quarantine_ttl_ms) {}

  static Result<PgConn> Connect(const PgTarget& target);
  // PruneBatch on the connection as it is.
  Result<int64_t> PruneOnce(int64_t now_ms, std::string* table);
  // `body` in one transaction (READ COMMITTED); rolled back on error.
  Result<int64_t> InTxn(const std::function<Result<int64_t>()>& body);
  // A DELETE whose command tag counts the rows.
  Result<int64_t> Run(const std::string& sql, int64_t cutoff_ms);
  // The events' DELETE ... RETURNING source, dedupe_key, received_at_ms;
  // keeps the keys not older than `dedupe_cutoff_ms` in dedupe_keys.
  Result<int64_t> RunKeepingKeys(const std::string& sql, int64_t cutoff_ms,
                                 int64_t dedupe_cutoff_ms);
  // A rollup's delete-and-unroll statement (SELECT count, first day, last
  // day), then `drop_zero` for the days it touched.
  Result<int64_t> RunUnrolling(const std::string& sql,
                               const std::string& drop_zero,
                               int64_t cutoff_ms);
  Result<int64_t> PruneChains(int64_t cutoff_ms);

  PgTarget target_;
  PgConn conn_;
  bool lost_ = false;  // a call failed as kUnavailable: reconnect first
  RetentionConfig config_;
  int64_t quarantine_ttl_ms_;  // 0: quarantine not pruned here
};

}  // namespace dlrd
