// Delivery analytics: the figures dlrd reports for a time window, grouped by
// any of source, provider, channel and country. Pure: no I/O, no clock.
//
// Where the numbers come from (the store keeps hourly rollups, and daily
// ones equal to them summed by UTC day, written in the same transaction as
// the events that change them):
//   callbacks       events stored, by the hour they were received
//   sent            verifications (one OTP send on one channel) by the hour
//                   dlrd first saw them: a registration or the first
//                   callback. (A fallback send's callbacks may arrive on
//                   another source, so it is counted by its first callback,
//                   not at the send.)
//   delivered       of those, the ones whose best status is delivered, read
//                   or verified; failed: best status is a failure;
//                   verified: the provider reported the code was entered
//   latency         provider-reported submit-to-delivered time of
//                   `delivered` events, by event hour; "derived" is dlrd's send
//                   time (registration or fallback send) to the first delivered
//                   callback, by step
//   fallbacks       triggered (an escalation decided), recovered (a later
//                   step delivered when no earlier one had), wasted (a
//                   success after a fallback had been sent)
//   signature_failures  callbacks refused with 401 for their signature, by
//                   the hour they came (channel and country unknown: '')
// A verification stays in the group (channel, country) and hour the store
// holds for it, so the sent/delivered/failed figures equal a GROUP BY over
// the verifications table.
//
// Windows are whole UTC hours: `from` is rounded down and `to` up.
// Latency quantiles are bucketed: the reported value is the upper bound of
// the bucket holding the q-th observation (nearest rank), or null when it
// falls past the last bound.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/util/status.h"

namespace dlrd {

inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

inline constexpr std::array<int64_t, 18> kLatencyBoundsMs = {
    250,   500,   1000,  2000,  3000,   5000,   7500,   10000,   15000,
    20000, 30000, 45000, 60000, 120000, 300000, 600000, 1800000, 3600000};
// Buckets: one per bound (value <= bound) plus the overflow bucket.
inline constexpr int kLatencyBuckets =
    static_cast<int>(kLatencyBoundsMs.size()) + 1;
using LatencyHistogram = std::array<int64_t, kLatencyBuckets>;

// The bucket index of a latency (negative values go to bucket 0).
int LatencyBucket(int64_t ms);
// Nearest-rank quantile over a histogram: the bound of the bucket holding
// observation ceil(q * n); nullopt when n == 0 or it is the overflow bucket.
std::optional<int64_t> QuantileMs(const LatencyHistogram& h, double q);

int64_t HourFloor(int64_t ms);
int64_t HourCeil(int64_t ms);
// The start of the UTC day holding `ms`, and the first day start >= `ms`.
int64_t DayFloor(int64_t ms);
int64_t DayCeil(int64_t ms);

enum class StatsDim { kSource, kProvider, kChannel, kCountry };
const char* ToString(StatsDim d);
// "channel,provider" -> dims (order kept, no repeats). Errors name the
// bad value.
Result<std::vector<StatsDim>> ParseDims(std::string_view csv);
// "24h", "90m", "7d", "3600s" -> milliseconds.
Result<int64_t> ParseDurationMs(std::string_view text);

struct StatsQuery {
  int64_t from_ms = 0;  // inclusive, rounded down to the hour
  int64_t to_ms = 0;    // exclusive, rounded up to the hour
  std::vector<StatsDim> by;
  bool hourly = false;  // add one row per hour and group
  int top_errors = 5;
};
// Checks and rounds a query; errors say which parameter is wrong.
Result<StatsQuery> MakeQuery(int64_t from_ms, int64_t to_ms,
                             std::vector<StatsDim> by, bool hourly);

// Counters of one group (and hour, for the series).
struct Figures {
  int64_t callbacks = 0;
  int64_t sent = 0;
  int64_t delivered = 0;
  int64_t failed = 0;
  int64_t verified = 0;
  int64_t fallback_triggered = 0;
  int64_t fallback_recovered = 0;
  int64_t fallback_wasted = 0;
  int64_t signature_failures = 0;  // by source and provider only
  LatencyHistogram provider_latency{};
  LatencyHistogram derived_latency{};
  std::map<int, LatencyHistogram> step_latency;  // derived, by step
  std::map<std::string, int64_t> errors;         // provider error code -> n

  void Add(const Figures& o);
};

// One output row: the group's key (one value per `by` dim) and figures.
struct StatsRow {
  std::vector<std::string> key;
  std::optional<int64_t> hour_ms;  // set on series rows
  Figures figures;
};

struct StatsReport {
  StatsQuery query;
  Figures total;
  std::vector<StatsRow> groups;  // sorted by key
  std::vector<StatsRow> series;  // sorted by hour, then key
};

// The port the API reads through (store/sqlite_stats.h implements it).
// Not thread-safe: callers serialise their queries.
class StatsSource {
 public:
  virtual ~StatsSource() = default;
  virtual Result<StatsReport> Query(const StatsQuery& q) = 0;
};

// Ratios, null when the denominator is 0.
std::optional<double> DeliveryRate(const Figures& f);  // delivered / sent
std::optional<double> FailureRate(const Figures& f);   // failed / sent
std::optional<double> Conversion(const Figures& f);    // verified / sent

// The `top` most frequent error codes with their counts, ties by code.
std::vector<std::pair<std::string, int64_t>> TopErrors(
    const std::map<std::string, int64_t>& errors, int top);

// The report as the API's JSON body: the groups, then the total. (The CLI's
// table and CSV renderings are in src/cli/stats_render.h.)
std::string ToJsonText(const StatsReport& r);

}  // namespace dlrd
