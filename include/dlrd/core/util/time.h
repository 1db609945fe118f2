// Time and calendar arithmetic shared by the core: rounding Unix times to a
// period, and converting between day counts and proleptic Gregorian dates
// (UTC; no leap seconds). Pure; no clock is read here (docs/design.md §5.2).
#pragma once

#include <cstdint>

namespace dlrd {

// The start of the `unit`-long period holding `t`, negative times too.
// REQUIRES: unit > 0.
int64_t FloorTo(int64_t t, int64_t unit);
// The first multiple of `unit` >= `t`. REQUIRES: unit > 0.
int64_t CeilTo(int64_t t, int64_t unit);

bool IsLeapYear(int64_t year);
// Days in `month` (1-12) of `year`.
int DaysInMonth(int64_t year, int month);

// Days since 1970-01-01 of year-month-day (H. Hinnant's days_from_civil).
// REQUIRES: month in 1-12; a day past the month's end counts on into the
// next month.
int64_t DaysFromCivil(int64_t year, int month, int day);

struct CivilDate {
  int64_t year = 0;
  int month = 0;  // 1-12
  int day = 0;    // 1-31
};
// The date of a day count since 1970-01-01 (H. Hinnant's civil_from_days),
// negative counts too.
CivilDate CivilFromDays(int64_t days);

}  // namespace dlrd
