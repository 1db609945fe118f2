#include "store/sqlite_stats_reader.h"

#include <sqlite3.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite_fallback.h"  // ColumnText

namespace dlrd {
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
