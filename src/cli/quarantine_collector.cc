#include "cli/quarantine_collector.h"

#include <utility>

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

QuarantineCollector::QuarantineCollector(std::unique_ptr<QuarantineStore> store,
                                         std::chrono::milliseconds refresh)
    : store_(std::move(store)), refresh_(refresh) {
  Refresh();
  thread_ = std::thread([this] { Run(); });
}

QuarantineCollector::~QuarantineCollector() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void QuarantineCollector::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, refresh_, [this] { return stop_; })) {
    lock.unlock();
    Refresh();
    lock.lock();
  }
}

void QuarantineCollector::Refresh() {
  Result<QuarantineTotals> totals = store_->Totals();  // outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  if (totals.ok()) {
    last_ = totals.value();
  } else {
    last_.reset();
  }
}

std::vector<prometheus::MetricFamily> QuarantineCollector::Collect() const {
  std::optional<QuarantineTotals> totals;
  {
    std::lock_guard<std::mutex> lock(mu_);
    totals = last_;
  }
  if (!totals) return {};
  return {Gauge("dlrd_quarantine_rows",
                "Requests kept in the quarantine now (see "
                "quarantine.max_rows).",
                static_cast<double>(totals->rows)),
          Gauge("dlrd_quarantine_bytes",
                "Bytes (head + body) kept in the quarantine now (see "
                "quarantine.max_bytes).",
                static_cast<double>(totals->bytes))};
}

}  // namespace dlrd
