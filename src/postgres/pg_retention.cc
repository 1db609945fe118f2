#include "postgres/pg_retention.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "dlrd/core/stats/stats.h"
#include "dlrd/core/model/dedupe_key.h"
#include "dlrd/core/util/encoding.h"
#include "dlrd/postgres/pg_retention.h"
#include "postgres/pg_schema.h"

namespace dlrd {
namespace {

// The CTE `b`: up to $2 rows of `table` older than $1, picked and locked
// by `select` (WHERE ... ORDER BY <time> LIMIT $2) over the key columns.
// Rows another transaction holds are skipped, not waited for.
std::string LockedBatch(const std::string& table,
                        const std::vector<std::string>& key,
                        const std::string& select) {
  std::string keys;
  for (const std::string& k : key) keys += (keys.empty() ? "" : ", ") + k;
  return "b AS (SELECT " + keys + " FROM " + table + " " + select +
         " FOR UPDATE SKIP LOCKED)";
}

// Deletes the rows of `b` from `table` (alias t) by key.
std::string DeleteBatch(const std::string& table,
                        const std::vector<std::string>& key,
                        const std::string& returning = "") {
  std::string match;
  for (const std::string& k : key) {
    match += (match.empty() ? "" : " AND ") + ("t." + k + " = b." + k);
  }
  std::string sql = "DELETE FROM " + table + " t USING b WHERE " + match;
  if (!returning.empty()) sql += " RETURNING " + returning;
  return sql;
}

std::string DeleteLocked(const std::string& table,
                         const std::vector<std::string>& key,
                         const std::string& select,
                         const std::string& returning = "") {
  return "WITH " + LockedBatch(table, key, select) + " " +
         DeleteBatch(table, key, returning);
}

enum class Horizon { kEvents, kDedupe };
struct Step {
  std::string table;
  std::string sql;
  Horizon horizon;
  bool keep_keys;  // RETURNING (source, dedupe_key, received_at_ms)
};

// The per-table steps before the rollups, in SqliteRetention's order.
const std::vector<Step>& Steps() {
  static const std::vector<Step> kSteps = {
      {"delivery_events",
       DeleteLocked("delivery_events", {"id"},
                    "WHERE received_at_ms < $1 ORDER BY received_at_ms"
                    " LIMIT $2",
                    "t.source, t.dedupe_key, t.received_at_ms"),
       Horizon::kEvents, true},
      // A raw request an event still refers to stays until the event goes
      // (the foreign key would refuse the delete).
      {"raw_requests",
       DeleteLocked("raw_requests", {"id"},
                    "r WHERE received_at_ms < $1 AND NOT EXISTS (SELECT 1"
                    " FROM delivery_events e WHERE e.raw_request_id = r.id)"
                    " ORDER BY received_at_ms LIMIT $2"),
       Horizon::kEvents, false},
      {"verifications",
       DeleteLocked("verifications", {"source", "verification_id"},
                    "WHERE first_event_at_ms < $1 AND updated_at_ms < $1"
                    " ORDER BY first_event_at_ms LIMIT $2"),
       Horizon::kEvents, false},
      {"fallback_decisions",
       DeleteLocked("fallback_decisions", {"id"},
                    "WHERE at_ms < $1 ORDER BY at_ms LIMIT $2"),
       Horizon::kEvents, false},
      // Keys of pruned events, after their own (longer) age.
      {"dedupe_keys",
       DeleteLocked("dedupe_keys", {"key_hash"},
                    "WHERE first_seen_ms < $1 ORDER BY first_seen_ms"
                    " LIMIT $2"),
       Horizon::kDedupe, false},
  };
  return kSteps;
}

// An hourly rollup table and its daily twin (schema/postgres/0001_init.sql).
struct Rollup {
  std::string hourly;
  std::string daily;
  std::vector<std::string> keys;    // after hour_ms / day_ms
  std::vector<std::string> values;  // counters
};

const std::vector<Rollup>& Rollups() {
  static const std::vector<Rollup> kRollups = {
      {"stats_hourly",
       "stats_daily",
       {"source", "provider", "channel", "country"},
       {"callbacks", "sent", "delivered", "failed", "verified",
        "fallback_triggered", "fallback_recovered", "fallback_wasted",
        "signature_failures"}},
      {"stats_latency",
       "stats_latency_daily",
       {"source", "provider", "channel", "country", "kind", "step", "bucket"},
       {"n"}},
      {"stats_errors",
       "stats_errors_daily",
       {"source", "provider", "channel", "country", "error_code"},
       {"n"}},
  };
  return kRollups;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep,
                 std::string_view prefix = "") {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += prefix;
    out += p;
  }
  return out;
}

// One statement: lock up to $2 hourly rows older than $1 (oldest hours
// first), delete them, subtract their sums by day and key from the daily
// twin (in key order), and answer (rows deleted, first day, last day).
// A data-modifying CTE runs in full whether or not it is read.
// UTC day of an hour, also before 1970 (% truncates toward zero).
std::string UnrollSql(const Rollup& r) {
  std::vector<std::string> pk = {"hour_ms"};
  pk.insert(pk.end(), r.keys.begin(), r.keys.end());
  std::vector<std::string> day_keys = {"day_ms"};
  day_keys.insert(day_keys.end(), r.keys.begin(), r.keys.end());
  std::vector<std::string> negated, added;
  for (const std::string& v : r.values) {
    negated.push_back("-SUM(" + v + ")");
    added.push_back(v + " = d." + v + " + excluded." + v);
  }
  return "WITH " +
         LockedBatch(r.hourly, pk,
                     "WHERE hour_ms < $1 ORDER BY " + Join(pk, ", ") +
                         " LIMIT $2") +
         ", gone AS (" +
         DeleteBatch(r.hourly, pk,
                     "t.hour_ms - ((t.hour_ms % 86400000) + 86400000)"
                     " % 86400000 AS day_ms, " +
                         Join(r.keys, ", ", "t.") + ", " +
                         Join(r.values, ", ", "t.")) +
         "), unrolled AS (" +
         "INSERT INTO " + r.daily + " AS d (" + Join(day_keys, ", ") + ", " +
         Join(r.values, ", ") + ") SELECT " + Join(day_keys, ", ") + ", " +
         Join(negated, ", ") + " FROM gone GROUP BY " + Join(day_keys, ", ") +
         " ORDER BY " + Join(day_keys, ", ") + " ON CONFLICT (" +
         Join(day_keys, ", ") + ") DO UPDATE SET " + Join(added, ", ") +
         " RETURNING 1) SELECT count(*), min(day_ms), max(day_ms) FROM gone";
}

// Deletes the daily rows of days $1..$2 that came to zero.
std::string DropZeroSql(const Rollup& r) {
  std::vector<std::string> zero;
  for (const std::string& v : r.values) zero.push_back(v + " = 0");
  return "DELETE FROM " + r.daily + " WHERE day_ms BETWEEN $1 AND $2 AND " +
         Join(zero, " AND ");
}

// A PostgreSQL array literal of text elements, each quoted.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

constexpr char kWaitingStates[] = "('pending', 'in_flight', 'retry_wait')";

Status Named(const Status& s, const std::string& what) {
  return Status::Error(s.code(), "retention " + what + ": " + s.message());
}

}  // namespace

