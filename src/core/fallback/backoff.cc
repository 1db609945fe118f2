#include "dlrd/core/fallback/backoff.h"

#include <algorithm>
#include <cmath>

namespace dlrd {
namespace {

// min(cap, base * 2^(attempt-1)) without overflow: doubling stops as soon
// as the window reaches the cap, so at most ~63 iterations.
int64_t Window(int attempt, int64_t base, int64_t cap) {
  if (base <= 0 || cap <= 0) return 0;
  int64_t window = std::min(base, cap);
  for (int i = 1; i < attempt && window < cap; ++i) {
    window = window > cap / 2 ? cap : window * 2;
  }
  return window;
}

}  // namespace

int64_t FullJitterBackoffMs(int attempt, const RetryPolicy& policy,
                            double unit) {
  const int64_t window =
      Window(std::max(attempt, 1), policy.base_ms, policy.cap_ms);
  if (window == 0) return 0;
  if (!(unit > 0.0)) return 0;  // also NaN
  // double has 53 bits of mantissa: for windows beyond 2^53 ms (never in
  // practice) the product may round up to `window`, hence the clamp.
  const double scaled =
      std::floor(std::min(unit, 1.0) * static_cast<double>(window));
  if (scaled >= static_cast<double>(window)) return window - 1;
  return static_cast<int64_t>(scaled);
}

int64_t RetryDelayMs(int attempt, int64_t retry_after_ms,
                     const RetryPolicy& policy, double unit) {
  const int64_t ceiling = std::max<int64_t>(policy.ceiling_ms, 0);
  const int64_t delay =
      std::max(retry_after_ms, FullJitterBackoffMs(attempt, policy, unit));
  return std::clamp<int64_t>(delay, 0, ceiling);
}

}  // namespace dlrd
