// SqliteRetention: deletes rows older than the configured ages, a small
// batch per transaction, on a connection of its own. A RetentionStore
// (dlrd/core/ports/retention_store.h), like the PostgreSQL one.
//
// Invariant: ingest never waits long on pruning. Each call to PruneBatch
// holds the write lock for one bounded DELETE (batch_rows rows, or one
// hour of rollups; a batch of events also inserts up to batch_rows dedupe
// keys), and the caller pauses between calls, so the ingest
// writer's BEGIN IMMEDIATE gets the lock within one batch's time.
// Quarantined requests (schema/0005_quarantine.sql) older than
// `quarantine_ttl_ms` are deleted too, even when events are kept forever.
// What is kept: opt-outs (never pruned), fallback chains that still have a
// job to send, the rollups younger than rollup_days, and the dedupe key of
// every pruned event younger than dedupe_days: an event's key moves to
// dedupe_keys in the transaction that deletes the event, so a replay of a
// callback without a signed timestamp is still a duplicate. The daily
// rollups (schema/0006_stats_daily.sql) are not pruned on their own: the
// transaction that deletes hourly rollup rows subtracts them from the
// daily twin and deletes the daily rows that reach zero, so the daily
// rollups still equal the hourly ones summed by day.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/retention_store.h"
#include "dlrd/core/util/status.h"
#include "dlrd/sqlite/sqlite_handle.h"

namespace dlrd {

class SqliteRetention final : public RetentionStore {
 public:
  static Result<std::unique_ptr<SqliteRetention>> Open(
      const std::string& path, int64_t busy_timeout_ms,
      const RetentionConfig& config, int64_t quarantine_ttl_ms = 0);

  // Deletes one batch from the first table that has prunable rows; returns
  // how many rows went (0: nothing left to prune as of `now_ms`).
  // `*table` names the table.
  Result<int64_t> PruneBatch(int64_t now_ms, std::string* table) override;

 private:
  SqliteRetention(SqliteDb db, const RetentionConfig& config,
                  int64_t quarantine_ttl_ms)
      : db_(std::move(db)),
        config_(config),
        quarantine_ttl_ms_(quarantine_ttl_ms),
        cache_(db_.get()) {}
  Result<int64_t> Run(const char* sql, int64_t cutoff_ms);
  // Run for a DELETE … RETURNING source, dedupe_key, received_at_ms: keeps
  // the keys not older than `dedupe_cutoff_ms` in dedupe_keys.
  Result<int64_t> RunKeepingKeys(const char* sql, int64_t cutoff_ms,
                                 int64_t dedupe_cutoff_ms);
  // Run for an hourly rollup's DELETE … RETURNING (the day, then every
  // column): runs `unroll_sql` on each returned row to take it out of the
  // daily twin, then `drop_zero_sql` (?1, ?2: the first and last day seen)
  // to delete the daily rows that came to zero.
  Result<int64_t> RunUnrolling(const char* sql, const char* unroll_sql,
                               const char* drop_zero_sql, int64_t cutoff_ms);
  Result<int64_t> PruneChains(int64_t cutoff_ms);

  SqliteDb db_;
  RetentionConfig config_;
  int64_t quarantine_ttl_ms_;  // 0: quarantine not pruned here
  StmtCache cache_;
};

}  // namespace dlrd
