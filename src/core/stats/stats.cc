#include "dlrd/core/stats/stats.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/util/time.h"

namespace dlrd {
namespace {

using json = nlohmann::ordered_json;

constexpr StatsDim kDims[] = {StatsDim::kSource, StatsDim::kProvider,
                              StatsDim::kChannel, StatsDim::kCountry};

std::optional<double> Ratio(int64_t num, int64_t den) {
  if (den <= 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

json OptJson(const std::optional<double>& v) {
  if (!v) return nullptr;
  return std::round(*v * 10000.0) / 10000.0;
}

json OptJson(const std::optional<int64_t>& v) {
  if (!v) return nullptr;
  return *v;
}

int64_t Count(const LatencyHistogram& h) {
  int64_t n = 0;
  for (int64_t c : h) n += c;
  return n;
}

json LatencyJson(const LatencyHistogram& h) {
  return json{{"count", Count(h)},
              {"p50_ms", OptJson(QuantileMs(h, 0.50))},
              {"p90_ms", OptJson(QuantileMs(h, 0.90))},
              {"p99_ms", OptJson(QuantileMs(h, 0.99))}};
}

json FiguresJson(const Figures& f, int top) {
  json errors = json::array();
  for (const auto& [code, n] : TopErrors(f.errors, top)) {
    errors.push_back(json{{"code", code}, {"count", n}});
  }
  json steps = json::object();
  for (const auto& [step, h] : f.step_latency) {
    steps[std::to_string(step)] = LatencyJson(h);
  }
  return json{{"callbacks", f.callbacks},
              {"sent", f.sent},
              {"delivered", f.delivered},
              {"failed", f.failed},
              {"verified", f.verified},
              {"delivery_rate", OptJson(DeliveryRate(f))},
              {"failure_rate", OptJson(FailureRate(f))},
              {"conversion", OptJson(Conversion(f))},
              {"latency", LatencyJson(f.provider_latency)},
              {"derived_latency", LatencyJson(f.derived_latency)},
              {"time_to_deliver_by_step", steps},
              {"fallbacks",
               {{"triggered", f.fallback_triggered},
                {"recovered", f.fallback_recovered},
                {"wasted", f.fallback_wasted}}},
              {"top_errors", errors},
              {"signature_failures", f.signature_failures}};
}

json RowJson(const StatsReport& r, const StatsRow& row) {
  json j = json::object();
  if (row.hour_ms) j["hour"] = FormatTimestampMs(*row.hour_ms);
  for (size_t i = 0; i < r.query.by.size() && i < row.key.size(); ++i) {
    j[ToString(r.query.by[i])] = row.key[i];
  }
  const json figures = FiguresJson(row.figures, r.query.top_errors);
  for (auto it = figures.begin(); it != figures.end(); ++it) {
    j[it.key()] = it.value();
  }
  return j;
}

}  // namespace

int LatencyBucket(int64_t ms) {
  for (size_t i = 0; i < kLatencyBoundsMs.size(); ++i) {
    if (ms <= kLatencyBoundsMs[i]) return static_cast<int>(i);
  }
  return kLatencyBuckets - 1;
}

std::optional<int64_t> QuantileMs(const LatencyHistogram& h, double q) {
  const int64_t n = Count(h);
  if (n == 0) return std::nullopt;
  int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<int64_t>(rank, 1, n);
  int64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += h[i];
    if (seen >= rank) {
      if (i == kLatencyBuckets - 1) return std::nullopt;
      return kLatencyBoundsMs[i];
    }
  }
  return std::nullopt;
}

int64_t HourFloor(int64_t ms) { return FloorTo(ms, kHourMs); }
int64_t HourCeil(int64_t ms) { return CeilTo(ms, kHourMs); }
int64_t DayFloor(int64_t ms) { return FloorTo(ms, kDayMs); }
int64_t DayCeil(int64_t ms) { return CeilTo(ms, kDayMs); }

const char* ToString(StatsDim d) {
  switch (d) {
    case StatsDim::kSource:
      return "source";
    case StatsDim::kProvider:
      return "provider";
    case StatsDim::kChannel:
      return "channel";
    case StatsDim::kCountry:
      return "country";
  }
  return "source";
}

Result<std::vector<StatsDim>> ParseDims(std::string_view csv) {
  std::vector<StatsDim> out;
  while (!csv.empty()) {
    const size_t comma = csv.find(',');
    std::string_view name = csv.substr(0, comma);
    csv = comma == std::string_view::npos ? std::string_view()
                                          : csv.substr(comma + 1);
    if (name.empty()) continue;
    bool found = false;
    for (StatsDim d : kDims) {
      if (name != ToString(d)) continue;
      found = true;
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    }
    if (!found) {
      return Status::Error("by: unknown dimension '" + std::string(name) +
                           "' (use source, provider, channel, country)");
    }
  }
  return out;
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  const auto bad = [&] {
    return Status::Error("'" + std::string(text) +
                         "' is not a duration such as 90m, 24h or 7d");
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  const char* end = text.data() + text.size() - 1;
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p != end || n <= 0) return bad();
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 'h':
      unit = kHourMs;
      break;
    case 'd':
      unit = 24 * kHourMs;
      break;
    default:
      return bad();
  }
  if (n > (int64_t{1} << 40) / unit) return bad();
  return n * unit;
}

Result<StatsQuery> MakeQuery(int64_t from_ms, int64_t to_ms,
                             std::vector<StatsDim> by, bool hourly) {
  if (from_ms < 0) return Status::Error("from: before 1970");
  if (to_ms <= from_ms) return Status::Error("to: must be after from");
  StatsQuery q;
  q.from_ms = HourFloor(from_ms);
  q.to_ms = HourCeil(to_ms);
  if (hourly && (q.to_ms - q.from_ms) / kHourMs > 24 * 93) {
    return Status::Error("hourly series: at most 93 days");
  }
  q.by = std::move(by);
  q.hourly = hourly;
  return q;
}

void Figures::Add(const Figures& o) {
  callbacks += o.callbacks;
  sent += o.sent;
  delivered += o.delivered;
  failed += o.failed;
  verified += o.verified;
  fallback_triggered += o.fallback_triggered;
  fallback_recovered += o.fallback_recovered;
  fallback_wasted += o.fallback_wasted;
  signature_failures += o.signature_failures;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    provider_latency[i] += o.provider_latency[i];
    derived_latency[i] += o.derived_latency[i];
  }
  for (const auto& [step, h] : o.step_latency) {
    LatencyHistogram& mine = step_latency[step];
    for (int i = 0; i < kLatencyBuckets; ++i) mine[i] += h[i];
  }
  for (const auto& [code, n] : o.errors) errors[code] += n;
}

