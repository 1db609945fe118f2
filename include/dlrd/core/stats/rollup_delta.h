// RollupDelta: the changes one write transaction makes to the analytics
// rollups (stats_hourly, stats_latency, stats_errors), summed in memory.
// Pure: no I/O.
//
// Why: a rollup row is shared by every event of its hour and group, so
// upserting it once per event rewrote the same few B-tree pages and ran the
// same statement dozens of times per commit. The store now adds each
// event's contribution here and writes each touched row once, just before
// COMMIT, in the same transaction: the rollups still equal GROUP BYs over
// the stored rows at every commit.
//
// Contract: Add* only sum; nothing is dropped. Rows whose every delta sums
// to zero (a verification that moved out of a group and back within the
// batch) are skipped by the writer, which changes no figure.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace dlrd {

// The columns of stats_hourly that count something.
enum class HourlyColumn {
  kCallbacks,
  kSent,
  kDelivered,
  kFailed,
  kVerified,
  kFallbackTriggered,
  kFallbackRecovered,
  kFallbackWasted,
  kSignatureFailures,
};
inline constexpr int kHourlyColumns = 9;
// The column's name in schema/0003_stats.sql.
const char* ColumnName(HourlyColumn c);

// One rollup group: an hour (already floored) and its dimensions.
struct RollupGroup {
  int64_t hour_ms = 0;
  std::string source, provider, channel, country;
  auto operator<=>(const RollupGroup&) const = default;
};

struct LatencyKey {
  RollupGroup group;
  std::string kind;  // "provider" or "derived"
  int step = -1;
  int bucket = 0;
  auto operator<=>(const LatencyKey&) const = default;
};

struct ErrorKey {
  RollupGroup group;
  std::string error_code;
  auto operator<=>(const ErrorKey&) const = default;
};

class RollupDelta {
 public:
  using HourlyCounts = std::array<int64_t, kHourlyColumns>;

  // `at_ms` is floored to its hour here.
  void AddHourly(int64_t at_ms, std::string_view source,
                 std::string_view provider, std::string_view channel,
                 std::string_view country, HourlyColumn column, int64_t n);
  void AddLatency(int64_t at_ms, std::string_view source,
                  std::string_view provider, std::string_view channel,
                  std::string_view country, std::string_view kind, int step,
                  int64_t latency_ms);
  void AddError(int64_t at_ms, std::string_view source,
                std::string_view provider, std::string_view channel,
                std::string_view country, std::string_view error_code);
  // Adds every delta of `other` to this one.
  void Merge(const RollupDelta& other);
  void Clear();
  bool empty() const {
    return hourly_.empty() && latency_.empty() && errors_.empty();
  }

  const std::map<RollupGroup, HourlyCounts>& hourly() const { return hourly_; }
  const std::map<LatencyKey, int64_t>& latency() const { return latency_; }
  const std::map<ErrorKey, int64_t>& errors() const { return errors_; }

 private:
  std::map<RollupGroup, HourlyCounts> hourly_;
  std::map<LatencyKey, int64_t> latency_;
  std::map<ErrorKey, int64_t> errors_;
};

}  // namespace dlrd
