// QuarantineCollector: the quarantine's current size as gauges,
// dlrd_quarantine_rows and dlrd_quarantine_bytes (head + body bytes, the
// figure quarantine.max_bytes caps).
//
// Read at scrape time from quarantine_totals (kept exact by triggers on
// every connection), on a connection of its own that only reads, so rows
// that `dlrd quarantine replay` or retention removed show at the next
// scrape.
// One small read per scrape; in WAL it never waits for the writer. If the
// read fails, the two gauges are left out of that scrape rather than
// showing a wrong value.
//
// Thread-safe: the connection is used under a mutex (scrapes can arrive on
// two I/O threads at once).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <vector>

#include "dlrd/sqlite/sqlite_quarantine.h"

namespace dlrd {

class QuarantineCollector final : public prometheus::Collectable {
 public:
  explicit QuarantineCollector(std::unique_ptr<QuarantineStore> store)
      : store_(std::move(store)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mu_;
  std::unique_ptr<QuarantineStore> store_;  // guarded by mu_
};

}  // namespace dlrd
