#include "dlrd/app/metrics/fallback_metrics.h"

namespace dlrd {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

constexpr Channel kSendChannels[] = {Channel::kSms, Channel::kWhatsapp,
                                     Channel::kVoice};
constexpr const char* kJobStates[] = {"pending", "in_flight", "accepted",
                                      "retry_wait", "dead"};

const Histogram::BucketBoundaries& RequestBuckets() {
  static const Histogram::BucketBoundaries b = {0.05, 0.1, 0.25, 0.5, 1,
                                                2.5,  5,   10,   30};
  return b;
}

std::string Label(Channel c) { return std::string(ToString(c)); }

}  // namespace

FallbackMetrics::FallbackMetrics(prometheus::Registry& registry,
                                 const std::vector<std::string>& providers) {
  decisions_ = &BuildCounter()
                    .Name("dlrd_fallback_decisions_total")
                    .Help(
                        "Fallback decisions by the channel that failed or "
                        "stalled, the next channel, result and skip reason.")
                    .Register(registry);
  sends_ = &BuildCounter()
                .Name("dlrd_fallback_sends_total")
                .Help(
                    "Fallback sends after a failed or stalled delivery, by "
                    "source channel, target channel and result.")
                .Register(registry);
  wasted_ = &BuildCounter()
                 .Name("dlrd_fallback_wasted_total")
                 .Help(
                     "Successes reported on a step after a fallback had "
                     "already been sent, by the channel that succeeded.")
                 .Register(registry);
  registered_ = &BuildCounter()
                     .Name("dlrd_verifications_registered_total")
                     .Help(
                         "Sends the app registered over POST "
                         "/v1/verifications (first registration of an id "
                         "only), by provider and channel.")
                     .Register(registry);
  duration_ = &BuildHistogram()
                   .Name("dlrd_provider_request_duration_seconds")
                   .Help(
                       "Duration of outbound provider API requests "
                       "(fallback sends), including failures.")
                   .Register(registry);
  errors_ = &BuildCounter()
                 .Name("dlrd_provider_request_errors_total")
                 .Help(
                     "Outbound provider API requests that failed, by error "
                     "class.")
                 .Register(registry);
  jobs_ = &BuildGauge()
               .Name("dlrd_outbox_jobs")
               .Help("Outbox jobs by state.")
               .Register(registry);
  oldest_ = &BuildGauge()
                 .Name("dlrd_outbox_oldest_pending_age_seconds")
                 .Help("Age of the oldest outbox job not yet accepted or dead.")
                 .Register(registry)
                 .Add({});
  breaker_ = &BuildGauge()
                  .Name("dlrd_provider_circuit_state")
                  .Help(
                      "Circuit breaker per provider and channel: 0 closed, "
                      "1 half-open, 2 open.")
                  .Register(registry);
  for (Channel from : kSendChannels) {
    wasted_->Add({{"channel", Label(from)}});
    for (Channel to : kSendChannels) {
      if (from == to) continue;
      for (const char* result : {"sent", "failed", "skipped"}) {
        sends_->Add({{"from_channel", Label(from)},
                     {"to_channel", Label(to)},
                     {"result", result}});
      }
      decisions_->Add({{"from_channel", Label(from)},
                       {"to_channel", Label(to)},
                       {"result", "escalate"},
                       {"reason", ""}});
      for (SkipReason r : kAllSkipReasons) {
        decisions_->Add({{"from_channel", Label(from)},
                         {"to_channel", Label(to)},
                         {"result", "skip"},
                         {"reason", std::string(ToString(r))}});
      }
    }
  }
  for (Channel from : kSendChannels) {
    for (SkipReason r : kAllSkipReasons) {
      decisions_->Add({{"from_channel", Label(from)},
                       {"to_channel", "none"},
                       {"result", "skip"},
                       {"reason", std::string(ToString(r))}});
    }
  }
  for (const std::string& p : providers) {
    for (Channel c : kSendChannels) {
      duration_->Add({{"provider", p}, {"channel", Label(c)}},
                     RequestBuckets());
      breaker_->Add({{"provider", p}, {"channel", Label(c)}}).Set(0);
      for (SendErrorClass e : kAllSendErrorClasses) {
        errors_->Add({{"provider", p},
                      {"channel", Label(c)},
                      {"error_class", std::string(ToString(e))}});
      }
    }
  }
  for (const char* s : kJobStates) jobs_->Add({{"state", s}}).Set(0);
}

void FallbackMetrics::PrepareRegistered(const std::string& provider) {
  for (Channel c : kSendChannels) {
    registered_->Add({{"provider", provider}, {"channel", Label(c)}});
  }
}

void FallbackMetrics::Registered(const std::string& provider, Channel c) {
  registered_->Add({{"provider", provider}, {"channel", Label(c)}}).Increment();
}

void FallbackMetrics::Decided(const Decision& d) {
  if (d.wasted) wasted_->Add({{"channel", Label(d.from)}}).Increment();
  if (d.result == DecisionResult::kNone) return;
  const bool skip = d.result == DecisionResult::kSkip;
  // A skip decided before the next channel is known has no "to".
  const std::string to = d.to == Channel::kOther ? "none" : Label(d.to);
  decisions_
      ->Add({{"from_channel", Label(d.from)},
             {"to_channel", to},
             {"result", skip ? "skip" : "escalate"},
             {"reason", skip ? std::string(ToString(d.reason)) : ""}})
      .Increment();
  if (skip) {
    sends_
        ->Add({{"from_channel", Label(d.from)},
               {"to_channel", to},
               {"result", "skipped"}})
        .Increment();
  }
}

void FallbackMetrics::Sent(Channel from, Channel to, bool accepted) {
  sends_
      ->Add({{"from_channel", Label(from)},
             {"to_channel", Label(to)},
             {"result", accepted ? "sent" : "failed"}})
      .Increment();
}

void FallbackMetrics::RequestDone(const std::string& provider, Channel c,
                                  double seconds, SendErrorClass error) {
  duration_
      ->Add({{"provider", provider}, {"channel", Label(c)}}, RequestBuckets())
      .Observe(seconds);
  if (error != SendErrorClass::kNone) {
    errors_
        ->Add({{"provider", provider},
               {"channel", Label(c)},
               {"error_class", std::string(ToString(error))}})
        .Increment();
  }
}

void FallbackMetrics::OutboxState(const std::string& state, double jobs) {
  jobs_->Add({{"state", state}}).Set(jobs);
}

void FallbackMetrics::OldestPendingAge(double seconds) {
  oldest_->Set(seconds);
}

void FallbackMetrics::Breaker(const std::string& provider, Channel c,
                              double state) {
  breaker_->Add({{"provider", provider}, {"channel", Label(c)}}).Set(state);
}

}  // namespace dlrd
