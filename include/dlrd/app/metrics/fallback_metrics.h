// FallbackMetrics: the fallback engine's metrics (docs/metrics.md §2 names).
//
//   dlrd_fallback_decisions_total{from_channel,to_channel,result,reason}
//   dlrd_fallback_sends_total{from_channel,to_channel,result}
//       result: sent (the provider accepted) | failed (dead) | skipped
//   dlrd_fallback_wasted_total{channel}  a success after a fallback was sent
//   dlrd_verifications_registered_total{provider,channel}  app-side sends
//   dlrd_provider_request_duration_seconds{provider,channel}
//   dlrd_provider_request_errors_total{provider,channel,error_class}
//   dlrd_outbox_jobs{state}
//   dlrd_outbox_oldest_pending_age_seconds
//   dlrd_provider_circuit_state{provider,channel}  0 closed, 1 half, 2 open
//
// Every combination is created at construction (closed enums and the
// configured provider names), so rate() and absent() work from the first
// scrape. Thread-safe after construction.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/fallback/policy.h"
#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd {

class FallbackMetrics {
 public:
  FallbackMetrics(prometheus::Registry& registry,
                  const std::vector<std::string>& providers);
  FallbackMetrics(const FallbackMetrics&) = delete;
  FallbackMetrics& operator=(const FallbackMetrics&) = delete;

  // Counts a decision, its skip (as a skipped send) and a wasted fallback.
  void Decided(const Decision& d);
  // Creates the zero series of registrations for a source's provider.
  void PrepareRegistered(const std::string& provider);
  // The app registered a new send (POST /v1/verifications, created).
  void Registered(const std::string& provider, Channel c);
  // A send finished: accepted, or dead after its last attempt.
  void Sent(Channel from, Channel to, bool accepted);
  void RequestDone(const std::string& provider, Channel c, double seconds,
                   SendErrorClass error);
  void OutboxState(const std::string& state, double jobs);
  void OldestPendingAge(double seconds);
  void Breaker(const std::string& provider, Channel c, double state);

 private:
  prometheus::Family<prometheus::Counter>* decisions_;
  prometheus::Family<prometheus::Counter>* sends_;
  prometheus::Family<prometheus::Counter>* wasted_;
  prometheus::Family<prometheus::Counter>* registered_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Gauge>* jobs_;
  prometheus::Gauge* oldest_;
  prometheus::Family<prometheus::Gauge>* breaker_;
};

}  // namespace dlrd
