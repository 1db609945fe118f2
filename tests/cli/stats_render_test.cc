// `dlrd stats` renderings (src/cli/stats_render.h): the CSV rows and the
// aligned table, on a small hand-built report.
#include "cli/stats_render.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace dlrd {
namespace {

constexpr int64_t k2026 = 1767225600000;  // 2026-01-01T00:00:00Z

StatsReport Report() {
  StatsReport r;
  r.query.from_ms = k2026;
  r.query.to_ms = k2026 + kHourMs;
  r.query.by = {StatsDim::kProvider};
  Figures twilio;
  twilio.callbacks = 3;
  twilio.sent = 2;
  twilio.delivered = 1;
  twilio.failed = 1;
  twilio.verified = 1;
  twilio.errors = {{"30008", 1}, {"30003", 1}};
  Figures odd;
  odd.callbacks = 1;
  r.groups = {StatsRow{{"twilio"}, std::nullopt, twilio},
              StatsRow{{"a,\"b\""}, std::nullopt, odd},
              StatsRow{{""}, std::nullopt, odd}};
  r.total = twilio;
  r.total.Add(odd);
  r.total.Add(odd);
  return r;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(StatsCsv, HeaderGroupsNoTotalAndQuoting) {
  EXPECT_EQ(ToCsv(Report()),
            "provider,callbacks,sent,delivered,failed,verified,delivery,"
            "conversion,p50_ms,p90_ms,p99_ms,fb_trig,fb_recovered,fb_wasted,"
            "sig_fail,top_error\n"
            "twilio,3,2,1,1,1,50.0%,50.0%,-,-,-,0,0,0,0,30003(1)\n"
            "\"a,\"\"b\"\"\",1,0,0,0,0,-,-,-,-,-,0,0,0,0,-\n"
            "-,1,0,0,0,0,-,-,-,-,-,0,0,0,0,-\n");
}

TEST(StatsTable, WindowLineThenAlignedRowsAndTotal) {
  const std::vector<std::string> lines = SplitLines(ToTable(Report()));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0],
            "window 2026-01-01T00:00:00.000Z .. 2026-01-01T01:00:00.000Z "
            "(latency: provider-reported, ms; delivery and conversion per "
            "send)");
  for (size_t i = 2; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].size(), lines[1].size()) << lines[i];
  }
  EXPECT_EQ(lines[1].rfind("provider  ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("twilio    ", 0), 0u) << lines[2];
  EXPECT_EQ(lines[5].rfind("TOTAL     ", 0), 0u) << lines[5];
  // Figures are right-aligned; the last column is the top error.
  EXPECT_EQ(lines[2].substr(lines[2].size() - 8), "30003(1)");
  EXPECT_EQ(lines[5].substr(lines[5].size() - 8), "30003(1)");
}

TEST(StatsTable, WithoutByTheGroupIsTheTotal) {
  StatsReport r = Report();
  r.query.by.clear();
  r.groups = {StatsRow{{}, std::nullopt, r.total}};
  const std::vector<std::string> lines = SplitLines(ToTable(r));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].rfind("callbacks", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].find("TOTAL"), std::string::npos);
}

}  // namespace
}  // namespace dlrd