Result<PgConn> PgRetention::Connect(const PgTarget& target) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  // A batch waits on a row lock (a daily rollup, the quarantine totals)
  // at most this long; then kBusy, and the next pass tries again.
  if (Result<PgResult> set = conn.value().Exec("SET lock_timeout = '10s'");
      !set.ok()) {
    return set.status();
  }
  return conn;
}

Result<std::unique_ptr<PgRetention>> PgRetention::Open(
    const PgTarget& target, const RetentionConfig& config,
    int64_t quarantine_ttl_ms) {
  Result<PgConn> conn = Connect(target);
  if (!conn.ok()) return conn.status();
  if (Status s = PgRequireSchema(conn.value()); !s.ok()) return s;
  return std::unique_ptr<PgRetention>(new PgRetention(
      target, std::move(conn).value(), config, quarantine_ttl_ms));
}

Result<int64_t> PgRetention::InTxn(
    const std::function<Result<int64_t>()>& body) {
  if (Result<PgResult> b = conn_.Exec("BEGIN"); !b.ok()) {
    return Named(b.status(), "begin");
  }
  Result<int64_t> n = body();
  if (n.ok()) {
    if (Result<PgResult> c = conn_.Exec("COMMIT"); !c.ok()) {
      n = Named(c.status(), "commit");
    }
  }
  // A no-op error when the connection is gone; else leaves it usable.
  if (!n.ok() && conn_.connected()) (void)conn_.Exec("ROLLBACK");
  return n;
}

