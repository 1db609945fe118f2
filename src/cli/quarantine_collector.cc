#include "cli/quarantine_collector.h"

namespace dlrd {
namespace {

prometheus::MetricFamily Gauge(const char* name, const char* help,
                               double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.gauge.value = value;
  f.metric.push_back(m);
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> QuarantineCollector::Collect() const {
  Result<QuarantineTotals> totals = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return store_->Totals();
  }();
  if (!totals.ok()) return {};
  return {Gauge("dlrd_quarantine_rows",
                "Requests kept in the quarantine now (see "
                "quarantine.max_rows).",
                static_cast<double>(totals.value().rows)),
          Gauge("dlrd_quarantine_bytes",
                "Bytes (head + body) kept in the quarantine now (see "
                "quarantine.max_bytes).",
                static_cast<double>(totals.value().bytes))};
}

}  // namespace dlrd
