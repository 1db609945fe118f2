#include "store/sqlite_stats.h"

#include <map>
#include <utility>
#include <vector>

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

Status StatsSql::AddHourly(int64_t at_ms, std::string_view source,
                           std::string_view provider, std::string_view channel,
                           std::string_view country, const char* column,
                           int64_t n) {
  // One statement per column: the column name is a literal chosen here.
  static const std::map<std::string_view, const char*> kSql = {
#define DLRD_STATS_COLUMN(c)                                                   \
  {#c,                                                                         \
   "INSERT INTO stats_hourly(hour_ms, source, provider, channel, country, " #c \
   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET " #c " = " #c  \
   " + excluded." #c}
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
  };
  auto sql = kSql.find(column);
  if (sql == kSql.end())
    return Status::Error("stats: no column " + std::string(column));
  StmtUse st(cache_.Get(sql->second));
  if (!st.get()) return Error("prepare hourly");
  sqlite3_bind_int64(st.get(), 1, HourFloor(at_ms));
  BindText(st.get(), 2, source);
  BindText(st.get(), 3, provider);
  BindText(st.get(), 4, channel);
  BindText(st.get(), 5, country);
  sqlite3_bind_int64(st.get(), 6, n);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("hourly");
  return Status::Ok();
}

Status StatsSql::AddLatency(int64_t at_ms, std::string_view source,
                            std::string_view provider, std::string_view channel,
                            std::string_view country, const char* kind,
                            int step, int64_t latency_ms) {
  StmtUse st(cache_.Get(
      "INSERT INTO stats_latency(hour_ms, source, provider, channel, country,"
      " kind, step, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)"
      " ON CONFLICT DO UPDATE SET n = n + 1"));
  if (!st.get()) return Error("prepare latency");
  sqlite3_bind_int64(st.get(), 1, HourFloor(at_ms));
  BindText(st.get(), 2, source);
  BindText(st.get(), 3, provider);
  BindText(st.get(), 4, channel);
  BindText(st.get(), 5, country);
  BindText(st.get(), 6, kind);
  sqlite3_bind_int(st.get(), 7, step);
  sqlite3_bind_int(st.get(), 8, LatencyBucket(latency_ms));
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("latency");
  return Status::Ok();
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
    StmtUse st(cache_.Get(
        "INSERT INTO stats_errors(hour_ms, source, provider, channel,"
        " country, error_code, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)"
        " ON CONFLICT DO UPDATE SET n = n + 1"));
    if (!st.get()) return Error("prepare errors");
    sqlite3_bind_int64(st.get(), 1, HourFloor(e.received_at_ms));
    BindText(st.get(), 2, e.source);
    BindText(st.get(), 3, e.provider);
    BindText(st.get(), 4, channel);
    BindText(st.get(), 5, e.country);
    BindText(st.get(), 6, e.error_code);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("errors");
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

// ---------------------------------------------------------------- reader

namespace {

using Key = std::pair<int64_t, std::vector<std::string>>;  // hour (-1), dims

std::string DimColumns(const std::vector<StatsDim>& by, bool hourly) {
  std::string cols = hourly ? "hour_ms" : "-1";
  for (StatsDim d : by) cols += std::string(", ") + ToString(d);
  return cols;
}

std::string GroupBy(const std::vector<StatsDim>& by, bool hourly,
                    const char* extra) {
  std::string g;
  if (hourly) g = "hour_ms";
  for (StatsDim d : by) g += (g.empty() ? "" : ", ") + std::string(ToString(d));
  if (extra[0] != '\0') g += (g.empty() ? "" : ", ") + std::string(extra);
  return g.empty() ? "" : " GROUP BY " + g;
}

bool IsEmpty(const Figures& f) {
  if (f.callbacks || f.sent || f.delivered || f.failed || f.verified ||
      f.fallback_triggered || f.fallback_recovered || f.fallback_wasted ||
      f.signature_failures) {
    return false;
  }
  for (int64_t c : f.provider_latency) {
    if (c) return false;
  }
  return f.step_latency.empty() && f.errors.empty();
}

Key ReadKey(sqlite3_stmt* s, size_t dims) {
  Key k;
  k.first = sqlite3_column_int64(s, 0);
  for (size_t i = 0; i < dims; ++i) {
    k.second.push_back(ColumnText(s, static_cast<int>(i + 1)));
  }
  return k;
}

class Prepared {
 public:
  Prepared(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* p = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &p, nullptr) == SQLITE_OK) {
      stmt_.reset(p);
    }
  }
  sqlite3_stmt* get() const { return stmt_.get(); }

 private:
  SqliteStmt stmt_;
};

// Runs one grouped SELECT over the window and hands each non-empty row,
// with its key and the index of its first value column, to `row`.
template <typename RowFn>
Status ForEachRow(sqlite3* db, const StatsQuery& q, bool hourly,
                  const std::string& values, const char* table,
                  const char* extra_group, const char* what, RowFn row) {
  const size_t n = q.by.size();
  Prepared st(db, "SELECT " + DimColumns(q.by, hourly) + ", " + values +
                      " FROM " + table +
                      " WHERE hour_ms >= ?1 AND hour_ms < ?2" +
                      GroupBy(q.by, hourly, extra_group));
  const auto fail = [&](const char* step) {
    return Status::Error(std::string("stats ") + what + " " + step + ": " +
                         sqlite3_errmsg(db));
  };
  if (!st.get()) return fail("prepare");
  sqlite3_bind_int64(st.get(), 1, q.from_ms);
  sqlite3_bind_int64(st.get(), 2, q.to_ms);
  const int c = static_cast<int>(n) + 1;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    // A GROUP BY-less aggregate over no rows gives one row of NULLs.
    if (sqlite3_column_type(st.get(), c) == SQLITE_NULL) continue;
    row(st.get(), ReadKey(st.get(), n), c);
  }
  if (rc != SQLITE_DONE) return fail("step");
  return Status::Ok();
}

