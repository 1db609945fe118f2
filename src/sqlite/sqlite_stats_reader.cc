#include "dlrd/sqlite/sqlite_stats_reader.h"

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

using Key = std::pair<int64_t, std::vector<std::string>>;  // hour (-1), dims

std::string DimColumns(const std::vector<StatsDim>& by, bool hourly) {
  std::string cols = hourly ? "hour_ms" : "-1";
  for (StatsDim d : by) cols += std::string(", ") + ToString(d);
  return cols;
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

// Column `i` as a view of its bytes ("" for NULL), valid until the next
// step.
std::string_view ColumnView(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  if (t == nullptr) return std::string_view();
  return std::string_view(reinterpret_cast<const char*>(t),
                          static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

// Whether the row's key columns (see ReadKey) hold `k`.
bool HasKey(sqlite3_stmt* s, const Key& k) {
  if (sqlite3_column_int64(s, 0) != k.first) return false;
  for (size_t i = 0; i < k.second.size(); ++i) {
    if (ColumnView(s, static_cast<int>(i + 1)) != k.second[i]) return false;
  }
  return true;
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

// A rollup table and its daily twin (schema/0006_stats_daily.sql).
struct Rollup {
  const char* hourly;
  const char* daily;
};
constexpr Rollup kCounts = {"stats_hourly", "stats_daily"};
constexpr Rollup kLatency = {"stats_latency", "stats_latency_daily"};
constexpr Rollup kErrors = {"stats_errors", "stats_errors_daily"};

// Part of a window, read from the hourly or the daily tables: [from_ms,
// to_ms), whole days when `daily`.
struct Span {
  bool daily;
  int64_t from_ms;
  int64_t to_ms;
};

// The spans that make up [from_ms, to_ms): the whole UTC days inside it
// from the daily tables, the hours before the first and after the last
// from the hourly ones. Together they cover every hour of the window once,
// so the sums equal those over the hourly tables alone. Without daily
// tables, or without a whole day, one hourly span.
std::vector<Span> Spans(int64_t from_ms, int64_t to_ms, bool daily) {
  const int64_t first_day = DayCeil(from_ms);
  const int64_t end_day = DayFloor(to_ms);
  if (!daily || first_day >= end_day) return {{false, from_ms, to_ms}};
  std::vector<Span> spans;
  if (from_ms < first_day) spans.push_back({false, from_ms, first_day});
  spans.push_back({true, first_day, end_day});
  if (end_day < to_ms) spans.push_back({false, end_day, to_ms});
  return spans;
}

// Reads the rows of `table` in `span` and hands each, with the figures of
// its group (and hour when `hourly`, which needs an hourly span) in `*out`
// and the index of its first value column, to `row`, which adds them up.
// No GROUP BY: SQLite would sort every row first, most of a long window's
// time, while here they come in primary-key order, so a group's rows are
// mostly adjacent and `*out` is looked up only when the group changes.
template <typename RowFn>
Status ForEachRow(sqlite3* db, const std::vector<StatsDim>& by, bool hourly,
                  const Span& span, const char* values, const Rollup& table,
                  const char* what, std::map<Key, Figures>* out, RowFn row) {
  const size_t n = by.size();
  const std::string time = span.daily ? "day_ms" : "hour_ms";
  Prepared st(db, "SELECT " + DimColumns(by, hourly) + ", " + values +
                      " FROM " + (span.daily ? table.daily : table.hourly) +
                      " WHERE " + time + " >= ?1 AND " + time + " < ?2");
  const auto fail = [&](const char* step) {
    return SqliteError(db, std::string("stats ") + what + " " + step);
  };
  if (!st.get()) return fail("prepare");
  sqlite3_bind_int64(st.get(), 1, span.from_ms);
  sqlite3_bind_int64(st.get(), 2, span.to_ms);
  const int c = static_cast<int>(n) + 1;
  Key key;
  Figures* figures = nullptr;  // (*out)[key]
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (figures == nullptr || !HasKey(st.get(), key)) {
      key = ReadKey(st.get(), n);
      figures = &(*out)[key];
    }
    row(st.get(), *figures, c);
  }
  if (rc != SQLITE_DONE) return fail("step");
  return Status::Ok();
}

// Adds the figures of `span` to `*out`, by group (and hour when `hourly`).
Status Collect(sqlite3* db, const std::vector<StatsDim>& by, bool hourly,
               const Span& span, std::map<Key, Figures>* out) {
  Status s = ForEachRow(
      db, by, hourly, span,
      "callbacks, sent, delivered, failed, verified, fallback_triggered,"
      " fallback_recovered, fallback_wasted, signature_failures",
      kCounts, "hourly", out, [](sqlite3_stmt* st, Figures& f, int c) {
        int64_t* const fields[] = {&f.callbacks,          &f.sent,
                                   &f.delivered,          &f.failed,
                                   &f.verified,           &f.fallback_triggered,
                                   &f.fallback_recovered, &f.fallback_wasted,
                                   &f.signature_failures};
        for (int64_t* field : fields) *field += sqlite3_column_int64(st, c++);
      });
  if (!s.ok()) return s;
  s = ForEachRow(db, by, hourly, span, "kind, step, bucket, n", kLatency,
                 "latency", out, [](sqlite3_stmt* st, Figures& f, int c) {
                   const int bucket = sqlite3_column_int(st, c + 2);
                   if (bucket < 0 || bucket >= kLatencyBuckets) return;
                   const int64_t count = sqlite3_column_int64(st, c + 3);
                   if (ColumnView(st, c) == "provider") {
                     f.provider_latency[bucket] += count;
                   } else {
                     f.derived_latency[bucket] += count;
                     f.step_latency[sqlite3_column_int(st, c + 1)][bucket] +=
                         count;
                   }
                 });
  if (!s.ok()) return s;
  return ForEachRow(db, by, hourly, span, "error_code, n", kErrors, "errors",
                    out, [](sqlite3_stmt* st, Figures& f, int c) {
                      f.errors[ColumnText(st, c)] +=
                          sqlite3_column_int64(st, c + 1);
                    });
}

}  // namespace

Result<std::unique_ptr<StatsReader>> StatsReader::Open(const std::string& path,
                                                       bool use_daily) {
  Result<SqliteDb> opened =
      OpenSqlite(path, SqliteRole::kStatsReader, /*busy_timeout_ms=*/5000);
  if (!opened.ok()) return opened.status();
  SqliteDb db = std::move(opened).value();
  sqlite3* raw = db.get();
  int version = -1;
  if (SqliteStmt p = SqlitePrepare(raw, "PRAGMA user_version")) {
    if (sqlite3_step(p.get()) == SQLITE_ROW) version = ColumnInt(p.get(), 0);
  }
  if (version < 0) {
    return Status::Error("open " + path + ": " + sqlite3_errmsg(raw));
  }
  if (version < 3) {
    return Status::Error(path + ": schema version " + std::to_string(version) +
                         " has no analytics; start dlrd serve once to "
                         "migrate it");
  }
  return std::unique_ptr<StatsReader>(
      new StatsReader(std::move(db), use_daily && version >= 6));
}

Result<StatsReport> StatsReader::Query(const StatsQuery& q) {
  StatsReport report;
  report.query = q;
  // One read transaction, so the three tables agree with each other.
  sqlite3_exec(db_.get(), "BEGIN", nullptr, nullptr, nullptr);
  std::map<Key, Figures> groups;
  Status s = Status::Ok();
  for (const Span& span : Spans(q.from_ms, q.to_ms, daily_)) {
    s = Collect(db_.get(), q.by, /*hourly=*/false, span, &groups);
    if (!s.ok()) break;
  }
  std::map<Key, Figures> series;
  if (s.ok() && q.hourly) {
    s = Collect(db_.get(), q.by, /*hourly=*/true,
                Span{false, q.from_ms, q.to_ms}, &series);
  }
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
