#include "dlrd/core/stats/rollup_read.h"

namespace dlrd {

std::vector<StatsSpan> StatsSpans(int64_t from_ms, int64_t to_ms,
                                  bool daily) {
  const int64_t first_day = DayCeil(from_ms);
  const int64_t end_day = DayFloor(to_ms);
  if (!daily || first_day >= end_day) return {{false, from_ms, to_ms}};
  std::vector<StatsSpan> spans;
  if (from_ms < first_day) spans.push_back({false, from_ms, first_day});
  spans.push_back({true, first_day, end_day});
  if (end_day < to_ms) spans.push_back({false, end_day, to_ms});
  return spans;
}

std::string StatsKeyColumns(const std::vector<StatsDim>& by, bool hourly) {
  std::string cols = hourly ? "hour_ms" : "-1";
  for (StatsDim d : by) cols += std::string(", ") + ToString(d);
  return cols;
}

std::string CountColumns() {
  std::string cols;
  for (int i = 0; i < kHourlyColumns; ++i) {
    if (i > 0) cols += ", ";
    cols += ColumnName(static_cast<HourlyColumn>(i));
  }
  return cols;
}

int64_t& CountField(Figures& f, HourlyColumn c) {
  switch (c) {
    case HourlyColumn::kCallbacks:
      return f.callbacks;
    case HourlyColumn::kSent:
      return f.sent;
    case HourlyColumn::kDelivered:
      return f.delivered;
    case HourlyColumn::kFailed:
      return f.failed;
    case HourlyColumn::kVerified:
      return f.verified;
    case HourlyColumn::kFallbackTriggered:
      return f.fallback_triggered;
    case HourlyColumn::kFallbackRecovered:
      return f.fallback_recovered;
    case HourlyColumn::kFallbackWasted:
      return f.fallback_wasted;
    case HourlyColumn::kSignatureFailures:
      return f.signature_failures;
  }
  return f.callbacks;  // unreachable: every column is handled above
}

void AddLatency(Figures& f, std::string_view kind, int step, int bucket,
                int64_t n) {
  if (bucket < 0 || bucket >= kLatencyBuckets) return;
  if (kind == "provider") {
    f.provider_latency[bucket] += n;
  } else {
    f.derived_latency[bucket] += n;
    f.step_latency[step][bucket] += n;
  }
}

void AddError(Figures& f, std::string_view error_code, int64_t n) {
  f.errors[std::string(error_code)] += n;
}

bool IsEmptyFigures(const Figures& f) {
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

StatsReport AssembleReport(const StatsQuery& q, StatsGroups groups,
                           StatsGroups series) {
  StatsReport report;
  report.query = q;
  for (auto& [key, f] : groups) {
    if (IsEmptyFigures(f)) continue;  // e.g. every verification moved
    report.total.Add(f);
    report.groups.push_back(StatsRow{key.second, std::nullopt, std::move(f)});
  }
  if (q.by.empty() && report.groups.empty()) {
    report.groups.push_back(StatsRow{});
  }
  for (auto& [key, f] : series) {
    if (IsEmptyFigures(f)) continue;
    report.series.push_back(StatsRow{key.second, key.first, std::move(f)});
  }
  return report;
}

}  // namespace dlrd