Result<int64_t> PgRetention::Run(const std::string& sql, int64_t cutoff_ms) {
  Result<PgResult> r = conn_.Exec(sql, {cutoff_ms, config_.batch_rows});
  if (!r.ok()) return Named(r.status(), "delete");
  return r.value().affected();
}

Result<int64_t> PgRetention::RunKeepingKeys(const std::string& sql,
                                            int64_t cutoff_ms,
                                            int64_t dedupe_cutoff_ms) {
  Result<PgResult> del = conn_.Exec(sql, {cutoff_ms, config_.batch_rows});
  if (!del.ok()) return Named(del.status(), "delete events");
  const PgResult& rows = del.value();
  // Hex (no quoting needed in an array literal), decoded by the server.
  std::string hashes = "{", seen = "{";
  int kept = 0;
  for (int i = 0; i < rows.rows(); ++i) {
    const int64_t seen_ms = rows.Int(i, 2);
    if (seen_ms < dedupe_cutoff_ms) continue;  // already past dedupe_days
    const std::optional<std::string> hash =
        DedupeKeyHash(rows.Text(i, 0), rows.Text(i, 1));
    if (!hash) return Status::Error("retention: dedupe key hash failed");
    hashes += (kept ? "," : "") + HexEncode(*hash);
    seen += (kept ? "," : "") + std::to_string(seen_ms);
    ++kept;
  }
  if (kept > 0) {
    Result<PgResult> keep = conn_.Exec(
        "INSERT INTO dedupe_keys(key_hash, first_seen_ms)"
        " SELECT decode(h, 'hex'), s FROM unnest($1::text[], $2::bigint[])"
        " AS k(h, s) ON CONFLICT (key_hash) DO NOTHING",
        {PgParam(hashes + "}"), PgParam(seen + "}")});
    if (!keep.ok()) return Named(keep.status(), "keep keys");
  }
  return static_cast<int64_t>(rows.rows());
}

Result<int64_t> PgRetention::RunUnrolling(const std::string& sql,
                                          const std::string& drop_zero,
                                          int64_t cutoff_ms) {
  Result<PgResult> r = conn_.Exec(sql, {cutoff_ms, config_.batch_rows});
  if (!r.ok()) return Named(r.status(), "delete rollups");
  const int64_t deleted = r.value().Int(0, 0);
  if (deleted == 0) return deleted;
  // A new statement: it sees the subtraction above (and any other
  // replica's, committed by now).
  Result<PgResult> drop =
      conn_.Exec(drop_zero, {r.value().Int(0, 1), r.value().Int(0, 2)});
  if (!drop.ok()) return Named(drop.status(), "drop zero");
  return deleted;
}

Result<int64_t> PgRetention::PruneChains(int64_t cutoff_ms) {
  // Each chain is a handful of rows.
  const int64_t chains = std::max<int64_t>(1, config_.batch_rows / 4);
  Result<PgResult> locked = conn_.Exec(
      std::string("SELECT source, root_id FROM fallback_roots r"
                  " WHERE created_at_ms < $1 AND NOT EXISTS (SELECT 1 FROM"
                  " outbox o WHERE o.source = r.source AND o.root_id ="
                  " r.root_id AND o.state IN ") +
          kWaitingStates +
          ") ORDER BY created_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
      {cutoff_ms, chains});
  if (!locked.ok()) return Named(locked.status(), "chains");
  if (locked.value().rows() == 0) return int64_t{0};
  std::vector<std::string> sources, roots;
  for (int i = 0; i < locked.value().rows(); ++i) {
    sources.emplace_back(locked.value().Text(i, 0));
    roots.emplace_back(locked.value().Text(i, 1));
  }
  // Under the roots' locks, on a snapshot taken after them: a job added
  // before the lock is seen here, and none can be added after it.
  const char* kMatch = " USING k WHERE x.source = k.source"
                       " AND x.root_id = k.root_id RETURNING 1)";
  Result<PgResult> deleted = conn_.Exec(
      std::string("WITH c AS (SELECT * FROM unnest($1::text[], $2::text[])"
                  " AS c(source, root_id)), k AS (SELECT c.source, c.root_id"
                  " FROM c WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE"
                  " o.source = c.source AND o.root_id = c.root_id AND"
                  " o.state IN ") +
          kWaitingStates + ")), o AS (DELETE FROM outbox x" + kMatch +
          ", s AS (DELETE FROM fallback_steps x" + kMatch +
          ", r AS (DELETE FROM fallback_roots x" + kMatch +
          " SELECT (SELECT count(*) FROM o) + (SELECT count(*) FROM s) +"
          " (SELECT count(*) FROM r)",
      {PgParam(TextArray(sources)), PgParam(TextArray(roots))});
  if (!deleted.ok()) return Named(deleted.status(), "chain");
  return deleted.value().Int(0, 0);
}

