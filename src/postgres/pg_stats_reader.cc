#include "postgres/pg_stats_reader.h"

#include <string>
#include <vector>

#include "dlrd/postgres/pg_stats_reader.h"
#include "postgres/pg_schema.h"

namespace dlrd {
namespace {

// "SUM(callbacks), SUM(sent), ...", in HourlyColumn order.
std::string CountSums() {
  std::string cols;
  for (int i = 0; i < kHourlyColumns; ++i) {
    if (i > 0) cols += ", ";
    cols += std::string("SUM(") + ColumnName(static_cast<HourlyColumn>(i)) +
            ")";
  }
  return cols;
}

// SELECT <key columns>, <extra>, <values> FROM the span's table, summed by
// key and `extra`. Without any GROUP BY column (no dimension, no series,
// no extra) the HAVING keeps an empty span from yielding a row of NULLs.
std::string SpanSql(const std::vector<StatsDim>& by, bool hourly,
                    const StatsSpan& span, const RollupTables& table,
                    const std::string& extra, const std::string& values) {
  std::vector<std::string> group;
  if (hourly) group.push_back("hour_ms");
  for (StatsDim d : by) group.push_back(ToString(d));
  if (!extra.empty()) group.push_back(extra);
  const char* time = span.daily ? "day_ms" : "hour_ms";
  std::string sql = "SELECT " + StatsKeyColumns(by, hourly) + ", " +
                    (extra.empty() ? "" : extra + ", ") + values + " FROM " +
                    (span.daily ? table.daily : table.hourly) + " WHERE " +
                    time + " >= $1 AND " + time + " < $2";
  if (group.empty()) return sql + " HAVING count(*) > 0";
  sql += " GROUP BY ";
  for (size_t i = 0; i < group.size(); ++i) {
    sql += (i ? ", " : "") + group[i];
  }
  return sql;
}

Status Named(const Status& s, const std::string& what) {
  return Status::Error(s.code(), "stats " + what + ": " + s.message());
}

}  // namespace

Result<std::unique_ptr<PgStatsReader>> PgStatsReader::Open(
    const PgTarget& target, bool use_daily) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  if (Status s = PgRequireSchema(conn.value()); !s.ok()) return s;
  // Every PostgreSQL schema has the daily tables (0001_init.sql).
  return std::unique_ptr<PgStatsReader>(
      new PgStatsReader(target, std::move(conn).value(), use_daily));
}

Status PgStatsReader::Reconnect() {
  Result<PgConn> conn =
      PgConn::Connect(target_.uri, target_.password, target_.application_name);
  if (!conn.ok()) {
    // Whatever the reason, the server is not answering queries now.
    return Status::Error(StatusCode::kUnavailable,
                         "stats: reconnect: " + conn.status().message());
  }
  conn_ = std::move(conn).value();
  return Status::Ok();
}

Result<StatsReport> PgStatsReader::Query(const StatsQuery& q) {
  Result<StatsReport> r = QueryOnce(q);
  if (r.ok() || r.status().code() != StatusCode::kUnavailable) return r;
  // The connection was lost (or the server restarted): once more on a new
  // one. A second failure is the answer; the next Query tries again.
  if (Status s = Reconnect(); !s.ok()) return s;
  return QueryOnce(q);
}

Result<StatsReport> PgStatsReader::QueryOnce(const StatsQuery& q) {
  // One snapshot for every table and span.
  if (Result<PgResult> b =
          conn_.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      !b.ok()) {
    return Named(b.status(), "begin");
  }
  StatsGroups groups;
  Status s = Status::Ok();
  for (const StatsSpan& span : StatsSpans(q.from_ms, q.to_ms, daily_)) {
    s = Collect(q, /*hourly=*/false, span, &groups);
    if (!s.ok()) break;
  }
  StatsGroups series;
  if (s.ok() && q.hourly) {
    s = Collect(q, /*hourly=*/true, StatsSpan{false, q.from_ms, q.to_ms},
                &series);
  }
  if (s.ok()) {
    if (Result<PgResult> c = conn_.Exec("COMMIT"); !c.ok()) {
      s = Named(c.status(), "commit");
    }
  }
  if (!s.ok()) {
    // Leave the connection usable for the next query (a no-op error when
    // the connection is gone).
    if (conn_.connected()) (void)conn_.Exec("ROLLBACK");
    return s;
  }
  return AssembleReport(q, std::move(groups), std::move(series));
}

Status PgStatsReader::Collect(const StatsQuery& q, bool hourly,
                              const StatsSpan& span, StatsGroups* out) {
  static const std::string kCountSums = CountSums();
  const std::vector<PgParam> params = {span.from_ms, span.to_ms};
  const int n = static_cast<int>(q.by.size());
  const int c = n + 1;  // the first column after the key
  // Each row's group, from the key columns (hour or -1, then the dims).
  const auto figures = [&](const PgResult& r, int row) -> Figures& {
    StatsKey key;
    key.first = r.Int(row, 0);
    key.second.reserve(static_cast<size_t>(n));
    for (int i = 1; i <= n; ++i) key.second.emplace_back(r.Text(row, i));
    return (*out)[key];
  };

  Result<PgResult> counts = conn_.Exec(
      SpanSql(q.by, hourly, span, kCountTables, "", kCountSums), params);
  if (!counts.ok()) return Named(counts.status(), "hourly");
  const PgResult& cr = counts.value();
  for (int row = 0; row < cr.rows(); ++row) {
    Figures& f = figures(cr, row);
    for (int i = 0; i < kHourlyColumns; ++i) {
      CountField(f, static_cast<HourlyColumn>(i)) += cr.Int(row, c + i);
    }
  }

  Result<PgResult> latency =
      conn_.Exec(SpanSql(q.by, hourly, span, kLatencyTables,
                         "kind, step, bucket", "SUM(n)"),
                 params);
  if (!latency.ok()) return Named(latency.status(), "latency");
  const PgResult& lr = latency.value();
  for (int row = 0; row < lr.rows(); ++row) {
    AddLatency(figures(lr, row), lr.Text(row, c),
               static_cast<int>(lr.Int(row, c + 1)),
               static_cast<int>(lr.Int(row, c + 2)), lr.Int(row, c + 3));
  }

  Result<PgResult> errors = conn_.Exec(
      SpanSql(q.by, hourly, span, kErrorTables, "error_code", "SUM(n)"),
      params);
  if (!errors.ok()) return Named(errors.status(), "errors");
  const PgResult& er = errors.value();
  for (int row = 0; row < er.rows(); ++row) {
    AddError(figures(er, row), er.Text(row, c), er.Int(row, c + 1));
  }
  return Status::Ok();
}

Result<std::unique_ptr<StatsSource>> OpenPgStatsReader(const PgTarget& target,
                                                       bool use_daily) {
  Result<std::unique_ptr<PgStatsReader>> r =
      PgStatsReader::Open(target, use_daily);
  if (!r.ok()) return r.status();
  return std::unique_ptr<StatsSource>(std::move(r).value());
}

}  // namespace dlrd
