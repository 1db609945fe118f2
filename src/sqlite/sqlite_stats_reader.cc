#include "dlrd/sqlite/sqlite_stats_reader.h"

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/stats/rollup_read.h"
#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

using Key = StatsKey;  // hour (-1), dims

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

// Reads the rows of `table` in `span` and hands each, with the figures of
// its group (and hour when `hourly`, which needs an hourly span) in `*out`
// and the index of its first value column, to `row`, which adds them up.
// No GROUP BY: SQLite would sort every row first, most of a long window's
// time, while here they come in primary-key order, so a group's rows are
// mostly adjacent and `*out` is looked up only when the group changes.
template <typename RowFn>
Status ForEachRow(sqlite3* db, const std::vector<StatsDim>& by, bool hourly,
                  const StatsSpan& span, const char* values,
                  const RollupTables& table, const char* what,
                  std::map<Key, Figures>* out, RowFn row) {
  const size_t n = by.size();
  const std::string time = span.daily ? "day_ms" : "hour_ms";
  Prepared st(db, "SELECT " + StatsKeyColumns(by, hourly) + ", " + values +
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
               const StatsSpan& span, std::map<Key, Figures>* out) {
  static const std::string kCounts = CountColumns();
  Status s = ForEachRow(
      db, by, hourly, span, kCounts.c_str(), kCountTables, "hourly", out,
      [](sqlite3_stmt* st, Figures& f, int c) {
        for (int i = 0; i < kHourlyColumns; ++i) {
          CountField(f, static_cast<HourlyColumn>(i)) +=
              sqlite3_column_int64(st, c + i);
        }
      });
  if (!s.ok()) return s;
  s = ForEachRow(db, by, hourly, span, "kind, step, bucket, n", kLatencyTables,
                 "latency", out, [](sqlite3_stmt* st, Figures& f, int c) {
                   AddLatency(f, ColumnView(st, c),
                              sqlite3_column_int(st, c + 1),
                              sqlite3_column_int(st, c + 2),
                              sqlite3_column_int64(st, c + 3));
                 });
  if (!s.ok()) return s;
  return ForEachRow(db, by, hourly, span, "error_code, n", kErrorTables,
                    "errors", out, [](sqlite3_stmt* st, Figures& f, int c) {
                      AddError(f, ColumnView(st, c),
                               sqlite3_column_int64(st, c + 1));
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
  // One read transaction, so the three tables agree with each other.
  sqlite3_exec(db_.get(), "BEGIN", nullptr, nullptr, nullptr);
  StatsGroups groups;
  Status s = Status::Ok();
  for (const StatsSpan& span : StatsSpans(q.from_ms, q.to_ms, daily_)) {
    s = Collect(db_.get(), q.by, /*hourly=*/false, span, &groups);
    if (!s.ok()) break;
  }
  StatsGroups series;
  if (s.ok() && q.hourly) {
    s = Collect(db_.get(), q.by, /*hourly=*/true,
                StatsSpan{false, q.from_ms, q.to_ms}, &series);
  }
  sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr);
  if (!s.ok()) return s;
  return AssembleReport(q, std::move(groups), std::move(series));
}

}  // namespace dlrd
