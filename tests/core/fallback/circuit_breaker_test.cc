// Circuit breaker: closed -> open -> half-open (one trial) -> closed/open.
#include "dlrd/core/fallback/circuit_breaker.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace dlrd {
namespace {

using B = BreakerState;

// One step of a scripted run: an operation at a time, and what it returns
// (Allow) or the state right after it.
enum class Op { kAllow, kSuccess, kFailure, kState };
struct Step {
  Op op;
  int64_t t;
  bool allowed = false;  // kAllow
  B state = B::kClosed;  // state(t) after the operation
};

Step Allow(int64_t t, bool allowed, B state) {
  return {Op::kAllow, t, allowed, state};
}
Step Ok(int64_t t, B state) { return {Op::kSuccess, t, false, state}; }
Step Fail(int64_t t, B state) { return {Op::kFailure, t, false, state}; }
Step At(int64_t t, B state) { return {Op::kState, t, false, state}; }

struct Script {
  std::string name;
  BreakerOptions options;
  std::vector<Step> steps;
};

// threshold 3, cooldown 1000 ms unless the script says otherwise.
const BreakerOptions k3x1000{.failure_threshold = 3, .cooldown_ms = 1000};

const std::vector<Script>& Scripts() {
  static const std::vector<Script> kScripts = {
      {"starts_closed",
       k3x1000,
       {At(0, B::kClosed), Allow(0, true, B::kClosed),
        Allow(1, true, B::kClosed)}},
      {"below_threshold_stays_closed",
       k3x1000,
       {Fail(1, B::kClosed), Fail(2, B::kClosed), Allow(3, true, B::kClosed)}},
      {"success_resets_the_count",
       k3x1000,
       {Fail(1, B::kClosed), Fail(2, B::kClosed), Ok(3, B::kClosed),
        Fail(4, B::kClosed), Fail(5, B::kClosed), Allow(6, true, B::kClosed),
        Fail(7, B::kOpen)}},
      {"threshold_opens_and_blocks_until_cooldown",
       k3x1000,
       {Fail(1, B::kClosed), Fail(2, B::kClosed), Fail(10, B::kOpen),
        Allow(10, false, B::kOpen), Allow(1009, false, B::kOpen),
        At(1009, B::kOpen), At(1010, B::kHalfOpen)}},
      {"half_open_lets_exactly_one_trial",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        Allow(1000, true, B::kHalfOpen), Allow(1000, false, B::kHalfOpen),
        Allow(1500, false, B::kHalfOpen), Allow(1999, false, B::kHalfOpen)}},
      {"trial_success_closes",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        Allow(1000, true, B::kHalfOpen), Ok(1200, B::kClosed),
        Allow(1201, true, B::kClosed), Allow(1202, true, B::kClosed),
        Fail(1300, B::kClosed), Fail(1301, B::kClosed), Fail(1302, B::kOpen)}},
      {"trial_failure_reopens_with_fresh_cooldown",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        Allow(1000, true, B::kHalfOpen), Fail(1400, B::kOpen),
        Allow(2000, false, B::kOpen), Allow(2399, false, B::kOpen),
        Allow(2400, true, B::kHalfOpen), Allow(2400, false, B::kHalfOpen),
        Ok(2500, B::kClosed)}},
      {"lost_trial_is_replaced_after_a_cooldown",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        Allow(1000, true, B::kHalfOpen), Allow(1999, false, B::kHalfOpen),
        Allow(2000, true, B::kHalfOpen), Allow(2001, false, B::kHalfOpen)}},
      {"late_failure_while_open_keeps_the_cooldown",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        Fail(900, B::kOpen), Allow(1000, true, B::kHalfOpen)}},
      {"late_success_while_open_closes",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        Ok(10, B::kClosed), Allow(11, true, B::kClosed)}},
      {"state_query_has_no_side_effect",
       k3x1000,
       {Fail(0, B::kClosed), Fail(0, B::kClosed), Fail(0, B::kOpen),
        At(5000, B::kHalfOpen), At(6000, B::kHalfOpen),
        Allow(6000, true, B::kHalfOpen), Allow(6000, false, B::kHalfOpen)}},
      {"clock_going_backwards_is_not_elapsed",
       k3x1000,
       {Fail(5000, B::kClosed), Fail(5000, B::kClosed), Fail(5000, B::kOpen),
        Allow(0, false, B::kOpen), Allow(6000, true, B::kHalfOpen)}},
      {"threshold_1",
       {.failure_threshold = 1, .cooldown_ms = 1000},
       {Fail(0, B::kOpen), Allow(1, false, B::kOpen)}},
      {"threshold_0_acts_as_1",
       {.failure_threshold = 0, .cooldown_ms = 1000},
       {Fail(0, B::kOpen), Allow(1, false, B::kOpen)}},
      {"cooldown_0_goes_half_open_at_once",
       {.failure_threshold = 1, .cooldown_ms = 0},
       {Fail(7, B::kHalfOpen), Allow(7, true, B::kHalfOpen),
        Fail(8, B::kHalfOpen), Allow(8, true, B::kHalfOpen),
        Ok(9, B::kClosed)}},
      {"negative_cooldown_acts_as_0",
       {.failure_threshold = 1, .cooldown_ms = -50},
       {Fail(7, B::kHalfOpen), Allow(7, true, B::kHalfOpen)}},
  };
  return kScripts;
}

TEST(CircuitBreaker, Scripts) {
  for (const Script& s : Scripts()) {
    SCOPED_TRACE(s.name);
    CircuitBreaker b(s.options);
    for (size_t i = 0; i < s.steps.size(); ++i) {
      const Step& step = s.steps[i];
      SCOPED_TRACE("step " + std::to_string(i) +
                   " t=" + std::to_string(step.t));
      switch (step.op) {
        case Op::kAllow:
          EXPECT_EQ(b.Allow(step.t), step.allowed);
          break;
        case Op::kSuccess:
          b.OnSuccess(step.t);
          break;
        case Op::kFailure:
          b.OnFailure(step.t);
          break;
        case Op::kState:
          break;
      }
      EXPECT_EQ(ToString(b.state(step.t)), ToString(step.state));
    }
  }
}

TEST(CircuitBreaker, DefaultsAreFiveFailuresAndThirtySeconds) {
  CircuitBreaker b;
  for (int i = 0; i < 4; ++i) b.OnFailure(i);
  EXPECT_EQ(b.consecutive_failures(), 4);
  EXPECT_EQ(b.state(4), B::kClosed);
  b.OnFailure(4);
  EXPECT_EQ(b.state(4), B::kOpen);
  EXPECT_FALSE(b.Allow(30003));
  EXPECT_TRUE(b.Allow(30004));
  b.OnSuccess(30005);
  EXPECT_EQ(b.consecutive_failures(), 0);
}

TEST(CircuitBreaker, NamesAndGaugeValues) {
  EXPECT_EQ(ToString(B::kClosed), "closed");
  EXPECT_EQ(ToString(B::kOpen), "open");
  EXPECT_EQ(ToString(B::kHalfOpen), "half_open");
  EXPECT_EQ(BreakerGaugeValue(B::kClosed), 0);
  EXPECT_EQ(BreakerGaugeValue(B::kHalfOpen), 1);
  EXPECT_EQ(BreakerGaugeValue(B::kOpen), 2);
}

}  // namespace
}  // namespace dlrd
