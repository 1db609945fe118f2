// Full-jitter backoff and Retry-After: bounds, dominance and the ceiling.
#include "dlrd/core/fallback/backoff.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>

namespace dlrd {
namespace {

// The largest unit a uniform [0, 1) source can return.
const double kAlmostOne = std::nextafter(1.0, 0.0);

TEST(FullJitterBackoff, Table) {
  RetryPolicy p;  // base 1 s, cap 60 s
  static const struct {
    int attempt;
    double unit;
    int64_t want;
  } kCases[] = {
      // unit 0: always 0.
      {1, 0.0, 0},
      {5, 0.0, 0},
      {1000, 0.0, 0},
      // unit -> 1: just under the window, which doubles up to the cap.
      {1, kAlmostOne, 999},
      {2, kAlmostOne, 1999},
      {3, kAlmostOne, 3999},
      {6, kAlmostOne, 31999},
      {7, kAlmostOne, 59999},  // 64 s capped to 60 s
      {8, kAlmostOne, 59999},
      // unit 0.5: half the window, floored.
      {1, 0.5, 500},
      {2, 0.5, 1000},
      {7, 0.5, 30000},
      {1, 0.0015, 1},
      {1, 0.0009, 0},
      // Huge attempt numbers stay at the cap.
      {62, kAlmostOne, 59999},
      {63, kAlmostOne, 59999},
      {64, kAlmostOne, 59999},
      {100000, kAlmostOne, 59999},
      {INT_MAX, kAlmostOne, 59999},
      // attempt < 1 acts as 1.
      {0, kAlmostOne, 999},
      {-5, kAlmostOne, 999},
      {INT_MIN, 0.5, 500},
      // Out-of-range units are clamped.
      {1, -0.5, 0},
      {1, std::numeric_limits<double>::quiet_NaN(), 0},
      {1, 1.0, 999},
      {1, 7.0, 999},
      {1, std::numeric_limits<double>::infinity(), 999},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(FullJitterBackoffMs(c.attempt, p, c.unit), c.want)
        << "attempt " << c.attempt << " unit " << c.unit;
  }
}

TEST(FullJitterBackoff, AlwaysInsideTheWindow) {
  RetryPolicy p;
  p.base_ms = 250;
  p.cap_ms = 20000;
  for (int attempt = 1; attempt <= 40; ++attempt) {
    const int64_t window = std::min<int64_t>(
        p.cap_ms, attempt > 20 ? p.cap_ms : p.base_ms << (attempt - 1));
    for (double unit = 0.0; unit < 1.0; unit += 0.037) {
      const int64_t d = FullJitterBackoffMs(attempt, p, unit);
      EXPECT_GE(d, 0);
      EXPECT_LT(d, window) << attempt << " " << unit;
    }
  }
}

TEST(FullJitterBackoff, NoOverflowWithExtremePolicies) {
  RetryPolicy p;
  p.base_ms = 1;
  p.cap_ms = std::numeric_limits<int64_t>::max();
  for (int attempt : {1, 62, 63, 64, 65, 1000, INT_MAX}) {
    const int64_t d = FullJitterBackoffMs(attempt, p, kAlmostOne);
    EXPECT_GE(d, 0) << attempt;
    EXPECT_LT(d, p.cap_ms) << attempt;
  }
  EXPECT_EQ(FullJitterBackoffMs(63, p, 0.5), int64_t{1} << 61);
  p.base_ms = std::numeric_limits<int64_t>::max();
  EXPECT_GE(FullJitterBackoffMs(INT_MAX, p, kAlmostOne), 0);
}

TEST(FullJitterBackoff, DegeneratePolicies) {
  RetryPolicy p;
  p.base_ms = 0;
  EXPECT_EQ(FullJitterBackoffMs(10, p, kAlmostOne), 0);
  p.base_ms = -1000;
  EXPECT_EQ(FullJitterBackoffMs(10, p, kAlmostOne), 0);
  p = RetryPolicy();
  p.cap_ms = 0;
  EXPECT_EQ(FullJitterBackoffMs(10, p, kAlmostOne), 0);
  p.cap_ms = 400;  // below base: the window is the cap from attempt 1
  EXPECT_EQ(FullJitterBackoffMs(1, p, kAlmostOne), 399);
  EXPECT_EQ(FullJitterBackoffMs(9, p, kAlmostOne), 399);
}

TEST(RetryDelay, Table) {
  RetryPolicy p;  // ceiling 15 min
  static const struct {
    const char* name;
    int attempt;
    int64_t retry_after_ms;
    double unit;
    int64_t want;
  } kCases[] = {
      {"no_retry_after_is_backoff", 3, -1, kAlmostOne, 3999},
      {"no_retry_after_unit_0", 3, -1, 0.0, 0},
      {"retry_after_dominates_short_backoff", 1, 5000, kAlmostOne, 5000},
      {"retry_after_dominates_unit_0", 7, 5000, 0.0, 5000},
      {"backoff_dominates_short_retry_after", 3, 100, kAlmostOne, 3999},
      {"retry_after_zero", 1, 0, 0.0, 0},
      {"retry_after_at_ceiling", 1, 900000, 0.5, 900000},
      {"retry_after_over_ceiling", 1, 7200000, 0.5, 900000},
      {"retry_after_huge", 1, std::numeric_limits<int64_t>::max(), 0.5, 900000},
      {"negative_retry_after_is_none", 1, -123456, 0.5, 500},
      {"huge_attempt", INT_MAX, -1, kAlmostOne, 59999},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(RetryDelayMs(c.attempt, c.retry_after_ms, p, c.unit), c.want)
        << c.name;
  }
}

TEST(RetryDelay, CeilingBelowBackoffWins) {
  RetryPolicy p;
  p.ceiling_ms = 2000;
  EXPECT_EQ(RetryDelayMs(7, -1, p, kAlmostOne), 2000);
  EXPECT_EQ(RetryDelayMs(7, 60000, p, 0.0), 2000);
  p.ceiling_ms = -1;  // acts as 0
  EXPECT_EQ(RetryDelayMs(7, 60000, p, kAlmostOne), 0);
}

}  // namespace
}  // namespace dlrd