Status Collect(sqlite3* db, const StatsQuery& q, bool hourly,
               std::map<Key, Figures>* out) {
  Status s = ForEachRow(
      db, q, hourly,
      "SUM(callbacks), SUM(sent), SUM(delivered), SUM(failed), SUM(verified),"
      " SUM(fallback_triggered), SUM(fallback_recovered),"
      " SUM(fallback_wasted), SUM(signature_failures)",
      "stats_hourly", "", "hourly", [&](sqlite3_stmt* st, Key key, int c) {
        Figures& f = (*out)[std::move(key)];
        int64_t* const fields[] = {&f.callbacks,          &f.sent,
                                   &f.delivered,          &f.failed,
                                   &f.verified,           &f.fallback_triggered,
                                   &f.fallback_recovered, &f.fallback_wasted,
                                   &f.signature_failures};
        for (int64_t* field : fields) *field += sqlite3_column_int64(st, c++);
      });
  if (!s.ok()) return s;
  s = ForEachRow(
      db, q, hourly, "kind, step, bucket, SUM(n)", "stats_latency",
      "kind, step, bucket", "latency", [&](sqlite3_stmt* st, Key key, int c) {
        const int bucket = sqlite3_column_int(st, c + 2);
        if (bucket < 0 || bucket >= kLatencyBuckets) return;
        Figures& f = (*out)[std::move(key)];
        const int64_t count = sqlite3_column_int64(st, c + 3);
        if (ColumnText(st, c) == "provider") {
          f.provider_latency[bucket] += count;
        } else {
          f.derived_latency[bucket] += count;
          f.step_latency[sqlite3_column_int(st, c + 1)][bucket] += count;
        }
      });
  if (!s.ok()) return s;
  return ForEachRow(db, q, hourly, "error_code, SUM(n)", "stats_errors",
                    "error_code", "errors",
                    [&](sqlite3_stmt* st, Key key, int c) {
                      (*out)[std::move(key)].errors[ColumnText(st, c)] +=
                          sqlite3_column_int64(st, c + 1);
                    });
}

}  // namespace

Result<std::unique_ptr<StatsReader>> StatsReader::Open(
    const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    return Status::Error("open " + path + ": " +
                         (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_stmt* p = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &p, nullptr) ==
      SQLITE_OK) {
    if (sqlite3_step(p) == SQLITE_ROW) version = sqlite3_column_int(p, 0);
  }
  sqlite3_finalize(p);
  if (version < 0) {
    return Status::Error("open " + path + ": " + sqlite3_errmsg(raw));
  }
  if (version < 3) {
    return Status::Error(path + ": schema version " + std::to_string(version) +
                         " has no analytics; start dlrd serve once to "
                         "migrate it");
  }
  return std::unique_ptr<StatsReader>(new StatsReader(std::move(db)));
}

Result<StatsReport> StatsReader::Query(const StatsQuery& q) {
  StatsReport report;
  report.query = q;
  // One read transaction, so the three tables agree with each other.
  sqlite3_exec(db_.get(), "BEGIN", nullptr, nullptr, nullptr);
  std::map<Key, Figures> groups;
  Status s = Collect(db_.get(), q, /*hourly=*/false, &groups);
  std::map<Key, Figures> series;
  if (s.ok() && q.hourly) s = Collect(db_.get(), q, /*hourly=*/true, &series);
  sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr);
  if (!s.ok()) return s;
  for (auto& [key, f] : groups) {
    if (IsEmpty(f)) continue;  // e.g. every verification moved elsewhere
    report.total.Add(f);
    report.groups.push_back(StatsRow{key.second, std::nullopt, std::move(f)});
  }
  if (q.by.empty() && report.groups.empty()) {
    report.groups.push_back(StatsRow{});
  }
  for (auto& [key, f] : series) {
    if (IsEmpty(f)) continue;
    report.series.push_back(StatsRow{key.second, key.first, std::move(f)});
  }
  return report;
}

}  // namespace dlrd
