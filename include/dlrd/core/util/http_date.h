// HTTP-date parsing (the date form of Retry-After). Pure: the caller passes
// `now`, which only resolves the century of an obsolete two-digit year.
//
// Accepted, exactly as spelled (case-sensitive names, fixed widths, "GMT"):
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"  (obsolete; a two-digit
//                year more than 50 years after now's year is taken from the
//                previous century)
//   asctime      "Sun Nov  6 08:49:37 1994"       (obsolete)
// The day of the month must exist (leap years included), hours 0-23,
// minutes 0-59, seconds 0-60; the week day is not cross-checked against the
// date. No surrounding whitespace is skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dlrd {

// Milliseconds since 1970-01-01T00:00:00Z of the HTTP-date `s`, or nullopt
// if `s` is none of the three forms. `now_ms` is the current Unix time in
// milliseconds.
std::optional<int64_t> ParseHttpDateMs(std::string_view s, int64_t now_ms);

}  // namespace dlrd
