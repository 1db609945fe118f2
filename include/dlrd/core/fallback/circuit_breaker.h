// CircuitBreaker: stops sending to a (provider, channel) that keeps failing,
// so that jobs escalate to the next channel instead of queueing behind a
// dead provider (docs/reliability.md §5.4).
//
//   closed    --failure_threshold consecutive failures-->  open
//   open      --cooldown_ms elapsed, next Allow()------->  half-open
//   half-open --the one trial succeeds------------------->  closed
//   half-open --the one trial fails--------------------->  open (fresh
//                                                            cooldown)
//
// Closed: every request is allowed; a success resets the failure count.
// Open: Allow() is false until cooldown_ms after the breaker opened.
// Half-open: exactly one trial request is let through; further Allow()
// calls are false until its outcome is reported. A trial whose outcome is
// never reported (its job was lost) must not wedge the breaker: once
// cooldown_ms has passed since the trial started, Allow() lets one new
// trial through.
// A success reported in any state closes the breaker (the provider
// answered). A failure reported while open (a request allowed before the
// breaker opened, finishing late) changes nothing and does not extend the
// cooldown.
//
// What counts as a failure is the caller's decision: provider-side errors
// (5xx, timeout, connection failure, 429), not the recipient's (invalid
// number, fraud), which say nothing about the provider's health.
//
// Pure: time comes in as `now_ms` (any monotonic millisecond clock, the
// same one for every call). Not thread-safe: one instance per (provider,
// channel), owned and called by the dispatcher thread only.
#pragma once

#include <cstdint>
#include <string_view>

namespace dlrd {

struct BreakerOptions {
  // Consecutive failures that open the breaker. Values < 1 act as 1.
  int failure_threshold = 5;
  // How long the breaker stays open before a trial. Negative acts as 0.
  int64_t cooldown_ms = 30000;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };

std::string_view ToString(BreakerState s);  // closed | open | half_open
// For the circuit-breaker-state gauge: 0 closed, 1 half-open, 2 open.
int BreakerGaugeValue(BreakerState s);

class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerOptions options = {});

  // Whether a request may be sent now. Moves open -> half-open once the
  // cooldown has elapsed and then consumes the single trial: call it only
  // when the request will actually be sent if it returns true.
  bool Allow(int64_t now_ms);
  // Report the outcome of a request that Allow() let through.
  void OnSuccess(int64_t now_ms);
  void OnFailure(int64_t now_ms);

  // The state as of now_ms, without side effects: an open breaker whose
  // cooldown has elapsed reports kHalfOpen (a trial would be allowed).
  BreakerState state(int64_t now_ms) const;
  // Consecutive failures counted while closed (0 after any success).
  int consecutive_failures() const { return failures_; }

 private:
  bool Elapsed(int64_t since_ms, int64_t now_ms) const;

  BreakerOptions options_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;
  int64_t opened_at_ms_ = 0;      // kOpen: when it (re)opened
  int64_t trial_started_ms_ = 0;  // kHalfOpen: when the trial was allowed
};

}  // namespace dlrd
