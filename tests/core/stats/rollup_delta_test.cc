// RollupDelta: per-batch sums of rollup changes (pure core).
#include "dlrd/core/stats/rollup_delta.h"

#include <gtest/gtest.h>

#include "dlrd/core/stats/stats.h"

namespace dlrd {
namespace {

constexpr int64_t kT = 1'700'000'000'000;  // some instant

TEST(RollupDelta, SameHourAndGroupSumIntoOneRow) {
  RollupDelta d;
  d.AddHourly(kT, "src", "p", "sms", "IN", HourlyColumn::kCallbacks, 1);
  d.AddHourly(kT + 1000, "src", "p", "sms", "IN", HourlyColumn::kCallbacks, 1);
  d.AddHourly(kT, "src", "p", "sms", "IN", HourlyColumn::kSent, 1);
  d.AddHourly(kT, "src", "p", "sms", "US", HourlyColumn::kCallbacks, 1);
  d.AddHourly(kT + kHourMs, "src", "p", "sms", "IN", HourlyColumn::kCallbacks,
              1);
  ASSERT_EQ(d.hourly().size(), 3u);
  const RollupGroup in{HourFloor(kT), "src", "p", "sms", "IN"};
  const auto& counts = d.hourly().at(in);
  EXPECT_EQ(counts[static_cast<int>(HourlyColumn::kCallbacks)], 2);
  EXPECT_EQ(counts[static_cast<int>(HourlyColumn::kSent)], 1);
  EXPECT_EQ(counts[static_cast<int>(HourlyColumn::kFailed)], 0);
}

TEST(RollupDelta, MoveOutAndBackSumsToZero) {
  RollupDelta d;
  d.AddHourly(kT, "src", "p", "sms", "IN", HourlyColumn::kDelivered, -1);
  d.AddHourly(kT, "src", "p", "sms", "IN", HourlyColumn::kDelivered, 1);
  ASSERT_EQ(d.hourly().size(), 1u);
  for (int64_t n : d.hourly().begin()->second) EXPECT_EQ(n, 0);
}

TEST(RollupDelta, LatencyAndErrorsCountPerBucketAndCode) {
  RollupDelta d;
  d.AddLatency(kT, "src", "p", "sms", "IN", "provider", -1, 100);
  d.AddLatency(kT, "src", "p", "sms", "IN", "provider", -1, 200);
  d.AddLatency(kT, "src", "p", "sms", "IN", "provider", -1, 9000);
  d.AddError(kT, "src", "p", "sms", "IN", "30003");
  d.AddError(kT, "src", "p", "sms", "IN", "30003");
  d.AddError(kT, "src", "p", "sms", "IN", "30005");
  ASSERT_EQ(d.latency().size(), 2u);
  EXPECT_EQ(d.latency().begin()->first.bucket, LatencyBucket(100));
  EXPECT_EQ(d.latency().begin()->second, 2);
  ASSERT_EQ(d.errors().size(), 2u);
  EXPECT_EQ(d.errors().begin()->second, 2);
}

TEST(RollupDelta, MergeAddsAndClearEmpties) {
  RollupDelta a, b;
  a.AddHourly(kT, "s", "p", "sms", "", HourlyColumn::kCallbacks, 1);
  b.AddHourly(kT, "s", "p", "sms", "", HourlyColumn::kCallbacks, 2);
  b.AddError(kT, "s", "p", "sms", "", "e");
  a.Merge(b);
  EXPECT_EQ(a.hourly().begin()->second[0], 3);
  EXPECT_EQ(a.errors().size(), 1u);
  a.Clear();
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(b.empty());
}

}  // namespace
}  // namespace dlrd
