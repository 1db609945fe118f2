#include "dlrd/sqlite/sqlite_retention.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "dlrd/core/stats/stats.h"
#include "dlrd/core/util/dedupe_key.h"
#include "dlrd/sqlite/sqlite_fallback.h"

#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

// Each statement deletes at most ?2 rows older than ?1. The inner SELECTs
// walk an index on the time column.
enum class Horizon { kEvents, kRollups, kDedupe };
struct Step {
  const char* table;
  const char* sql;
  Horizon horizon;  // which age (events_days, rollup_days, dedupe_days)
  bool keep_keys;   // RETURNING (source, dedupe_key, received_at_ms): the
                    // keys go to dedupe_keys in the same transaction
  // Hourly rollups only (RETURNING the day of the row, then its other
  // columns): `unroll` takes each deleted row out of the daily twin, its
  // parameters the returned columns; `drop_zero` then deletes the daily
  // rows of days ?1..?2 that came to zero. Null for other tables.
  const char* unroll;
  const char* drop_zero;
};
constexpr Step kSteps[] = {
    {"delivery_events",
     "DELETE FROM delivery_events WHERE id IN (SELECT id FROM delivery_events"
     " WHERE received_at_ms < ?1 ORDER BY received_at_ms LIMIT ?2)"
     " RETURNING source, dedupe_key, received_at_ms",
     Horizon::kEvents, true, nullptr, nullptr},
    {"raw_requests",
     "DELETE FROM raw_requests WHERE id IN (SELECT id FROM raw_requests"
     " WHERE received_at_ms < ?1 ORDER BY received_at_ms LIMIT ?2)",
     Horizon::kEvents, false, nullptr, nullptr},
    {"verifications",
     "DELETE FROM verifications WHERE (source, verification_id) IN"
     " (SELECT source, verification_id FROM verifications"
     "  WHERE first_event_at_ms < ?1 AND updated_at_ms < ?1"
     "  ORDER BY first_event_at_ms LIMIT ?2)",
     Horizon::kEvents, false, nullptr, nullptr},
    {"fallback_decisions",
     "DELETE FROM fallback_decisions WHERE id IN (SELECT id FROM"
     " fallback_decisions WHERE at_ms < ?1 ORDER BY at_ms LIMIT ?2)",
     Horizon::kEvents, false, nullptr, nullptr},
    // Keys of pruned events, after their own (longer) age.
    {"dedupe_keys",
     "DELETE FROM dedupe_keys WHERE key_hash IN (SELECT key_hash FROM"
     " dedupe_keys WHERE first_seen_ms < ?1 ORDER BY first_seen_ms LIMIT ?2)",
     Horizon::kDedupe, false, nullptr, nullptr},
    // Rollups: the primary key starts with hour_ms, so the inner SELECT is
    // a range scan of the oldest rows. What goes is taken out of the daily
    // twin in the same transaction (schema/0006_stats_daily.sql).
    {"stats_hourly",
     "DELETE FROM stats_hourly WHERE (hour_ms, source, provider, channel,"
     " country) IN (SELECT hour_ms, source, provider, channel, country FROM"
     " stats_hourly WHERE hour_ms < ?1 LIMIT ?2)"
     " RETURNING hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000, "
     "source, provider, channel,"
     " country, callbacks, sent, delivered, failed, verified,"
     " fallback_triggered, fallback_recovered, fallback_wasted,"
     " signature_failures",
     Horizon::kRollups, false,
     "INSERT INTO stats_daily(day_ms, source, provider, channel, country,"
     " callbacks, sent, delivered, failed, verified, fallback_triggered,"
     " fallback_recovered, fallback_wasted, signature_failures)"
     " VALUES (?1, ?2, ?3, ?4, ?5, -?6, -?7, -?8, -?9, -?10, -?11, -?12,"
     " -?13, -?14) ON CONFLICT DO UPDATE SET"
     " callbacks = callbacks + excluded.callbacks,"
     " sent = sent + excluded.sent,"
     " delivered = delivered + excluded.delivered,"
     " failed = failed + excluded.failed,"
     " verified = verified + excluded.verified,"
     " fallback_triggered = fallback_triggered + excluded.fallback_triggered,"
     " fallback_recovered = fallback_recovered + excluded.fallback_recovered,"
     " fallback_wasted = fallback_wasted + excluded.fallback_wasted,"
     " signature_failures = signature_failures + excluded.signature_failures",
     "DELETE FROM stats_daily WHERE day_ms BETWEEN ?1 AND ?2"
     " AND callbacks = 0 AND sent = 0 AND delivered = 0 AND failed = 0"
     " AND verified = 0 AND fallback_triggered = 0"
     " AND fallback_recovered = 0 AND fallback_wasted = 0"
     " AND signature_failures = 0"},
    {"stats_latency",
     "DELETE FROM stats_latency WHERE (hour_ms, source, provider, channel,"
     " country, kind, step, bucket) IN (SELECT hour_ms, source, provider,"
     " channel, country, kind, step, bucket FROM stats_latency"
     " WHERE hour_ms < ?1 LIMIT ?2)"
     " RETURNING hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000, "
     "source, provider, channel,"
     " country, kind, step, bucket, n",
     Horizon::kRollups, false,
     "INSERT INTO stats_latency_daily(day_ms, source, provider, channel,"
     " country, kind, step, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
     " ?8, -?9) ON CONFLICT DO UPDATE SET n = n + excluded.n",
     "DELETE FROM stats_latency_daily WHERE day_ms BETWEEN ?1 AND ?2"
     " AND n = 0"},
    {"stats_errors",
     "DELETE FROM stats_errors WHERE (hour_ms, source, provider, channel,"
     " country, error_code) IN (SELECT hour_ms, source, provider, channel,"
     " country, error_code FROM stats_errors WHERE hour_ms < ?1 LIMIT ?2)"
     " RETURNING hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000, "
     "source, provider, channel,"
     " country, error_code, n",
     Horizon::kRollups, false,
     "INSERT INTO stats_errors_daily(day_ms, source, provider, channel,"
     " country, error_code, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, -?7)"
     " ON CONFLICT DO UPDATE SET n = n + excluded.n",
     "DELETE FROM stats_errors_daily WHERE day_ms BETWEEN ?1 AND ?2"
     " AND n = 0"},
};

}  // namespace

