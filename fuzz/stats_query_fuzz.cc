// The stats query parser (include/dlrd/core/stats/stats.h ParseDims,
// ParseDurationMs, MakeQuery) and ParseTimestampMs
// (include/dlrd/core/util/field_reader.h), as /v1/stats and `dlrd stats`
// use them.
//
// Input: up to five lines: by (csv), since (duration), from and to
// (timestamps), and "hourly" to ask for a series. Invariants:
//   - dims parse back from their own names, in order, without repeats;
//   - a duration is > 0 and a multiple of a second;
//   - a timestamp > 0 (before year 10000) survives FormatTimestampMs and
//     ParseTimestampMs;
//   - a query's bounds are whole hours enclosing the requested range.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/stats/stats.h"
#include "fuzz_util.h"

namespace {

constexpr int64_t kHourMs = 3'600'000;

std::string_view NextLine(std::string_view* in) {
  size_t nl = in->find('\n');
  std::string_view line = in->substr(0, nl);
  in->remove_prefix(nl == std::string_view::npos ? in->size() : nl + 1);
  return line;
}

// 10000-01-01T00:00:00Z: "9999-12-31T23:59:60Z" (a leap second) parses to
// it, and FormatTimestampMs writes a five-digit year there.
constexpr int64_t kYear10000Ms = 253402300800000;

void CheckTimestamp(std::string_view text, std::optional<int64_t> ms) {
  if (!ms || *ms <= 0 || *ms >= kYear10000Ms) return;
  std::string formatted = dlrd::FormatTimestampMs(*ms);
  std::optional<int64_t> again = dlrd::ParseTimestampMs(formatted);
  DLRD_FUZZ_CHECK(again.has_value() && *again == *ms,
                  std::string(text) + " -> " + formatted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view by_text = NextLine(&in);
  const std::string_view since_text = NextLine(&in);
  const std::string_view from_text = NextLine(&in);
  const std::string_view to_text = NextLine(&in);
  const bool hourly = NextLine(&in) == "hourly";

  std::vector<dlrd::StatsDim> by;
  auto dims = dlrd::ParseDims(by_text);
  if (dims.ok()) {
    by = dims.value();
    std::string names;
    for (size_t i = 0; i < by.size(); ++i) {
      if (i > 0) names += ',';
      names += dlrd::ToString(by[i]);
      for (size_t j = 0; j < i; ++j) {
        DLRD_FUZZ_CHECK(by[i] != by[j], by_text);
      }
    }
    auto again = dlrd::ParseDims(names);
    DLRD_FUZZ_CHECK(again.ok() && again.value() == by, names);
  }

  int64_t since_ms = 24 * kHourMs;
  auto since = dlrd::ParseDurationMs(since_text);
  if (since.ok()) {
    DLRD_FUZZ_CHECK(since.value() > 0 && since.value() % 1000 == 0,
                    since_text);
    since_ms = since.value();
  }

  std::optional<int64_t> from = dlrd::ParseTimestampMs(from_text);
  std::optional<int64_t> to = dlrd::ParseTimestampMs(to_text);
  CheckTimestamp(from_text, from);
  CheckTimestamp(to_text, to);

  // As the API does: to defaults to now, from to `since` before to.
  const int64_t to_ms = to.value_or(1735689600123);
  const int64_t from_ms =
      from ? *from
           : (to_ms >= INT64_MIN + since_ms ? to_ms - since_ms : INT64_MIN);
  auto q = dlrd::MakeQuery(from_ms, to_ms, by, hourly);
  if (q.ok()) {
    const dlrd::StatsQuery& v = q.value();
    DLRD_FUZZ_CHECK(v.from_ms % kHourMs == 0 && v.to_ms % kHourMs == 0,
                    from_text);
    DLRD_FUZZ_CHECK(v.from_ms <= from_ms && v.to_ms >= to_ms, from_text);
    DLRD_FUZZ_CHECK(v.from_ms < v.to_ms, from_text);
  }
  return 0;
}
