// RateLimiter: token buckets driven by an explicit `now` (no sleeping).
#include "dlrd/app/ingest/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace dlrd {
namespace {

constexpr int64_t kT0 = 1'735'689'600'000;  // any Unix time in ms

RateLimiterOptions Opts(double per_s, int64_t burst, size_t max = 65536) {
  RateLimiterOptions o;
  o.per_s = per_s;
  o.burst = burst;
  o.max_buckets = max;
  return o;
}

TEST(RateLimiter, BurstThenRefill) {
  RateLimiter rl(Opts(1, 3));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Allow("a", kT0)) << i;
  int64_t retry = 0;
  EXPECT_FALSE(rl.Allow("a", kT0, &retry));
  EXPECT_EQ(retry, 1);
  // 999 ms later: still 0.999 tokens.
  EXPECT_FALSE(rl.Allow("a", kT0 + 999, &retry));
  EXPECT_EQ(retry, 1);
  // One second after the burst: exactly one token.
  EXPECT_TRUE(rl.Allow("a", kT0 + 1000));
  EXPECT_FALSE(rl.Allow("a", kT0 + 1000));
  // A long pause refills only up to burst.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Allow("a", kT0 + 60'000)) << i;
  EXPECT_FALSE(rl.Allow("a", kT0 + 60'000));
}

TEST(RateLimiter, KeysAreIndependent) {
  RateLimiter rl(Opts(1, 1));
  EXPECT_TRUE(rl.Allow("203.0.113.7", kT0));
  EXPECT_FALSE(rl.Allow("203.0.113.7", kT0));
  EXPECT_TRUE(rl.Allow("198.51.100.9", kT0));
  EXPECT_TRUE(rl.Allow("2001:db8::1", kT0));
  EXPECT_EQ(rl.size(), 3u);
}

TEST(RateLimiter, RetryAfterIsWholeSecondsAtLeastOne) {
  const struct {
    double per_s;
    int64_t burst;
    int64_t elapsed_ms;  // after draining the bucket
    int64_t want_retry_s;
  } cases[] = {
      {1, 1, 0, 1},
      {1, 1, 500, 1},     // 0.5 s left -> rounds up to 1
      {0.5, 1, 0, 2},     // one token per 2 s
      {0.5, 1, 1500, 1},  // 0.5 s left
      {0.1, 2, 0, 10},
      {0.1, 2, 1, 10},  // 9.99 s left -> 10
      {0.1, 2, 1000, 9},
      {100, 10, 0, 1},           // 10 ms left, still at least 1
      {0.000001, 1, 0, 86'400},  // capped at a day
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.per_s) + "/s elapsed " +
                 std::to_string(c.elapsed_ms));
    RateLimiter rl(Opts(c.per_s, c.burst));
    for (int64_t i = 0; i < c.burst; ++i) ASSERT_TRUE(rl.Allow("k", kT0));
    int64_t retry = -1;
    ASSERT_FALSE(rl.Allow("k", kT0 + c.elapsed_ms, &retry));
    EXPECT_EQ(retry, c.want_retry_s);
  }
}

TEST(RateLimiter, FractionalRate) {
  RateLimiter rl(Opts(2.5, 1));  // a token every 400 ms
  EXPECT_TRUE(rl.Allow("k", kT0));
  EXPECT_FALSE(rl.Allow("k", kT0 + 399));
  EXPECT_TRUE(rl.Allow("k", kT0 + 400));
  EXPECT_FALSE(rl.Allow("k", kT0 + 400));
}

TEST(RateLimiter, DenialDoesNotConsume) {
  RateLimiter rl(Opts(1, 1));
  EXPECT_TRUE(rl.Allow("k", kT0));
  for (int i = 1; i < 10; ++i) EXPECT_FALSE(rl.Allow("k", kT0 + i * 100));
  EXPECT_TRUE(rl.Allow("k", kT0 + 1000));
}

TEST(RateLimiter, WouldAllowOnlyLooks) {
  RateLimiter rl(Opts(1, 2));
  // An unknown key: allowed, and looking creates no bucket.
  EXPECT_TRUE(rl.WouldAllow("k", kT0));
  EXPECT_EQ(rl.size(), 0u);
  // Looking takes no token: still two requests after any number of looks.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.WouldAllow("k", kT0));
  EXPECT_TRUE(rl.Allow("k", kT0));
  EXPECT_TRUE(rl.WouldAllow("k", kT0));
  EXPECT_TRUE(rl.Allow("k", kT0));
  EXPECT_FALSE(rl.WouldAllow("k", kT0));
  EXPECT_FALSE(rl.WouldAllow("k", kT0 + 999));
  // It sees the refill, and looking at 999 ms did not restart the clock.
  EXPECT_TRUE(rl.WouldAllow("k", kT0 + 1000));
  EXPECT_TRUE(rl.Allow("k", kT0 + 1000));
  EXPECT_FALSE(rl.WouldAllow("k", kT0 + 1000));
  EXPECT_FALSE(rl.Allow("k", kT0 + 1000));
}

TEST(RateLimiter, ClockStepBackRefillsNothingAndLocksNoOneOut) {
  RateLimiter rl(Opts(1, 2));
  EXPECT_TRUE(rl.Allow("k", kT0));
  EXPECT_TRUE(rl.Allow("k", kT0));
  // The wall clock steps back an hour: no refill...
  EXPECT_FALSE(rl.Allow("k", kT0 - 3'600'000));
  // ...but time then runs on from the new reading, not from the old one.
  EXPECT_TRUE(rl.Allow("k", kT0 - 3'600'000 + 1000));
}

TEST(RateLimiter, BoundedEvictsFullBucketsFirst) {
  RateLimiter rl(Opts(1, 2, /*max=*/3));
  // "busy" is drained; "idle1"/"idle2" used one token each.
  EXPECT_TRUE(rl.Allow("busy", kT0));
  EXPECT_TRUE(rl.Allow("busy", kT0));
  EXPECT_TRUE(rl.Allow("idle1", kT0));
  EXPECT_TRUE(rl.Allow("idle2", kT0));
  EXPECT_EQ(rl.size(), 3u);
  // 1.5 s later idle1/idle2 are full again, "busy" (touched most recently
  // below) is not: a new key sweeps the full ones, keeping "busy".
  EXPECT_FALSE(rl.Allow("busy", kT0 + 100));
  EXPECT_TRUE(rl.Allow("new", kT0 + 1500));
  EXPECT_EQ(rl.size(), 2u);
  // "busy" kept its state: 0.1 + 1.4 = 1.5 tokens, so one request and
  // not the two of a fresh bucket.
  EXPECT_TRUE(rl.Allow("busy", kT0 + 1500));
  EXPECT_FALSE(rl.Allow("busy", kT0 + 1500));
}

TEST(RateLimiter, BoundedFallsBackToLeastRecentlyUsed) {
  RateLimiter rl(Opts(0.001, 1, /*max=*/2));  // nothing refills in the test
  EXPECT_TRUE(rl.Allow("a", kT0));
  EXPECT_TRUE(rl.Allow("b", kT0 + 1));
  EXPECT_FALSE(rl.Allow("a", kT0 + 2));  // "a" is now most recently used
  EXPECT_TRUE(rl.Allow("c", kT0 + 3));   // full, none refilled: "b" goes
  EXPECT_EQ(rl.size(), 2u);
  EXPECT_FALSE(rl.Allow("a", kT0 + 4));  // kept: still empty
  EXPECT_TRUE(rl.Allow("b", kT0 + 5));   // forgotten: a fresh bucket
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, ManyKeysStayBounded) {
  RateLimiter rl(Opts(1, 1, /*max=*/1000));
  for (int i = 0; i < 100'000; ++i) {
    rl.Allow("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
             kT0 + i / 50);
    ASSERT_LE(rl.size(), 1000u);
  }
}

TEST(RateLimiter, ConcurrentCallersShareOneBucket) {
  RateLimiter rl(Opts(1, 1000));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (rl.Allow("shared", kT0)) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);  // exactly the burst, never more
}

}  // namespace
}  // namespace dlrd
