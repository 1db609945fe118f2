#include "store/sqlite_stats.h"

#include <map>
#include <utility>

#include "store/sqlite_fallback.h"

namespace dlrd {
namespace {

// Status moves only up the rank order (include/dlrd/core/delivery.h).
constexpr const char* kUpsertVerification =
    "INSERT INTO verifications(source, verification_id, provider, channel,"
    " status, status_rank, recipient, country, first_event_at_ms,"
    " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
    " ON CONFLICT(source, verification_id) DO UPDATE SET"
    "  status = CASE WHEN excluded.status_rank > status_rank"
    "    THEN excluded.status ELSE status END,"
    "  channel = CASE WHEN excluded.status_rank > status_rank"
    "    THEN excluded.channel ELSE channel END,"
    "  updated_at_ms = CASE WHEN excluded.status_rank > status_rank"
    "    THEN excluded.updated_at_ms ELSE updated_at_ms END,"
    "  status_rank = MAX(status_rank, excluded.status_rank),"
    "  recipient = CASE WHEN recipient = '' THEN excluded.recipient"
    "    ELSE recipient END,"
    "  country = CASE WHEN country = '' THEN excluded.country ELSE country END";

constexpr const char* kLoadVerification =
    "SELECT provider, channel, country, status_rank, first_event_at_ms"
    " FROM verifications WHERE source = ?1 AND verification_id = ?2";

constexpr int kRankFailed = 3;
constexpr int kRankDelivered = 4;
constexpr int kRankVerified = 6;

}  // namespace

Status StatsSql::Error(const char* what) const {
  return Status::Error(std::string("stats ") + what + ": " +
                       sqlite3_errmsg(db_));
}

Result<StatsSql::Row> StatsSql::Load(std::string_view source,
                                     std::string_view id) {
  StmtUse st(cache_.Get(kLoadVerification));
  if (!st.get()) return Error("prepare load");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, id);
  Row row;
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) {
    row.exists = true;
    row.provider = ColumnText(st.get(), 0);
    row.channel = ColumnText(st.get(), 1);
    row.country = ColumnText(st.get(), 2);
    row.rank = sqlite3_column_int(st.get(), 3);
    row.first_at_ms = sqlite3_column_int64(st.get(), 4);
  } else if (rc != SQLITE_DONE) {
    return Error("load");
  }
  return row;
}

template <typename Bind>
Status StatsSql::UpsertRollup(const char* hourly_sql, const char* daily_sql,
                              int64_t at_ms, const char* what, Bind bind) {
  const struct {
    const char* sql;
    int64_t start_ms;
  } kRuns[] = {{hourly_sql, HourFloor(at_ms)}, {daily_sql, DayFloor(at_ms)}};
  for (const auto& run : kRuns) {
    StmtUse st(cache_.Get(run.sql));
    if (!st.get()) return Error(("prepare " + std::string(what)).c_str());
    sqlite3_bind_int64(st.get(), 1, run.start_ms);
    bind(st.get());
    if (sqlite3_step(st.get()) != SQLITE_DONE) return Error(what);
  }
  return Status::Ok();
}

Status StatsSql::AddHourly(int64_t at_ms, std::string_view source,
                           std::string_view provider, std::string_view channel,
                           std::string_view country, const char* column,
                           int64_t n) {
  // One statement per column and table: the column name is a literal
  // chosen here.
  struct Sql {
    const char* hourly;
    const char* daily;
  };
  static const std::map<std::string_view, Sql> kSql = {
#define DLRD_STATS_UPSERT(table, time, c)                                    \
  "INSERT INTO " table "(" time ", source, provider, channel, country, " #c  \
  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET " #c " = " #c \
  " + excluded." #c
#define DLRD_STATS_COLUMN(c)                                   \
  std::pair<const std::string_view, Sql>(                      \
      #c, Sql{DLRD_STATS_UPSERT("stats_hourly", "hour_ms", c), \
              DLRD_STATS_UPSERT("stats_daily", "day_ms", c)})
      DLRD_STATS_COLUMN(callbacks),
      DLRD_STATS_COLUMN(sent),
      DLRD_STATS_COLUMN(delivered),
      DLRD_STATS_COLUMN(failed),
      DLRD_STATS_COLUMN(verified),
      DLRD_STATS_COLUMN(fallback_triggered),
      DLRD_STATS_COLUMN(fallback_recovered),
      DLRD_STATS_COLUMN(fallback_wasted),
      DLRD_STATS_COLUMN(signature_failures),
#undef DLRD_STATS_COLUMN
#undef DLRD_STATS_UPSERT
  };
  auto sql = kSql.find(column);
  if (sql == kSql.end())
    return Status::Error("stats: no column " + std::string(column));
  return UpsertRollup(sql->second.hourly, sql->second.daily, at_ms, "hourly",
                      [&](sqlite3_stmt* st) {
                        BindText(st, 2, source);
                        BindText(st, 3, provider);
                        BindText(st, 4, channel);
                        BindText(st, 5, country);
                        sqlite3_bind_int64(st, 6, n);
                      });
}