Result<int64_t> PgRetention::PruneBatch(int64_t now_ms, std::string* table) {
  if (lost_ || !conn_.connected()) {
    Result<PgConn> conn = Connect(target_);
    if (!conn.ok()) {
      return Status::Error(StatusCode::kUnavailable,
                           "retention: reconnect: " + conn.status().message());
    }
    conn_ = std::move(conn).value();
    lost_ = false;
  }
  Result<int64_t> n = PruneOnce(now_ms, table);
  if (!n.ok() && n.status().code() == StatusCode::kUnavailable) lost_ = true;
  return n;
}

Result<int64_t> PgRetention::PruneOnce(int64_t now_ms, std::string* table) {
  const int64_t events_cutoff = now_ms - config_.events_days * kDayMs;
  const int64_t rollup_cutoff = now_ms - config_.rollup_days * kDayMs;
  const int64_t dedupe_cutoff = now_ms - config_.dedupe_days * kDayMs;
  if (quarantine_ttl_ms_ > 0) {
    static const std::string kQuarantine =
        DeleteLocked("quarantine", {"id"},
                     "WHERE received_at_ms < $1 ORDER BY received_at_ms"
                     " LIMIT $2");
    Result<int64_t> n =
        InTxn([&] { return Run(kQuarantine, now_ms - quarantine_ttl_ms_); });
    if (!n.ok() || n.value() > 0) {
      if (n.ok()) *table = "quarantine";
      return n;
    }
  }
  if (config_.events_days <= 0) return int64_t{0};
  for (const Step& step : Steps()) {
    const int64_t cutoff =
        step.horizon == Horizon::kDedupe ? dedupe_cutoff : events_cutoff;
    Result<int64_t> n = InTxn([&] {
      return step.keep_keys ? RunKeepingKeys(step.sql, cutoff, dedupe_cutoff)
                            : Run(step.sql, cutoff);
    });
    if (!n.ok() || n.value() > 0) {
      if (n.ok()) *table = step.table;
      return n;
    }
  }
  struct RollupSql {
    std::string table, unroll, drop_zero;
  };
  static const std::vector<RollupSql> kRollupSql = [] {
    std::vector<RollupSql> v;
    for (const Rollup& r : Rollups()) {
      v.push_back({r.hourly, UnrollSql(r), DropZeroSql(r)});
    }
    return v;
  }();
  for (const RollupSql& rollup : kRollupSql) {
    Result<int64_t> n = InTxn([&] {
      return RunUnrolling(rollup.unroll, rollup.drop_zero, rollup_cutoff);
    });
    if (!n.ok() || n.value() > 0) {
      if (n.ok()) *table = rollup.table;
      return n;
    }
  }
  Result<int64_t> n = InTxn([&] { return PruneChains(events_cutoff); });
  if (n.ok() && n.value() > 0) *table = "fallback_chains";
  return n;
}

Result<std::unique_ptr<RetentionStore>> OpenPgRetention(
    const PgTarget& target, const RetentionConfig& config,
    int64_t quarantine_ttl_ms) {
  Result<std::unique_ptr<PgRetention>> r =
      PgRetention::Open(target, config, quarantine_ttl_ms);
  if (!r.ok()) return r.status();
  return std::unique_ptr<RetentionStore>(std::move(r).value());
}

}  // namespace dlrd
