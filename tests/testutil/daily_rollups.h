// The daily rollups (schema/0006_stats_daily.sql) next to the hourly rows
// summed by UTC day, as one string per table, so a test can EXPECT_EQ the
// two and a mismatch prints both sides. Rows whose values are all zero are
// left out on both sides: a missing row counts as zero (retention deletes
// the daily rows that reach zero).
#pragma once

#include <string>
#include <vector>

#include "testutil/sqlite_file.h"

namespace dlrd::testutil {

struct RollupTwin {
  const char* hourly;
  const char* daily;
  std::vector<std::string> keys;    // after the time column
  std::vector<std::string> values;  // summed
};

inline const std::vector<RollupTwin>& RollupTwins() {
  static const std::vector<RollupTwin> kTwins = {
      {"stats_hourly",
       "stats_daily",
       {"source", "provider", "channel", "country"},
       {"callbacks", "sent", "delivered", "failed", "verified",
        "fallback_triggered", "fallback_recovered", "fallback_wasted",
        "signature_failures"}},
      {"stats_latency",
       "stats_latency_daily",
       {"source", "provider", "channel", "country", "kind", "step", "bucket"},
       {"n"}},
      {"stats_errors",
       "stats_errors_daily",
       {"source", "provider", "channel", "country", "error_code"},
       {"n"}},
  };
  return kTwins;
}

namespace internal {

inline std::string Join(const std::vector<std::string>& parts,
                        const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// "day/k1/k2...=v1,v2..." per row, sorted, space-separated.
inline std::string Concat(SqliteFile& db, const std::string& day,
                          const std::vector<std::string>& keys,
                          const std::vector<std::string>& values,
                          const std::string& from_where) {
  std::vector<std::string> k = {day};
  k.insert(k.end(), keys.begin(), keys.end());
  return db.Value("SELECT coalesce(group_concat(r, ' '), '') FROM (SELECT " +
                  Join(k, " || '/' || ") + " || '=' || " +
                  Join(values, " || ',' || ") + " AS r " + from_where +
                  " ORDER BY r)");
}

}  // namespace internal

// The daily table's rows.
inline std::string DailyRows(SqliteFile& db, const RollupTwin& t) {
  std::vector<std::string> nonzero;
  for (const std::string& c : t.values) nonzero.push_back(c + " != 0");
  return internal::Concat(db, "day_ms", t.keys, t.values,
                          std::string("FROM ") + t.daily + " WHERE " +
                              internal::Join(nonzero, " OR "));
}

// The hourly table's rows summed by UTC day.
inline std::string HourlyRowsByDay(SqliteFile& db, const RollupTwin& t) {
  std::vector<std::string> sums, nonzero;
  for (const std::string& c : t.values) {
    sums.push_back("SUM(" + c + ")");
    nonzero.push_back("SUM(" + c + ") != 0");
  }
  std::vector<std::string> group = {
      "hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000"};
  group.insert(group.end(), t.keys.begin(), t.keys.end());
  return internal::Concat(
      db, "(hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000)", t.keys,
      sums,
      std::string("FROM ") + t.hourly + " GROUP BY " +
          internal::Join(group, ", ") + " HAVING " +
          internal::Join(nonzero, " OR "));
}

}  // namespace dlrd::testutil