Status StatsSql::AddLatency(int64_t at_ms, std::string_view source,
                            std::string_view provider, std::string_view channel,
                            std::string_view country, const char* kind,
                            int step, int64_t latency_ms) {
  return UpsertRollup(
      "INSERT INTO stats_latency(hour_ms, source, provider, channel, country,"
      " kind, step, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)"
      " ON CONFLICT DO UPDATE SET n = n + 1",
      "INSERT INTO stats_latency_daily(day_ms, source, provider, channel,"
      " country, kind, step, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
      " ?8, 1) ON CONFLICT DO UPDATE SET n = n + 1",
      at_ms, "latency", [&](sqlite3_stmt* st) {
        BindText(st, 2, source);
        BindText(st, 3, provider);
        BindText(st, 4, channel);
        BindText(st, 5, country);
        BindText(st, 6, kind);
        sqlite3_bind_int(st, 7, step);
        sqlite3_bind_int(st, 8, LatencyBucket(latency_ms));
      });
}

Status StatsSql::MoveOutcome(std::string_view source, const Row& before,
                             const Row& after) {
  struct Part {
    const char* column;
    bool (*in)(int rank);
  };
  static constexpr Part kParts[] = {
      {"sent", [](int) { return true; }},
      {"delivered", [](int r) { return r >= kRankDelivered; }},
      {"failed", [](int r) { return r == kRankFailed; }},
      {"verified", [](int r) { return r == kRankVerified; }},
  };
  const bool same_group = before.exists && before.channel == after.channel &&
                          before.country == after.country;
  for (const Part& p : kParts) {
    const bool was = before.exists && p.in(before.rank);
    const bool is = p.in(after.rank);
    if (same_group && was == is) continue;
    if (was) {
      Status s = AddHourly(before.first_at_ms, source, before.provider,
                           before.channel, before.country, p.column, -1);
      if (!s.ok()) return s;
    }
    if (is) {
      Status s = AddHourly(after.first_at_ms, source, after.provider,
                           after.channel, after.country, p.column, 1);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status StatsSql::OnEvent(const DeliveryEvent& e) {
  Result<Row> before = Load(e.source, e.verification_id);
  if (!before.ok()) return before.status();
  {
    StmtUse st(cache_.Get(kUpsertVerification));
    if (!st.get()) return Error("prepare upsert");
    BindText(st.get(), 1, e.source);
    BindText(st.get(), 2, e.verification_id);
    BindText(st.get(), 3, e.provider);
    BindText(st.get(), 4, ToString(e.channel));
    BindText(st.get(), 5, ToString(e.status));
    sqlite3_bind_int(st.get(), 6, StatusRank(e.status));
    BindText(st.get(), 7, e.recipient);
    BindText(st.get(), 8, e.country);
    sqlite3_bind_int64(st.get(), 9, e.received_at_ms);
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
      return Error("upsert verification");
    }
  }
  Result<Row> after = Load(e.source, e.verification_id);
  if (!after.ok()) return after.status();
  if (Status s = MoveOutcome(e.source, before.value(), after.value());
      !s.ok()) {
    return s;
  }
  const std::string channel(ToString(e.channel));
  if (Status s = AddHourly(e.received_at_ms, e.source, e.provider, channel,
                           e.country, "callbacks", 1);
      !s.ok()) {
    return s;
  }
  if (e.latency_ms && e.status == DeliveryStatus::kDelivered) {
    Status s = AddLatency(e.received_at_ms, e.source, e.provider, channel,
                          e.country, "provider", -1, *e.latency_ms);
    if (!s.ok()) return s;
  }
  if (!e.error_code.empty()) {
    Status s = UpsertRollup(
        "INSERT INTO stats_errors(hour_ms, source, provider, channel,"
        " country, error_code, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)"
        " ON CONFLICT DO UPDATE SET n = n + 1",
        "INSERT INTO stats_errors_daily(day_ms, source, provider, channel,"
        " country, error_code, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)"
        " ON CONFLICT DO UPDATE SET n = n + 1",
        e.received_at_ms, "errors", [&](sqlite3_stmt* st) {
          BindText(st, 2, e.source);
          BindText(st, 3, e.provider);
          BindText(st, 4, channel);
          BindText(st, 5, e.country);
          BindText(st, 6, e.error_code);
        });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status StatsSql::OnRegistered(std::string_view source, std::string_view id,
                              std::string_view provider, Channel channel,
                              std::string_view recipient,
                              std::string_view country, int64_t sent_at_ms) {
  StmtUse st(cache_.Get(
      "INSERT OR IGNORE INTO verifications(source, verification_id, provider,"
      " channel, status, status_rank, recipient, country, first_event_at_ms,"
      " updated_at_ms) VALUES (?1, ?2, ?3, ?4, 'unknown', 0, ?5, ?6, ?7, ?7)"));
  if (!st.get()) return Error("prepare register");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, id);
  BindText(st.get(), 3, provider);
  BindText(st.get(), 4, ToString(channel));
  BindText(st.get(), 5, recipient);
  BindText(st.get(), 6, country);
  sqlite3_bind_int64(st.get(), 7, sent_at_ms);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("register");
  if (sqlite3_changes(db_) == 0) return Status::Ok();
  return AddHourly(sent_at_ms, source, provider, ToString(channel), country,
                   "sent", 1);
}

Status StatsSql::AddSignatureFailures(int64_t hour_ms, std::string_view source,
                                      std::string_view provider, int64_t n) {
  return AddHourly(hour_ms, source, provider, "", "", "signature_failures", n);
}

Status StatsSql::OnDecision(std::string_view source, std::string_view root_id,
                            int step, Channel from, bool escalated, bool wasted,
                            int64_t at_ms) {
  if (!escalated && !wasted) return Status::Ok();
  StmtUse st(cache_.Get(
      "SELECT COALESCE((SELECT provider FROM fallback_steps WHERE source = ?1"
      " AND root_id = ?2 AND step = ?3), ''), COALESCE((SELECT country FROM"
      " fallback_roots WHERE source = ?1 AND root_id = ?2), '')"));
  if (!st.get()) return Error("prepare decision");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, root_id);
  sqlite3_bind_int(st.get(), 3, step);
  if (sqlite3_step(st.get()) != SQLITE_ROW) return Error("decision");
  const std::string provider = ColumnText(st.get(), 0);
  const std::string country = ColumnText(st.get(), 1);
  if (escalated) {
    Status s = AddHourly(at_ms, source, provider, ToString(from), country,
                         "fallback_triggered", 1);
    if (!s.ok()) return s;
  }
  if (wasted) {
    Status s = AddHourly(at_ms, source, provider, ToString(from), country,
                         "fallback_wasted", 1);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status StatsSql::OnStepDelivered(std::string_view source,
                                 std::string_view root_id, int step,
                                 int64_t at_ms) {
  StmtUse st(cache_.Get(
      "SELECT s.provider, s.channel,"
      " CASE WHEN s.send_time_known THEN s.sent_at_ms ELSE 0 END,"
      " COALESCE(r.country, ''), (SELECT COUNT(*) FROM fallback_steps o"
      "  WHERE o.source = s.source AND o.root_id = s.root_id"
      "  AND o.step != s.step AND o.status_rank >= 4)"
      " FROM fallback_steps s LEFT JOIN fallback_roots r"
      "  ON r.source = s.source AND r.root_id = s.root_id"
      " WHERE s.source = ?1 AND s.root_id = ?2 AND s.step = ?3"));
  if (!st.get()) return Error("prepare step");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, root_id);
  sqlite3_bind_int(st.get(), 3, step);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return Status::Ok();
  if (rc != SQLITE_ROW) return Error("step");
  const std::string provider = ColumnText(st.get(), 0);
  const std::string channel = ColumnText(st.get(), 1);
  const int64_t sent_at = sqlite3_column_int64(st.get(), 2);
  const std::string country = ColumnText(st.get(), 3);
  const int64_t others_delivered = sqlite3_column_int64(st.get(), 4);
  if (sent_at > 0 && at_ms >= sent_at) {
    Status s = AddLatency(at_ms, source, provider, channel, country, "derived",
                          step, at_ms - sent_at);
    if (!s.ok()) return s;
  }
  if (step > 0 && others_delivered == 0) {
    Status s = AddHourly(at_ms, source, provider, channel, country,
                         "fallback_recovered", 1);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace dlrd
