#include "dlrd/core/fallback/circuit_breaker.h"

#include <algorithm>

namespace dlrd {

std::string_view ToString(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

int BreakerGaugeValue(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return 0;
    case BreakerState::kHalfOpen:
      return 1;
    case BreakerState::kOpen:
      return 2;
  }
  return 0;
}

CircuitBreaker::CircuitBreaker(BreakerOptions options) : options_(options) {
  options_.failure_threshold = std::max(options_.failure_threshold, 1);
  options_.cooldown_ms = std::max<int64_t>(options_.cooldown_ms, 0);
}

// Written as a difference so that a clock near INT64_MAX cannot overflow
// `since + cooldown`; a clock that went backwards counts as not elapsed.
bool CircuitBreaker::Elapsed(int64_t since_ms, int64_t now_ms) const {
  return now_ms >= since_ms && now_ms - since_ms >= options_.cooldown_ms;
}

bool CircuitBreaker::Allow(int64_t now_ms) {
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (!Elapsed(opened_at_ms_, now_ms)) return false;
      state_ = BreakerState::kHalfOpen;
      trial_started_ms_ = now_ms;
      return true;
    case BreakerState::kHalfOpen:
      // One trial at a time; a trial lost without an outcome is replaced
      // after a cooldown.
      if (!Elapsed(trial_started_ms_, now_ms)) return false;
      trial_started_ms_ = now_ms;
      return true;
  }
  return false;
}

void CircuitBreaker::OnSuccess(int64_t /*now_ms*/) {
  state_ = BreakerState::kClosed;
  failures_ = 0;
}

void CircuitBreaker::OnFailure(int64_t now_ms) {
  switch (state_) {
    case BreakerState::kClosed:
      if (++failures_ >= options_.failure_threshold) {
        state_ = BreakerState::kOpen;
        opened_at_ms_ = now_ms;
      }
      return;
    case BreakerState::kHalfOpen:
      state_ = BreakerState::kOpen;
      opened_at_ms_ = now_ms;
      return;
    case BreakerState::kOpen:
      return;  // a late report from before the breaker opened
  }
}

BreakerState CircuitBreaker::state(int64_t now_ms) const {
  if (state_ == BreakerState::kOpen && Elapsed(opened_at_ms_, now_ms)) {
    return BreakerState::kHalfOpen;
  }
  return state_;
}

}  // namespace dlrd
