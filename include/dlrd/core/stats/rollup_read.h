// RollupRead: the store-independent half of answering a StatsQuery from
// the analytics rollups, shared by every StatsSource that reads them (the
// SQLite StatsReader, the PostgreSQL PgStatsReader). Pure: no I/O.
//
// A store reader does only the I/O: for each span of the window
// (StatsSpans) it selects the key columns (StatsKeyColumns) and the value
// columns of the three rollup tables and hands every row to AddCounts /
// AddLatency / AddError on the Figures of the row's key; AssembleReport
// then turns the keyed figures into the report. So both stores read the
// same spans, add the same rows the same way and drop the same empty
// groups: equal rollups give equal reports.
//
// The spans: a window's whole UTC days come from the daily tables and the
// hours at either end from the hourly ones. Each daily table equals its
// hourly twin summed by UTC day, so the sums are exactly those of the
// hourly tables alone, from far fewer rows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/stats/rollup_delta.h"
#include "dlrd/core/stats/stats.h"

namespace dlrd {

// A rollup table and its daily twin (same key columns after the time
// column: hour_ms in the hourly table, day_ms in the daily one).
struct RollupTables {
  const char* hourly;
  const char* daily;
};
inline constexpr RollupTables kCountTables = {"stats_hourly", "stats_daily"};
inline constexpr RollupTables kLatencyTables = {"stats_latency",
                                                "stats_latency_daily"};
inline constexpr RollupTables kErrorTables = {"stats_errors",
                                              "stats_errors_daily"};

// Part of a window, read from the hourly or the daily tables: [from_ms,
// to_ms), whole UTC days when `daily`.
struct StatsSpan {
  bool daily;
  int64_t from_ms;
  int64_t to_ms;
};

// The spans that make up [from_ms, to_ms): the whole UTC days inside it
// from the daily tables, the hours before the first and after the last
// from the hourly ones. Together they cover every hour of the window once.
// Without `daily`, or without a whole day, one hourly span.
std::vector<StatsSpan> StatsSpans(int64_t from_ms, int64_t to_ms, bool daily);

// A group's key: its hour (-1 outside the hourly series) and one value per
// `by` dimension, in order.
using StatsKey = std::pair<int64_t, std::vector<std::string>>;
using StatsGroups = std::map<StatsKey, Figures>;

// The key columns to select, in StatsKey order: "hour_ms" (or "-1" when
// not `hourly`), then one column per dimension ("-1, channel, country").
std::string StatsKeyColumns(const std::vector<StatsDim>& by, bool hourly);

// The value columns of the counts tables, in HourlyColumn order
// ("callbacks, sent, ..., signature_failures").
std::string CountColumns();
// The Figures field that counts column `c`.
int64_t& CountField(Figures& f, HourlyColumn c);

// A row of the latency or errors tables, added to the figures of its
// group (a counts row adds each column to its CountField). Latency: rows with a bucket outside the histogram are ignored; kind
// "provider" goes to provider_latency, any other to derived_latency and
// step_latency[step].
void AddLatency(Figures& f, std::string_view kind, int step, int bucket,
                int64_t n);
void AddError(Figures& f, std::string_view error_code, int64_t n);

// Whether the figures count nothing at all (a group every verification of
// which moved elsewhere): such groups are left out of the report.
bool IsEmptyFigures(const Figures& f);

// The report: `groups` (keyed with hour -1) become the sorted groups and
// the total, `series` (keyed by hour) the series; empty figures are
// dropped; without dimensions the one group is there even when empty.
StatsReport AssembleReport(const StatsQuery& q, StatsGroups groups,
                           StatsGroups series);

}  // namespace dlrd
