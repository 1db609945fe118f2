// Metrics: every metric handle dlrd updates, built from an injected
// prometheus::Registry (there is no global registry).
//
// Names, labels and buckets follow docs/metrics.md §2. Every label
// combination that can occur is created at construction with value 0, so
// rate() and absent() alerts work from the first scrape. Label values come
// only from closed enums and from configured source names: never ids, phone
// numbers, paths or error text.
//
// Handles are plain references into the registry; the hot path does no map
// lookups (arrays indexed by enum). Thread-safe: prometheus-cpp metric types
// are atomic, and this class is immutable after construction.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "dlrd/core/model/delivery.h"
#include "dlrd/app/ingest/ingest_outcome.h"
#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {

inline constexpr size_t kOutcomeCount = std::size(kAllOutcomes);
inline constexpr size_t kReasonCount = std::size(kAllRejectReasons);
inline constexpr size_t kChannelCount = std::size(kAllChannels);
inline constexpr size_t kStatusCount = std::size(kAllStatuses);

// HTTP status codes the listeners can return; each gets a series.
inline constexpr unsigned kHttpCodes[] = {200, 400, 401, 403, 404, 405, 408,
                                          411, 413, 415, 429, 431, 503};

// Where a connection can time out (dlrd_http_timeouts_total{phase}).
inline constexpr std::string_view kTimeoutPhases[] = {"idle", "header", "body",
                                                      "write"};

struct SourceLabels {
  std::string name;
  std::string provider;
  std::vector<RejectReason> reasons;
  size_t secret_count = 0;
};

struct BuildLabels {
  std::string version;
  std::string revision;
};

struct SourceMetrics {
  std::array<prometheus::Counter*, kOutcomeCount> requests{};
  std::array<prometheus::Counter*, kReasonCount> signature_failures{};
  std::vector<prometheus::Counter*> secret_matches;  // by secret index
  // Requests refused for their signature and kept in the quarantine.
  prometheus::Counter* quarantine_stored = nullptr;
};

// Why a request refused for its signature was not quarantined
// (dlrd_quarantine_dropped_total{reason}).
inline constexpr std::string_view kQuarantineDropReasons[] = {
    "full", "queue", "disabled"};

class Metrics {
 public:
  Metrics(prometheus::Registry& registry,
          const std::vector<SourceLabels>& sources, const BuildLabels& build);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // REQUIRES: `source` was in the constructor's list.
  SourceMetrics& source(const std::string& name) { return sources_.at(name); }
  // nullptr for a provider not in the constructor's list.
  prometheus::Counter* delivery_event(const std::string& provider, Channel c,
                                      DeliveryStatus s);
  prometheus::Histogram& delivery_latency(Channel c) {
    return *latency_[static_cast<size_t>(c)];
  }
  // handler: "webhook", "metrics", "healthz", "readyz", "other".
  // Unknown combinations fall back to ("other", code) created on demand.
  prometheus::Histogram& http_duration(const std::string& handler,
                                       unsigned code);

  prometheus::Histogram& store_commit_duration() { return *commit_duration_; }
  prometheus::Histogram& store_commit_batch_size() { return *batch_size_; }
  prometheus::Counter& store_error(std::string_view operation,
                                   std::string_view error);
  prometheus::Gauge& queue_depth() { return *queue_depth_; }
  prometheus::Gauge& queue_capacity() { return *queue_capacity_; }
  // reason: "queue_full" | "store_failed" | "shutdown"
  prometheus::Counter& events_dropped(std::string_view reason);
  // Public-listener requests refused by a guard. reason: "rate_limit" (429:
  // a refusal after the client's refusal budget is spent) |
  // "ip_not_allowed" (403, a source's allow_ips).
  prometheus::Counter& requests_limited(std::string_view reason);
  // reason: kQuarantineDropReasons.
  prometheus::Counter& quarantine_dropped(std::string_view reason);
  prometheus::Gauge& connections_open(std::string_view listener);
  prometheus::Counter& connections_rejected(std::string_view listener);
  // A connection closed by a timeout. phase: kTimeoutPhases.
  prometheus::Counter& timeouts(std::string_view listener,
                                std::string_view phase);

 private:
  prometheus::Registry& registry_;
  std::map<std::string, SourceMetrics> sources_;
  std::map<std::string, std::array<prometheus::Counter*,
                                   kChannelCount * kStatusCount>>
      delivery_events_;
  std::array<prometheus::Histogram*, kChannelCount> latency_{};
  prometheus::Family<prometheus::Histogram>* http_duration_family_;
  std::map<std::pair<std::string, unsigned>, prometheus::Histogram*> http_;
  std::mutex http_mu_;
  prometheus::Histogram* commit_duration_;
  prometheus::Histogram* batch_size_;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*>
      store_errors_;
  prometheus::Gauge* queue_depth_;
  prometheus::Gauge* queue_capacity_;
  std::map<std::string, prometheus::Counter*, std::less<>> dropped_;
  std::map<std::string, prometheus::Counter*, std::less<>> limited_;
  std::map<std::string, prometheus::Counter*, std::less<>>
      quarantine_dropped_;
  std::map<std::string, prometheus::Gauge*, std::less<>> connections_open_;
  std::map<std::string, prometheus::Counter*, std::less<>>
      connections_rejected_;
  std::map<std::string, prometheus::Counter*, std::less<>> timeouts_;
};

}  // namespace dlrd
