// QuarantineCollector: the quarantine's current size as gauges,
// dlrd_quarantine_rows and dlrd_quarantine_bytes (head + body bytes, the
// figures quarantine.max_rows and quarantine.max_bytes cap).
//
// Design: a thread of the collector's own reads QuarantineStore::Totals()
// every `refresh` (exact totals, kept by triggers on every connection and
// replica) and keeps the last answer; a scrape only copies it. So a scrape
// never waits on the database: the admin listener shares its I/O threads
// with ingest, and a PostgreSQL server that stopped answering (or a
// reconnect to one) must not stall either. Rows that `dlrd quarantine
// replay` or retention removed show within `refresh`. When the last read
// failed, the two gauges are left out of the scrape rather than showing a
// stale or wrong value.
//
// On PostgreSQL every replica exports the same database-wide figures: the
// rules and dashboard take max() across instances (docs/metrics.md §8).
//
// Thread-safe; the destructor stops and joins the thread.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dlrd/core/ports/quarantine_store.h"

namespace dlrd {

class QuarantineCollector final : public prometheus::Collectable {
 public:
  // Reads once before returning, so the first scrape has the figures.
  QuarantineCollector(std::unique_ptr<QuarantineStore> store,
                      std::chrono::milliseconds refresh);
  ~QuarantineCollector() override;
  QuarantineCollector(const QuarantineCollector&) = delete;
  QuarantineCollector& operator=(const QuarantineCollector&) = delete;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  void Run();
  // Reads the totals (on the refresh thread, or the constructor's).
  void Refresh();

  std::unique_ptr<QuarantineStore> store_;  // used by one thread at a time
  const std::chrono::milliseconds refresh_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;                     // guarded by mu_
  std::optional<QuarantineTotals> last_;  // guarded by mu_; nullopt: failed
  std::thread thread_;
};

}  // namespace dlrd
