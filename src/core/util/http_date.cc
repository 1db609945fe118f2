#include "dlrd/core/util/http_date.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dlrd/core/util/time.h"

namespace dlrd {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerDay = 86400 * kMsPerSecond;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A left-to-right reader over the date text; every Read* consumes exactly
// what it matched or fails.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }
  bool Literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) return false;
    s_.remove_prefix(lit.size());
    return true;
  }
  // Exactly `n` digits.
  std::optional<int> Digits(size_t n) {
    if (s_.size() < n) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!IsDigit(s_[i])) return std::nullopt;
      v = v * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    return v;
  }
  // One of `names` (exact case, as RFC 9110 spells them); its index.
  template <size_t N>
  std::optional<int> Name(const std::string_view (&names)[N]) {
    for (size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) return static_cast<int>(i);
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
};

constexpr std::string_view kDayNames[] = {"Mon", "Tue", "Wed", "Thu",
                                          "Fri", "Sat", "Sun"};
constexpr std::string_view kLongDayNames[] = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"};
constexpr std::string_view kMonthNames[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};

struct DateTime {
  int64_t year = 0;
  int month = 0;  // 1-12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

bool ReadTimeOfDay(Cursor& c, DateTime& t) {
  auto h = c.Digits(2);
  if (!h || !c.Literal(":")) return false;
  auto m = c.Digits(2);
  if (!m || !c.Literal(":")) return false;
  auto s = c.Digits(2);
  if (!s) return false;
  t.hour = *h;
  t.minute = *m;
  t.second = *s;
  return true;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<DateTime> ParseImfFixdate(std::string_view s) {
  Cursor c(s);
  DateTime t;
  if (!c.Name(kDayNames) || !c.Literal(", ")) return std::nullopt;
  auto day = c.Digits(2);
  if (!day || !c.Literal(" ")) return std::nullopt;
  auto month = c.Name(kMonthNames);
  if (!month || !c.Literal(" ")) return std::nullopt;
  auto year = c.Digits(4);
  if (!year || !c.Literal(" ") || !ReadTimeOfDay(c, t)) return std::nullopt;
  if (!c.Literal(" GMT") || !c.done()) return std::nullopt;
  t.year = *year;
  t.month = *month + 1;
  t.day = *day;
  return t;
}

// Obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year that
// would be more than 50 years after `now_year` is taken from the previous
// century (RFC 9110 §5.6.7).
std::optional<DateTime> ParseRfc850(std::string_view s, int64_t now_year) {
  Cursor c(s);
  DateTime t;
  if (!c.Name(kLongDayNames) || !c.Literal(", ")) return std::nullopt;
  auto day = c.Digits(2);
  if (!day || !c.Literal("-")) return std::nullopt;
  auto month = c.Name(kMonthNames);
  if (!month || !c.Literal("-")) return std::nullopt;
  auto yy = c.Digits(2);
  if (!yy || !c.Literal(" ") || !ReadTimeOfDay(c, t)) return std::nullopt;
  if (!c.Literal(" GMT") || !c.done()) return std::nullopt;
  int64_t year = now_year - now_year % 100 + *yy;
  if (year > now_year + 50) year -= 100;
  t.year = year;
  t.month = *month + 1;
  t.day = *day;
  return t;
}

// Obsolete asctime: "Sun Nov  6 08:49:37 1994".
std::optional<DateTime> ParseAsctime(std::string_view s) {
  Cursor c(s);
  DateTime t;
  if (!c.Name(kDayNames) || !c.Literal(" ")) return std::nullopt;
  auto month = c.Name(kMonthNames);
  if (!month || !c.Literal(" ")) return std::nullopt;
  std::optional<int> day;
  if (c.Literal(" ")) {
    day = c.Digits(1);
  } else {
    day = c.Digits(2);
  }
  if (!day || !c.Literal(" ") || !ReadTimeOfDay(c, t) || !c.Literal(" ")) {
    return std::nullopt;
  }
  auto year = c.Digits(4);
  if (!year || !c.done()) return std::nullopt;
  t.year = *year;
  t.month = *month + 1;
  t.day = *day;
  return t;
}

}  // namespace

std::optional<int64_t> ParseHttpDateMs(std::string_view s, int64_t now_ms) {
  const int64_t now_day =
      now_ms >= 0 ? now_ms / kMsPerDay : (now_ms - kMsPerDay + 1) / kMsPerDay;
  std::optional<DateTime> t = ParseImfFixdate(s);
  if (!t) t = ParseRfc850(s, CivilFromDays(now_day).year);
  if (!t) t = ParseAsctime(s);
  if (!t) return std::nullopt;
  if (t->day < 1 || t->day > DaysInMonth(t->year, t->month) || t->hour > 23 ||
      t->minute > 59 || t->second > 60) {
    return std::nullopt;
  }
  const int64_t days = DaysFromCivil(t->year, t->month, t->day);
  return days * kMsPerDay +
         ((t->hour * 60 + t->minute) * 60 + t->second) * kMsPerSecond;
}

}  // namespace dlrd
