// ProcessCollector: the standard process_* metrics, which prometheus-cpp
// does not provide (docs/metrics.md §2.6). Reads /proc/self at collect
// time, so values are current on every scrape.
//
// Exported: process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_virtual_memory_bytes, process_resident_memory_bytes,
// process_start_time_seconds, process_threads.
//
// Thread-safe: Collect() only reads /proc and immutable members.
#pragma once

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace dlrd {

class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;
};

}  // namespace dlrd
