// Period rounding and calendar conversions (dlrd/core/util/time.h).
#include "dlrd/core/util/time.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace dlrd {
namespace {

TEST(FloorTo, RoundsDownNegativeTimesToo) {
  EXPECT_EQ(FloorTo(0, 10), 0);
  EXPECT_EQ(FloorTo(9, 10), 0);
  EXPECT_EQ(FloorTo(10, 10), 10);
  EXPECT_EQ(FloorTo(-1, 10), -10);
  EXPECT_EQ(FloorTo(-10, 10), -10);
  EXPECT_EQ(FloorTo(-11, 10), -20);
}

TEST(CeilTo, RoundsUpAndKeepsMultiples) {
  EXPECT_EQ(CeilTo(0, 10), 0);
  EXPECT_EQ(CeilTo(1, 10), 10);
  EXPECT_EQ(CeilTo(10, 10), 10);
  EXPECT_EQ(CeilTo(-1, 10), 0);
  EXPECT_EQ(CeilTo(-11, 10), -10);
}

TEST(Calendar, LeapYearsAndMonthLengths) {
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2023, 4), 30);
  EXPECT_EQ(DaysInMonth(2023, 12), 31);
}

TEST(Calendar, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2026, 1, 1), 20454);
  EXPECT_EQ(DaysFromCivil(0, 1, 1), -719528);
  // A day past the month's end counts on.
  EXPECT_EQ(DaysFromCivil(2023, 2, 29), DaysFromCivil(2023, 3, 1));
}

TEST(Calendar, CivilFromDaysRoundTrips) {
  for (int64_t days : {int64_t{-719528}, int64_t{-1}, int64_t{0},
                       int64_t{11016}, int64_t{11017}, int64_t{20454},
                       int64_t{2932896}}) {
    const CivilDate d = CivilFromDays(days);
    EXPECT_EQ(DaysFromCivil(d.year, d.month, d.day), days) << days;
  }
  const CivilDate leap = CivilFromDays(11016);
  EXPECT_EQ(leap.year, 2000);
  EXPECT_EQ(leap.month, 2);
  EXPECT_EQ(leap.day, 29);
  const CivilDate before = CivilFromDays(-1);
  EXPECT_EQ(before.year, 1969);
  EXPECT_EQ(before.month, 12);
  EXPECT_EQ(before.day, 31);
}

}  // namespace
}  // namespace dlrd