std::optional<double> DeliveryRate(const Figures& f) {
  return Ratio(f.delivered, f.sent);
}
std::optional<double> FailureRate(const Figures& f) {
  return Ratio(f.failed, f.sent);
}
std::optional<double> Conversion(const Figures& f) {
  return Ratio(f.verified, f.sent);
}

std::vector<std::pair<std::string, int64_t>> TopErrors(
    const std::map<std::string, int64_t>& errors, int top) {
  std::vector<std::pair<std::string, int64_t>> v(errors.begin(), errors.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (static_cast<int>(v.size()) > top) v.resize(top);
  return v;
}

std::string ToJsonText(const StatsReport& r) {
  json by = json::array();
  for (StatsDim d : r.query.by) by.push_back(ToString(d));
  json groups = json::array();
  for (const StatsRow& row : r.groups) groups.push_back(RowJson(r, row));
  json j{{"from", FormatTimestampMs(r.query.from_ms)},
         {"to", FormatTimestampMs(r.query.to_ms)},
         {"by", by},
         {"total", FiguresJson(r.total, r.query.top_errors)},
         {"groups", groups}};
  if (r.query.hourly) {
    json series = json::array();
    for (const StatsRow& row : r.series) series.push_back(RowJson(r, row));
    j["series"] = series;
  }
  // Rows written before values were checked may hold invalid UTF-8.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace dlrd