Result<std::unique_ptr<SqliteRetention>> SqliteRetention::Open(
    const std::string& path, int64_t busy_timeout_ms,
    const RetentionConfig& config, int64_t quarantine_ttl_ms) {
  Result<SqliteDb> db =
      OpenSqlite(path, SqliteRole::kRetention, busy_timeout_ms);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteRetention>(
      new SqliteRetention(std::move(db).value(), config, quarantine_ttl_ms));
}

Result<int64_t> SqliteRetention::Run(const char* sql, int64_t cutoff_ms) {
  StmtUse st(cache_.Get(sql));
  if (!st.get()) return SqliteError(db_.get(), "retention prepare");
  sqlite3_bind_int64(st.get(), 1, cutoff_ms);
  sqlite3_bind_int64(st.get(), 2, config_.batch_rows);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "retention delete");
  return static_cast<int64_t>(sqlite3_changes(db_.get()));
}

// As in RunKeepingKeys, the DELETE runs in full at its first step, so the
// daily twin can be written while its RETURNING rows are read.
Result<int64_t> SqliteRetention::RunUnrolling(const char* sql,
                                              const char* unroll_sql,
                                              const char* drop_zero_sql,
                                              int64_t cutoff_ms) {
  StmtUse del(cache_.Get(sql));
  StmtUse unroll(cache_.Get(unroll_sql));
  StmtUse drop(cache_.Get(drop_zero_sql));
  if (!del.get() || !unroll.get() || !drop.get()) return SqliteError(db_.get(), "retention prepare");
  sqlite3_bind_int64(del.get(), 1, cutoff_ms);
  sqlite3_bind_int64(del.get(), 2, config_.batch_rows);
  int64_t deleted = 0;
  int64_t first_day = 0, last_day = 0;
  int rc;
  while ((rc = sqlite3_step(del.get())) == SQLITE_ROW) {
    const int64_t day = sqlite3_column_int64(del.get(), 0);
    first_day = deleted == 0 ? day : std::min(first_day, day);
    last_day = deleted == 0 ? day : std::max(last_day, day);
    ++deleted;
    sqlite3_reset(unroll.get());
    for (int i = 0; i < sqlite3_column_count(del.get()); ++i) {
      sqlite3_bind_value(unroll.get(), i + 1,
                         sqlite3_column_value(del.get(), i));
    }
    if (sqlite3_step(unroll.get()) != SQLITE_DONE) return SqliteError(db_.get(), "retention unroll");
  }
  if (rc != SQLITE_DONE) return SqliteError(db_.get(), "retention delete");
  if (deleted == 0) return deleted;
  sqlite3_bind_int64(drop.get(), 1, first_day);
  sqlite3_bind_int64(drop.get(), 2, last_day);
  if (sqlite3_step(drop.get()) != SQLITE_DONE) return SqliteError(db_.get(), "retention drop zero");
  return deleted;
}

