// Reads one sample out of a prometheus::Registry, the way a scrape sees it
// (Collect()), so tests assert on exported names and labels rather than on
// handles.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <map>
#include <optional>
#include <string>

namespace dlrd::testutil {

using Labels = std::map<std::string, std::string>;

// True iff every label in `want` is present on `metric` with that value.
inline bool LabelsMatch(const prometheus::ClientMetric& metric,
                        const Labels& want) {
  for (const auto& [name, value] : want) {
    bool found = false;
    for (const auto& l : metric.label) {
      if (l.name == name) {
        found = l.value == value;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// The value of the counter (or gauge) `name` whose labels include `labels`;
// nullopt when no series matches or more than one does.
inline std::optional<double> MetricValue(const prometheus::Registry& registry,
                                         const std::string& name,
                                         const Labels& labels = {}) {
  std::optional<double> out;
  int matches = 0;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      if (!LabelsMatch(m, labels)) continue;
      ++matches;
      out = f.type == prometheus::MetricType::Gauge ? m.gauge.value
                                                    : m.counter.value;
    }
  }
  if (matches != 1) return std::nullopt;
  return out;
}

// Sample count of the histogram `name` with `labels`; nullopt as above.
inline std::optional<double> HistogramCount(
    const prometheus::Registry& registry, const std::string& name,
    const Labels& labels = {}) {
  std::optional<double> out;
  int matches = 0;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      if (!LabelsMatch(m, labels)) continue;
      ++matches;
      out = static_cast<double>(m.histogram.sample_count);
    }
  }
  if (matches != 1) return std::nullopt;
  return out;
}

}  // namespace dlrd::testutil
