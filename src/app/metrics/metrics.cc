#include "dlrd/app/metrics/metrics.h"

#include <stdexcept>

namespace dlrd {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries b = {
      0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600};
  return b;
}
const Histogram::BucketBoundaries& HttpBuckets() {
  static const Histogram::BucketBoundaries b = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,  0.5,    1,     2.5,  5};
  return b;
}
const Histogram::BucketBoundaries& CommitBuckets() {
  static const Histogram::BucketBoundaries b = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  return b;
}
const Histogram::BucketBoundaries& BatchBuckets() {
  static const Histogram::BucketBoundaries b = {1,  2,   4,   8,   16,
                                                32, 64, 128, 256, 512};
  return b;
}

constexpr std::string_view kStoreOps[] = {"begin", "write", "commit"};
constexpr std::string_view kStoreErrors[] = {"busy",    "full",       "io",
                                             "corrupt", "constraint", "other"};
constexpr std::string_view kDropReasons[] = {"queue_full", "store_failed",
                                             "shutdown"};
constexpr std::string_view kLimitReasons[] = {"rate_limit", "ip_not_allowed"};
constexpr std::string_view kListeners[] = {"public", "admin"};
constexpr std::string_view kAdminHandlers[] = {"metrics", "healthz",
                                               "readyz"};

}  // namespace

Metrics::Metrics(prometheus::Registry& registry,
                 const std::vector<SourceLabels>& sources,
                 const BuildLabels& build)
    : registry_(registry) {
  BuildGauge()
      .Name("dlrd_build_info")
      .Help("Build metadata of dlrd; the value is always 1.")
      .Register(registry)
      .Add({{"version", build.version}, {"revision", build.revision}})
      .Set(1);

  auto& requests =
      BuildCounter()
          .Name("dlrd_webhook_requests_total")
          .Help("Delivery-status webhooks received, by source and outcome.")
          .Register(registry);
  auto& sig_failures =
      BuildCounter()
          .Name("dlrd_webhook_signature_failures_total")
          .Help("Webhooks rejected because signature verification failed, by "
                "reason.")
          .Register(registry);
  auto& secret_matches =
      BuildCounter()
          .Name("dlrd_signature_secret_matches_total")
          .Help("Verified webhooks by the index of the configured secret that "
                "matched; an old secret at 0 can be retired.")
          .Register(registry);
  auto& events =
      BuildCounter()
          .Name("dlrd_delivery_events_total")
          .Help("Normalized delivery events stored for the first time, by "
                "provider, channel and status.")
          .Register(registry);

  for (const SourceLabels& s : sources) {
    SourceMetrics& m = sources_[s.name];
    for (IngestOutcome o : kAllOutcomes) {
      if (o == IngestOutcome::kUnknownSource) continue;
      m.requests[static_cast<size_t>(o)] =
          &requests.Add({{"source", s.name},
                         {"provider", s.provider},
                         {"outcome", std::string(ToString(o))}});
    }
    for (RejectReason r : s.reasons) {
      m.signature_failures[static_cast<size_t>(r)] =
          &sig_failures.Add({{"source", s.name},
                             {"provider", s.provider},
                             {"reason", std::string(ToString(r))}});
    }
    for (size_t i = 0; i < s.secret_count; ++i) {
      m.secret_matches.push_back(&secret_matches.Add(
          {{"source", s.name}, {"secret_index", std::to_string(i)}}));
    }
    if (delivery_events_.count(s.provider)) continue;
    auto& arr = delivery_events_[s.provider];
    for (Channel c : kAllChannels) {
      for (DeliveryStatus st : kAllStatuses) {
        arr[static_cast<size_t>(c) * kStatusCount + static_cast<size_t>(st)] =
            &events.Add({{"provider", s.provider},
                         {"channel", std::string(ToString(c))},
                         {"status", std::string(ToString(st))}});
      }
    }
  }

  auto& latency =
      BuildHistogram()
          .Name("dlrd_delivery_latency_seconds")
          .Help("Provider-reported time from submission to final delivery "
                "status, by channel.")
          .Register(registry);
  for (Channel c : kAllChannels) {
    latency_[static_cast<size_t>(c)] =
        &latency.Add({{"channel", std::string(ToString(c))}}, LatencyBuckets());
  }

  http_duration_family_ =
      &BuildHistogram()
           .Name("dlrd_http_request_duration_seconds")
           .Help("Time spent handling inbound HTTP requests, from headers read "
                 "to response written, by handler and status code.")
           .Register(registry);
  for (unsigned code : kHttpCodes) http_duration("webhook", code);
  for (std::string_view h : kAdminHandlers) {
    http_duration(std::string(h), 200);
    http_duration(std::string(h), 503);
  }
  http_duration("other", 404);
  http_duration("other", 405);

  commit_duration_ =
      &BuildHistogram()
           .Name("dlrd_store_commit_duration_seconds")
           .Help("Duration of SQLite write transactions, BEGIN to COMMIT.")
           .Register(registry)
           .Add({}, CommitBuckets());
  batch_size_ =
      &BuildHistogram()
           .Name("dlrd_store_commit_batch_size")
           .Help("Webhook requests committed per SQLite transaction (group "
                 "commit).")
           .Register(registry)
           .Add({}, BatchBuckets());
  auto& store_errors =
      BuildCounter()
          .Name("dlrd_store_errors_total")
          .Help("SQLite operations that failed, by operation and error class.")
          .Register(registry);
  for (std::string_view op : kStoreOps) {
    for (std::string_view err : kStoreErrors) {
      store_errors_[{std::string(op), std::string(err)}] = &store_errors.Add(
          {{"operation", std::string(op)}, {"error", std::string(err)}});
    }
  }
  queue_depth_ = &BuildGauge()
                      .Name("dlrd_store_queue_depth")
                      .Help("Webhook requests waiting for the SQLite writer.")
                      .Register(registry)
                      .Add({});
  queue_capacity_ = &BuildGauge()
                         .Name("dlrd_store_queue_capacity")
                         .Help("Capacity of the SQLite writer queue.")
                         .Register(registry)
                         .Add({});
  auto& dropped =
      BuildCounter()
          .Name("dlrd_events_dropped_total")
          .Help("Webhook requests answered 503 without being persisted, by "
                "reason.")
          .Register(registry);
  for (std::string_view r : kDropReasons) {
    dropped_[std::string(r)] = &dropped.Add({{"reason", std::string(r)}});
  }
  auto& q_stored =
      BuildCounter()
          .Name("dlrd_quarantine_stored_total")
          .Help("Requests refused for their signature (but otherwise "
                "well-formed) kept in the quarantine, by source.")
          .Register(registry);
  for (const SourceLabels& s : sources) {
    sources_[s.name].quarantine_stored = &q_stored.Add({{"source", s.name}});
  }
  auto& q_dropped =
      BuildCounter()
          .Name("dlrd_quarantine_dropped_total")
          .Help("Requests refused for their signature that were not "
                "quarantined: full (a cap was reached), queue (too many "
                "quarantine writes waiting), disabled.")
          .Register(registry);
  for (std::string_view r : kQuarantineDropReasons) {
    quarantine_dropped_[std::string(r)] =
        &q_dropped.Add({{"reason", std::string(r)}});
  }
  auto& limited =
      BuildCounter()
          .Name("dlrd_webhook_requests_limited_total")
          .Help("Public-listener requests refused by a guard: rate_limit "
                "(429: refused without a valid signature after the client's "
                "refusal budget was spent; signed requests are never "
                "limited) or ip_not_allowed (403, not in the source's "
                "allow_ips).")
          .Register(registry);
  for (std::string_view r : kLimitReasons) {
    limited_[std::string(r)] = &limited.Add({{"reason", std::string(r)}});
  }
  auto& open = BuildGauge()
                   .Name("dlrd_http_connections_open")
                   .Help("Open HTTP connections, by listener.")
                   .Register(registry);
  auto& rejected =
      BuildCounter()
          .Name("dlrd_http_connections_rejected_total")
          .Help("Connections closed at accept because max_connections was "
                "reached, by listener.")
          .Register(registry);
  auto& timeouts =
      BuildCounter()
          .Name("dlrd_http_timeouts_total")
          .Help("Connections closed by a timeout, by listener and phase: "
                "idle (keep-alive, no request started), header (request "
                "head not complete in time: slowloris), body (body not "
                "complete in time), write (client not reading the answer).")
          .Register(registry);
  for (std::string_view l : kListeners) {
    connections_open_[std::string(l)] =
        &open.Add({{"listener", std::string(l)}});
    connections_rejected_[std::string(l)] =
        &rejected.Add({{"listener", std::string(l)}});
    for (std::string_view phase : kTimeoutPhases) {
      timeouts_[std::string(l) + "/" + std::string(phase)] = &timeouts.Add(
          {{"listener", std::string(l)}, {"phase", std::string(phase)}});
    }
  }
}