// The DELETE runs in full at its first step (SQLite buffers RETURNING
// rows), so inserting into dedupe_keys while reading them is safe. A key
// already older than dedupe_days is not kept.
Result<int64_t> SqliteRetention::RunKeepingKeys(const char* sql,
                                                int64_t cutoff_ms,
                                                int64_t dedupe_cutoff_ms) {
  StmtUse del(cache_.Get(sql));
  StmtUse keep(
      cache_.Get("INSERT OR IGNORE INTO dedupe_keys(key_hash, first_seen_ms)"
                 " VALUES (?1, ?2)"));
  if (!del.get() || !keep.get()) return SqliteError(db_.get(), "retention prepare");
  sqlite3_bind_int64(del.get(), 1, cutoff_ms);
  sqlite3_bind_int64(del.get(), 2, config_.batch_rows);
  int64_t deleted = 0;
  int rc;
  while ((rc = sqlite3_step(del.get())) == SQLITE_ROW) {
    ++deleted;
    const int64_t seen_ms = sqlite3_column_int64(del.get(), 2);
    if (seen_ms < dedupe_cutoff_ms) continue;
    const std::optional<std::string> hash =
        DedupeKeyHash(ColumnText(del.get(), 0), ColumnText(del.get(), 1));
    if (!hash) return Status::Error("dedupe key hash failed");
    sqlite3_reset(keep.get());
    sqlite3_bind_blob(keep.get(), 1, hash->data(),
                      static_cast<int>(hash->size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(keep.get(), 2, seen_ms);
    if (sqlite3_step(keep.get()) != SQLITE_DONE) return SqliteError(db_.get(), "retention keep key");
  }
  if (rc != SQLITE_DONE) return SqliteError(db_.get(), "retention delete");
  return deleted;
}

// Fallback chains whose root is older than the cutoff and that have no job
// left to send: their outbox rows, steps and root, in one transaction.
Result<int64_t> SqliteRetention::PruneChains(int64_t cutoff_ms) {
  std::vector<std::pair<std::string, std::string>> roots;
  {
    StmtUse st(cache_.Get(
        "SELECT source, root_id FROM fallback_roots r WHERE created_at_ms < ?1"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.source = r.source"
        "  AND o.root_id = r.root_id"
        "  AND o.state IN ('pending', 'in_flight', 'retry_wait'))"
        " ORDER BY created_at_ms LIMIT ?2"));
    if (!st.get()) return SqliteError(db_.get(), "retention prepare chains");
    sqlite3_bind_int64(st.get(), 1, cutoff_ms);
    // Each chain is a handful of rows.
    sqlite3_bind_int64(st.get(), 2,
                       std::max<int64_t>(1, config_.batch_rows / 4));
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      roots.emplace_back(ColumnText(st.get(), 0), ColumnText(st.get(), 1));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "retention chains");
  }
  int64_t deleted = 0;
  for (const auto& [source, root] : roots) {
    for (const char* sql :
         {"DELETE FROM outbox WHERE source = ?1 AND root_id = ?2",
          "DELETE FROM fallback_steps WHERE source = ?1 AND root_id = ?2",
          "DELETE FROM fallback_roots WHERE source = ?1 AND root_id = ?2"}) {
      StmtUse st(cache_.Get(sql));
      if (!st.get()) return SqliteError(db_.get(), "retention prepare chain");
      BindText(st.get(), 1, source);
      BindText(st.get(), 2, root);
      if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "retention chain");
      deleted += sqlite3_changes(db_.get());
    }
  }
  return deleted;
}

Result<int64_t> SqliteRetention::PruneBatch(int64_t now_ms,
                                            std::string* table) {
  const int64_t events_cutoff = now_ms - config_.events_days * kDayMs;
  const int64_t rollup_cutoff = now_ms - config_.rollup_days * kDayMs;
  const int64_t dedupe_cutoff = now_ms - config_.dedupe_days * kDayMs;
  const auto in_txn = [&](auto body) -> Result<int64_t> {
    if (sqlite3_exec(db_.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      return SqliteError(db_.get(), "retention begin");
    }
    Result<int64_t> n = body();
    if (!n.ok()) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return n;
    }
    if (sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      Status s = SqliteError(db_.get(), "retention commit");
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    return n;
  };
  if (quarantine_ttl_ms_ > 0) {
    Result<int64_t> n = in_txn([&] {
      return Run(
          "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine"
          " WHERE received_at_ms < ?1 ORDER BY received_at_ms LIMIT ?2)",
          now_ms - quarantine_ttl_ms_);
    });
    if (!n.ok()) return n;
    if (n.value() > 0) {
      *table = "quarantine";
      return n;
    }
  }
  if (config_.events_days <= 0) return int64_t{0};
  for (const Step& step : kSteps) {
    const int64_t cutoff = step.horizon == Horizon::kRollups  ? rollup_cutoff
                           : step.horizon == Horizon::kDedupe ? dedupe_cutoff
                                                              : events_cutoff;
    Result<int64_t> n = in_txn([&] {
      if (step.unroll) {
        return RunUnrolling(step.sql, step.unroll, step.drop_zero, cutoff);
      }
      return step.keep_keys ? RunKeepingKeys(step.sql, cutoff, dedupe_cutoff)
                            : Run(step.sql, cutoff);
    });
    if (!n.ok()) return n;
    if (n.value() > 0) {
      *table = step.table;
      return n;
    }
  }
  Result<int64_t> n = in_txn([&] { return PruneChains(events_cutoff); });
  if (n.ok() && n.value() > 0) *table = "fallback_chains";
  return n;
}

}  // namespace dlrd
