// HTTP-date parsing (dlrd/core/util/http_date.h): the three forms, calendar
// checks, the two-digit-year window, and what is refused.
#include "dlrd/core/util/http_date.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace dlrd {
namespace {

constexpr int64_t kNowMs = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr int64_t k2026 = 1767225600000;  // Thu, 01 Jan 2026 00:00:00 GMT
constexpr int64_t k2000 = 946684800000;   // Sat, 01 Jan 2000 00:00:00 GMT

TEST(ParseHttpDateMs, ThreeForms) {
  EXPECT_EQ(ParseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT", kNowMs), kNowMs);
  EXPECT_EQ(ParseHttpDateMs("Sunday, 06-Nov-94 08:49:37 GMT", kNowMs), kNowMs);
  EXPECT_EQ(ParseHttpDateMs("Sun Nov  6 08:49:37 1994", kNowMs), kNowMs);
  EXPECT_EQ(ParseHttpDateMs("Sun Nov 16 08:49:37 1994", kNowMs),
            kNowMs + 10 * 86400000LL);
  EXPECT_EQ(ParseHttpDateMs("Thu, 01 Jan 1970 00:00:00 GMT", kNowMs), 0);
}

TEST(ParseHttpDateMs, NowDoesNotMatterOutsideRfc850) {
  EXPECT_EQ(ParseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT", 0), kNowMs);
  EXPECT_EQ(ParseHttpDateMs("Sun Nov  6 08:49:37 1994", k2026), kNowMs);
  EXPECT_EQ(ParseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT", -1000), kNowMs);
}

TEST(ParseHttpDateMs, CalendarChecks) {
  // Leap days; the week day is not cross-checked.
  EXPECT_EQ(ParseHttpDateMs("Thu, 29 Feb 2024 00:00:00 GMT", kNowMs),
            1709164800000);
  EXPECT_EQ(ParseHttpDateMs("Mon, 29 Feb 2024 00:00:01 GMT", kNowMs),
            1709164801000);
  EXPECT_EQ(ParseHttpDateMs("Tue, 29 Feb 2000 00:00:00 GMT", kNowMs),
            951782400000);
  EXPECT_EQ(ParseHttpDateMs("Thu, 29 Feb 1900 00:00:00 GMT", kNowMs),
            std::nullopt);
  EXPECT_EQ(ParseHttpDateMs("Sun, 29 Feb 2023 00:00:00 GMT", kNowMs),
            std::nullopt);
  EXPECT_EQ(ParseHttpDateMs("Sun, 31 Apr 2030 00:00:00 GMT", kNowMs),
            std::nullopt);
  EXPECT_EQ(ParseHttpDateMs("Sun, 00 Apr 2030 00:00:00 GMT", kNowMs),
            std::nullopt);
  EXPECT_EQ(ParseHttpDateMs("Sun, 06 Nov 2030 24:00:00 GMT", kNowMs),
            std::nullopt);
  EXPECT_EQ(ParseHttpDateMs("Sun, 06 Nov 2030 23:60:00 GMT", kNowMs),
            std::nullopt);
  // A leap second is read as the next second.
  EXPECT_EQ(ParseHttpDateMs("Sat, 31 Dec 2016 23:59:60 GMT", kNowMs),
            1483228800000);
  EXPECT_EQ(ParseHttpDateMs("Sat, 31 Dec 2016 23:59:61 GMT", kNowMs),
            std::nullopt);
}

TEST(ParseHttpDateMs, Rfc850TwoDigitYears) {
  // At most 50 years after now's year, else the previous century.
  EXPECT_EQ(ParseHttpDateMs("Saturday, 01-Jan-76 00:00:00 GMT", k2026),
            3345062400000);
  EXPECT_EQ(ParseHttpDateMs("Friday, 01-Jan-77 00:00:00 GMT", k2026),
            220924800000);
  EXPECT_EQ(ParseHttpDateMs("Saturday, 01-Jan-00 00:00:00 GMT", k2000),
            k2000);
  EXPECT_EQ(ParseHttpDateMs("Friday, 01-Jan-99 00:00:00 GMT", k2000),
            915148800000);
}

TEST(ParseHttpDateMs, Refused) {
  for (const char* s : {
           "",
           "soon",
           "2030-11-06T08:49:37Z",
           "Sun, 6 Nov 2030 08:49:37 GMT",
           "Sun, 06 Nov 2030 08:49:37 UTC",
           "Sun, 06 Nov 2030 08:49:37 GMT x",
           " Sun, 06 Nov 2030 08:49:37 GMT",
           "Sun, 06 Nov 2030 08:49:37 GMT ",
           "sun, 06 nov 2030 08:49:37 gmt",
           "Sun, 06 Nov 2030",
           "Sun,06 Nov 2030 08:49:37 GMT",
           "Sun, 06 Nov 30 08:49:37 GMT",
           "Sun Nov 6 08:49:47 1994",
           "Sunday, 06-Nov-1994 08:49:47 GMT",
           "Sun, 06-Nov-94 08:49:47 GMT",
           "Sunday, 06 Nov 1994 08:49:47 GMT",
       }) {
    SCOPED_TRACE(s);
    EXPECT_EQ(ParseHttpDateMs(s, kNowMs), std::nullopt);
  }
}

}  // namespace
}  // namespace dlrd