prometheus::Counter* Metrics::delivery_event(const std::string& provider,
                                             Channel c, DeliveryStatus s) {
  auto it = delivery_events_.find(provider);
  if (it == delivery_events_.end()) return nullptr;
  return it->second[static_cast<size_t>(c) * kStatusCount +
                    static_cast<size_t>(s)];
}

prometheus::Histogram& Metrics::http_duration(const std::string& handler,
                                              unsigned code) {
  std::lock_guard<std::mutex> lock(http_mu_);
  auto key = std::make_pair(handler, code);
  auto it = http_.find(key);
  if (it != http_.end()) return *it->second;
  auto* h = &http_duration_family_->Add(
      {{"handler", handler}, {"code", std::to_string(code)}}, HttpBuckets());
  http_[key] = h;
  return *h;
}

prometheus::Counter& Metrics::store_error(std::string_view operation,
                                          std::string_view error) {
  auto it = store_errors_.find({std::string(operation), std::string(error)});
  if (it == store_errors_.end()) {
    it = store_errors_.find({std::string(operation), "other"});
  }
  return *it->second;
}

prometheus::Counter& Metrics::events_dropped(std::string_view reason) {
  return *dropped_.find(reason)->second;
}

prometheus::Counter& Metrics::requests_limited(std::string_view reason) {
  return *limited_.find(reason)->second;
}

prometheus::Counter& Metrics::quarantine_dropped(std::string_view reason) {
  return *quarantine_dropped_.find(reason)->second;
}

prometheus::Gauge& Metrics::connections_open(std::string_view listener) {
  return *connections_open_.find(listener)->second;
}

prometheus::Counter& Metrics::connections_rejected(std::string_view listener) {
  return *connections_rejected_.find(listener)->second;
}

prometheus::Counter& Metrics::timeouts(std::string_view listener,
                                       std::string_view phase) {
  std::string key(listener);
  key.append("/").append(phase);
  return *timeouts_.find(key)->second;
}

}  // namespace dlrd
