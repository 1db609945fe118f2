#include "dlrd/core/stats/rollup_delta.h"

#include "dlrd/core/stats/stats.h"

namespace dlrd {
namespace {

RollupGroup Group(int64_t at_ms, std::string_view source,
                  std::string_view provider, std::string_view channel,
                  std::string_view country) {
  return RollupGroup{HourFloor(at_ms), std::string(source),
                     std::string(provider), std::string(channel),
                     std::string(country)};
}

}  // namespace

const char* ColumnName(HourlyColumn c) {
  switch (c) {
    case HourlyColumn::kCallbacks:
      return "callbacks";
    case HourlyColumn::kSent:
      return "sent";
    case HourlyColumn::kDelivered:
      return "delivered";
    case HourlyColumn::kFailed:
      return "failed";
    case HourlyColumn::kVerified:
      return "verified";
    case HourlyColumn::kFallbackTriggered:
      return "fallback_triggered";
    case HourlyColumn::kFallbackRecovered:
      return "fallback_recovered";
    case HourlyColumn::kFallbackWasted:
      return "fallback_wasted";
    case HourlyColumn::kSignatureFailures:
      return "signature_failures";
  }
  return "?";
}

void RollupDelta::AddHourly(int64_t at_ms, std::string_view source,
                            std::string_view provider, std::string_view channel,
                            std::string_view country, HourlyColumn column,
                            int64_t n) {
  HourlyCounts& counts =
      hourly_
          .try_emplace(Group(at_ms, source, provider, channel, country),
                       HourlyCounts{})
          .first->second;
  counts[static_cast<int>(column)] += n;
}

void RollupDelta::AddLatency(int64_t at_ms, std::string_view source,
                             std::string_view provider,
                             std::string_view channel, std::string_view country,
                             std::string_view kind, int step,
                             int64_t latency_ms) {
  latency_[LatencyKey{Group(at_ms, source, provider, channel, country),
                      std::string(kind), step, LatencyBucket(latency_ms)}] += 1;
}

void RollupDelta::AddError(int64_t at_ms, std::string_view source,
                           std::string_view provider, std::string_view channel,
                           std::string_view country,
                           std::string_view error_code) {
  errors_[ErrorKey{Group(at_ms, source, provider, channel, country),
                   std::string(error_code)}] += 1;
}

void RollupDelta::Merge(const RollupDelta& other) {
  for (const auto& [group, counts] : other.hourly_) {
    HourlyCounts& mine =
        hourly_.try_emplace(group, HourlyCounts{}).first->second;
    for (int i = 0; i < kHourlyColumns; ++i) mine[i] += counts[i];
  }
  for (const auto& [key, n] : other.latency_) latency_[key] += n;
  for (const auto& [key, n] : other.errors_) errors_[key] += n;
}

void RollupDelta::Clear() {
  hourly_.clear();
  latency_.clear();
  errors_.clear();
}

}  // namespace dlrd
