// The PostgreSQL stats reader on the suite's real server, against the
// SQLite one: the same rollup rows, seeded into a SQLite file (migrated by
// SqliteEventStore::Open) and into a PostgreSQL database (MigratePostgres),
// give equal StatsReports, field by field, for windows with and without
// whole days (partial days at both ends), every kind of grouping, with and
// without the hourly series, and windows with no data at all. The daily
// tables are what answer the whole days (daily and hourly-only reads agree,
// and part when a daily row is changed). A connection killed between two
// queries is reconnected; a server that refuses the reconnect answers
// kUnavailable (503), and the next query works again.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "dlrd/core/stats/stats.h"
#include "dlrd/postgres/pg_database.h"
#include "dlrd/postgres/pg_stats_reader.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_stats_reader.h"
#include "testutil/pg_test_db.h"
#include "testutil/status_matchers.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

using testutil::PgTestDb;
using testutil::TempDir;

// 2024-03-01T00:00:00Z: the seed covers days 0..5 after it.
constexpr int64_t kDay0 = 1'709'251'200'000;
constexpr int kDays = 6;

PgTarget Target(const PgTestDb& db, std::string app = "dlrd-stats-test") {
  PgTarget t;
  t.uri = db.uri();
  t.application_name = std::move(app);
  return t;
}

// --- Field-by-field comparison of two reports ------------------------------

class Diff {
 public:
  template <typename T>
  void Field(const std::string& path, const T& a, const T& b) {
    if (a == b) return;
    std::ostringstream line;
    line << path << ": " << Show(a) << " vs " << Show(b);
    lines_.push_back(line.str());
  }
  // Sizes first: past a size mismatch the elements are not compared.
  bool Size(const std::string& path, size_t a, size_t b) {
    Field(path + ".size", a, b);
    return a == b;
  }
  ::testing::AssertionResult Result() const {
    if (lines_.empty()) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure();
    failure << lines_.size() << " difference(s):";
    for (size_t i = 0; i < lines_.size() && i < 30; ++i) {
      failure << "\n  " << lines_[i];
    }
    return failure;
  }

 private:
  template <typename T>
  static std::string Show(const T& v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }
  static std::string Show(const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : "null";
  }
  static std::string Show(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const std::string& s : v) out += (out.size() > 1 ? "," : "") + s;
    return out + "]";
  }
  std::vector<std::string> lines_;
};

void CompareHistogram(Diff& d, const std::string& path,
                      const LatencyHistogram& a, const LatencyHistogram& b) {
  for (int i = 0; i < kLatencyBuckets; ++i) {
    d.Field(path + "[" + std::to_string(i) + "]", a[i], b[i]);
  }
}

void CompareFigures(Diff& d, const std::string& p, const Figures& a,
                    const Figures& b) {
  d.Field(p + ".callbacks", a.callbacks, b.callbacks);
  d.Field(p + ".sent", a.sent, b.sent);
  d.Field(p + ".delivered", a.delivered, b.delivered);
  d.Field(p + ".failed", a.failed, b.failed);
  d.Field(p + ".verified", a.verified, b.verified);
  d.Field(p + ".fallback_triggered", a.fallback_triggered,
          b.fallback_triggered);
  d.Field(p + ".fallback_recovered", a.fallback_recovered,
          b.fallback_recovered);
  d.Field(p + ".fallback_wasted", a.fallback_wasted, b.fallback_wasted);
  d.Field(p + ".signature_failures", a.signature_failures,
          b.signature_failures);
  CompareHistogram(d, p + ".provider_latency", a.provider_latency,
                   b.provider_latency);
  CompareHistogram(d, p + ".derived_latency", a.derived_latency,
                   b.derived_latency);
  if (d.Size(p + ".step_latency", a.step_latency.size(),
             b.step_latency.size())) {
    auto ia = a.step_latency.begin();
    for (auto ib = b.step_latency.begin(); ib != b.step_latency.end();
         ++ia, ++ib) {
      d.Field(p + ".step_latency.key", ia->first, ib->first);
      CompareHistogram(d, p + ".step_latency[" + std::to_string(ia->first) +
                              "]",
                       ia->second, ib->second);
    }
  }
  if (d.Size(p + ".errors", a.errors.size(), b.errors.size())) {
    auto ia = a.errors.begin();
    for (auto ib = b.errors.begin(); ib != b.errors.end(); ++ia, ++ib) {
      d.Field(p + ".errors.key", ia->first, ib->first);
      d.Field(p + ".errors[" + ia->first + "]", ia->second, ib->second);
    }
  }
}

void CompareRows(Diff& d, const std::string& p, const std::vector<StatsRow>& a,
                 const std::vector<StatsRow>& b) {
  if (!d.Size(p, a.size(), b.size())) return;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string row = p + "[" + std::to_string(i) + "]";
    d.Field(row + ".key", a[i].key, b[i].key);
    d.Field(row + ".hour_ms", a[i].hour_ms, b[i].hour_ms);
    CompareFigures(d, row + ".figures", a[i].figures, b[i].figures);
  }
}

::testing::AssertionResult SameReport(const StatsReport& a,
                                      const StatsReport& b) {
  Diff d;
  d.Field("query.from_ms", a.query.from_ms, b.query.from_ms);
  d.Field("query.to_ms", a.query.to_ms, b.query.to_ms);
  if (d.Size("query.by", a.query.by.size(), b.query.by.size())) {
    for (size_t i = 0; i < a.query.by.size(); ++i) {
      d.Field("query.by[" + std::to_string(i) + "]",
              std::string(ToString(a.query.by[i])),
              std::string(ToString(b.query.by[i])));
    }
  }
  d.Field("query.hourly", a.query.hourly, b.query.hourly);
  d.Field("query.top_errors", a.query.top_errors, b.query.top_errors);
  CompareFigures(d, "total", a.total, b.total);
  CompareRows(d, "groups", a.groups, b.groups);
  CompareRows(d, "series", a.series, b.series);
  return d.Result();
}

TEST(PgStatsReaderTest, ComparisonSeesEveryKindOfDifference) {
  StatsReport base;
  base.groups.push_back(StatsRow{{"sms"}, std::nullopt, {}});
  base.groups[0].figures.step_latency[1][3] = 2;
  base.groups[0].figures.errors["30003"] = 4;
  base.series.push_back(StatsRow{{"sms"}, kDay0, {}});
  EXPECT_TRUE(SameReport(base, base));
  const std::vector<void (*)(StatsReport&)> changes = {
      [](StatsReport& r) { r.query.to_ms += kHourMs; },
      [](StatsReport& r) { r.query.by.push_back(StatsDim::kCountry); },
      [](StatsReport& r) { r.query.top_errors = 3; },
      [](StatsReport& r) { r.total.fallback_wasted = 1; },
      [](StatsReport& r) { r.groups[0].key[0] = "voice"; },
      [](StatsReport& r) { r.groups[0].hour_ms = 0; },
      [](StatsReport& r) { r.groups[0].figures.signature_failures = 1; },
      [](StatsReport& r) { r.groups[0].figures.provider_latency[18] = 1; },
      [](StatsReport& r) { r.groups[0].figures.derived_latency[0] = 1; },
      [](StatsReport& r) { r.groups[0].figures.step_latency[1][3] = 1; },
      [](StatsReport& r) { r.groups[0].figures.step_latency[0] = {}; },
      [](StatsReport& r) { r.groups[0].figures.errors["30003"] = 5; },
      [](StatsReport& r) { r.groups[0].figures.errors["x"] = 0; },
      [](StatsReport& r) { r.series[0].hour_ms = kDay0 + kHourMs; },
      [](StatsReport& r) { r.series.clear(); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    StatsReport changed = base;
    changes[i](changed);
    EXPECT_FALSE(SameReport(base, changed)) << "change " << i;
  }
}

// --- The seed ---------------------------------------------------------------

struct Group {
  std::string source, provider, channel, country;
  auto operator<=>(const Group&) const = default;
};
using Counts = std::array<int64_t, 9>;
// (time, group, kind, step, bucket) and (time, group, code).
using LatencyKey = std::tuple<int64_t, Group, std::string, int, int>;
using ErrorKey = std::tuple<int64_t, Group, std::string>;

struct Seed {
  std::map<std::pair<int64_t, Group>, Counts> counts;
  std::map<LatencyKey, int64_t> latency;
  std::map<ErrorKey, int64_t> errors;
};

// Hourly rows over kDays days: several sources, providers, channels and
// countries (with ''), provider and derived latency in every bucket (and
// one out of range, which both readers ignore), error codes; and one group
// whose counts are all zero (left out of every report).
Seed HourlySeed() {
  std::mt19937_64 rng(2024);
  const std::vector<Group> groups = {
      {"twilio_main", "twilio", "sms", "US"},
      {"twilio_main", "twilio", "sms", "DE"},
      {"twilio_main", "twilio", "whatsapp", "BR"},
      {"vonage_eu", "vonage", "sms", "DE"},
      {"vonage_eu", "vonage", "voice", "FR"},
      {"sinch", "sinch", "sms", ""},
      {"twilio_verify", "twilio", "", ""},  // signature failures only
  };
  const std::vector<std::string> codes = {"30003", "30005", "21610", "E-1"};
  Seed s;
  for (int64_t hour = 0; hour < kDays * 24; ++hour) {
    if (rng() % 3 == 0) continue;  // hours without traffic
    const int64_t at = kDay0 + hour * kHourMs;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (rng() % 2 == 0) continue;
      Counts c{};
      if (g + 1 == groups.size()) {
        c[8] = static_cast<int64_t>(rng() % 4) + 1;
      } else {
        for (int i = 0; i < 8; ++i) c[i] = static_cast<int64_t>(rng() % 50);
      }
      s.counts[{at, groups[g]}] = c;
      if (g + 1 == groups.size()) continue;
      for (int k = 0; k < 4; ++k) {
        const int bucket = static_cast<int>(rng() % kLatencyBuckets);
        s.latency[{at, groups[g], "provider", -1, bucket}] +=
            static_cast<int64_t>(rng() % 9) + 1;
        const int step = static_cast<int>(rng() % 3);
        s.latency[{at, groups[g], "derived", step,
                   static_cast<int>(rng() % kLatencyBuckets)}] +=
            static_cast<int64_t>(rng() % 9) + 1;
      }
      if (rng() % 2) {
        s.errors[{at, groups[g], codes[rng() % codes.size()]}] +=
            static_cast<int64_t>(rng() % 7) + 1;
      }
    }
  }
  // Out of range: ignored by both readers.
  s.latency[{kDay0 + 30 * kHourMs, groups[0], "provider", -1,
             kLatencyBuckets}] = 5;
  // All zero: no group in any report.
  s.counts[{kDay0 + 50 * kHourMs, Group{"empty", "none", "sms", "ZZ"}}] = {};
  return s;
}

// The same rows summed by UTC day (what the stores keep in the *_daily
// tables).
Seed DailyOf(const Seed& hourly) {
  Seed d;
  for (const auto& [k, c] : hourly.counts) {
    Counts& sum = d.counts[{DayFloor(k.first), k.second}];
    for (size_t i = 0; i < c.size(); ++i) sum[i] += c[i];
  }
  for (const auto& [k, n] : hourly.latency) {
    auto day = k;
    std::get<0>(day) = DayFloor(std::get<0>(k));
    d.latency[day] += n;
  }
  for (const auto& [k, n] : hourly.errors) {
    auto day = k;
    std::get<0>(day) = DayFloor(std::get<0>(k));
    d.errors[day] += n;
  }
  return d;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string GroupValues(const Group& g) {
  return Quote(g.source) + ", " + Quote(g.provider) + ", " +
         Quote(g.channel) + ", " + Quote(g.country);
}

// INSERTs of `s` into the hourly (`daily` false) or daily tables, in SQL
// both SQLite and PostgreSQL run.
std::string InsertSql(const Seed& s, bool daily) {
  const std::string time = daily ? "day_ms" : "hour_ms";
  const std::string suffix = daily ? "_daily" : "";
  const std::string keys = time + ", source, provider, channel, country";
  std::string sql;
  for (const auto& [k, c] : s.counts) {
    sql += "INSERT INTO " + std::string(daily ? "stats_daily" : "stats_hourly") +
           " (" + keys +
           ", callbacks, sent, delivered, failed, verified,"
           " fallback_triggered, fallback_recovered, fallback_wasted,"
           " signature_failures) VALUES (" +
           std::to_string(k.first) + ", " + GroupValues(k.second);
    for (int64_t v : c) sql += ", " + std::to_string(v);
    sql += ");\n";
  }
  for (const auto& [k, n] : s.latency) {
    sql += "INSERT INTO stats_latency" + suffix + " (" + keys +
           ", kind, step, bucket, n) VALUES (" +
           std::to_string(std::get<0>(k)) + ", " +
           GroupValues(std::get<1>(k)) + ", " + Quote(std::get<2>(k)) + ", " +
           std::to_string(std::get<3>(k)) + ", " +
           std::to_string(std::get<4>(k)) + ", " + std::to_string(n) + ");\n";
  }
  for (const auto& [k, n] : s.errors) {
    sql += "INSERT INTO stats_errors" + suffix + " (" + keys +
           ", error_code, n) VALUES (" + std::to_string(std::get<0>(k)) +
           ", " + GroupValues(std::get<1>(k)) + ", " + Quote(std::get<2>(k)) +
           ", " + std::to_string(n) + ");\n";
  }
  return sql;
}

std::string SeedSql() {
  const Seed hourly = HourlySeed();
  return "BEGIN;\n" + InsertSql(hourly, false) +
         InsertSql(DailyOf(hourly), true) + "COMMIT;\n";
}

// A SQLite file migrated by the store itself, then seeded.
void SeedSqlite(const std::string& path, const std::string& sql) {
  {
    auto store = SqliteEventStore::Open(path, SqliteOptions{});
    ASSERT_OK(store.status());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

StatsQuery Query(int64_t from, int64_t to, std::vector<StatsDim> by,
                 bool hourly) {
  Result<StatsQuery> q = MakeQuery(from, to, std::move(by), hourly);
  EXPECT_TRUE(q.ok()) << q.status().message();
  return q.ok() ? q.value() : StatsQuery{};
}

// The queries every pair of readers must agree on.
std::vector<StatsQuery> Queries() {
  const std::vector<std::vector<StatsDim>> bys = {
      {},
      {StatsDim::kChannel},
      {StatsDim::kProvider, StatsDim::kCountry},
      {StatsDim::kCountry, StatsDim::kSource},
      {StatsDim::kSource, StatsDim::kProvider, StatsDim::kChannel,
       StatsDim::kCountry}};
  struct Window {
    int64_t from, to;
  };
  const std::vector<Window> windows = {
      // Partial days at both ends around three whole days.
      {kDay0 + kDayMs + 5 * kHourMs + 17 * 60'000,
       kDay0 + 4 * kDayMs + 13 * kHourMs + 60'000},
      // Whole days only.
      {kDay0 + kDayMs, kDay0 + 3 * kDayMs},
      // Within one day: no whole day (hourly tables only).
      {kDay0 + 2 * kDayMs + 3 * kHourMs, kDay0 + 2 * kDayMs + 20 * kHourMs},
      // Across one midnight, no whole day.
      {kDay0 + 22 * kHourMs, kDay0 + kDayMs + 7 * kHourMs},
      // Everything, from before the first row to after the last.
      {kDay0 - 3 * kDayMs, kDay0 + (kDays + 2) * kDayMs},
      // One whole day plus one hour at its end.
      {kDay0 + 4 * kDayMs, kDay0 + 5 * kDayMs + kHourMs},
      // No data at all.
      {kDay0 - 10 * kDayMs, kDay0 - 5 * kDayMs + 3 * kHourMs},
  };
  std::vector<StatsQuery> out;
  for (size_t w = 0; w < windows.size(); ++w) {
    for (size_t b = 0; b < bys.size(); ++b) {
      out.push_back(Query(windows[w].from, windows[w].to, bys[b],
                          /*hourly=*/(w + b) % 2 == 0));
    }
  }
  return out;
}

class PgStatsReaderSeeded : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string sql = SeedSql();
    sqlite_path_ = dir_.File("dlrd.db");
    ASSERT_NO_FATAL_FAILURE(SeedSqlite(sqlite_path_, sql));
    ASSERT_OK(MigratePostgres(Target(pg_)));
    pg_.Query(sql);
  }

  TempDir dir_;
  PgTestDb pg_;
  std::string sqlite_path_;
};

TEST_F(PgStatsReaderSeeded, AnswersEqualTheSqliteReader) {
  auto sqlite = StatsReader::Open(sqlite_path_);
  auto sqlite_hourly = StatsReader::Open(sqlite_path_, /*use_daily=*/false);
  auto pg = OpenPgStatsReader(Target(pg_));
  auto pg_hourly = OpenPgStatsReader(Target(pg_), /*use_daily=*/false);
  ASSERT_OK(sqlite.status());
  ASSERT_OK(sqlite_hourly.status());
  ASSERT_OK(pg.status());
  ASSERT_OK(pg_hourly.status());

  int with_series = 0, with_steps = 0, with_errors = 0, empty = 0;
  for (const StatsQuery& q : Queries()) {
    SCOPED_TRACE("window " + std::to_string(q.from_ms) + ".." +
                 std::to_string(q.to_ms) + " by " +
                 std::to_string(q.by.size()) +
                 (q.hourly ? " hourly" : ""));
    auto want = sqlite.value()->Query(q);
    auto got = pg.value()->Query(q);
    auto got_hourly = pg_hourly.value()->Query(q);
    auto want_hourly = sqlite_hourly.value()->Query(q);
    ASSERT_OK(want.status());
    ASSERT_OK(got.status());
    ASSERT_OK(got_hourly.status());
    ASSERT_OK(want_hourly.status());
    EXPECT_TRUE(SameReport(want.value(), got.value()));
    // Daily and hourly-only reads agree on PostgreSQL (and on SQLite).
    EXPECT_TRUE(SameReport(got.value(), got_hourly.value()));
    EXPECT_TRUE(SameReport(want.value(), want_hourly.value()));

    const StatsReport& r = got.value();
    with_series += !r.series.empty();
    with_steps += r.total.step_latency.size() == 3;
    with_errors += !r.total.errors.empty();
    empty += r.total.callbacks == 0;
  }
  // The comparisons were not vacuous: series, all three steps and errors
  // were in the answers, and the windows without data answered too.
  EXPECT_GT(with_series, 10);
  EXPECT_GT(with_steps, 20);
  EXPECT_GT(with_errors, 20);
  EXPECT_EQ(empty, 5);
}

TEST_F(PgStatsReaderSeeded, GroupsAreTheSeededOnesWithoutTheEmptyOne) {
  auto pg = OpenPgStatsReader(Target(pg_));
  ASSERT_OK(pg.status());
  auto r = pg.value()->Query(
      Query(kDay0, kDay0 + kDays * kDayMs,
            {StatsDim::kSource, StatsDim::kProvider, StatsDim::kChannel,
             StatsDim::kCountry},
            false));
  ASSERT_OK(r.status());
  std::vector<std::string> keys;
  for (const StatsRow& g : r.value().groups) {
    std::string k;
    for (const std::string& v : g.key) k += v + "/";
    keys.push_back(k);
  }
  // Sorted by key; the all-zero group is left out.
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "sinch/sinch/sms//",
                      "twilio_main/twilio/sms/DE/",
                      "twilio_main/twilio/sms/US/",
                      "twilio_main/twilio/whatsapp/BR/",
                      "twilio_verify/twilio///",
                      "vonage_eu/vonage/sms/DE/",
                      "vonage_eu/vonage/voice/FR/",
                  }));
  // The sums are those of the hourly rows.
  int64_t callbacks = 0, signature = 0;
  for (const auto& [k, c] : HourlySeed().counts) {
    callbacks += c[0];
    signature += c[8];
  }
  EXPECT_EQ(r.value().total.callbacks, callbacks);
  EXPECT_EQ(r.value().total.signature_failures, signature);
}

TEST_F(PgStatsReaderSeeded, WholeDaysAreReadFromTheDailyTables) {
  auto daily = OpenPgStatsReader(Target(pg_));
  auto hourly = OpenPgStatsReader(Target(pg_), /*use_daily=*/false);
  ASSERT_OK(daily.status());
  ASSERT_OK(hourly.status());
  pg_.Query("UPDATE stats_daily SET callbacks = callbacks + 1;"
            " UPDATE stats_errors_daily SET n = n + 1");
  // Two whole days: the daily reader sees the change, the hourly one not.
  const StatsQuery q = Query(kDay0 + kDayMs, kDay0 + 3 * kDayMs, {}, false);
  auto a = daily.value()->Query(q);
  auto b = hourly.value()->Query(q);
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_GT(a.value().total.callbacks, b.value().total.callbacks);
  EXPECT_FALSE(SameReport(a.value(), b.value()));
  // A window without a whole day reads the hourly tables on both.
  const StatsQuery part =
      Query(kDay0 + kDayMs + kHourMs, kDay0 + 2 * kDayMs + 5 * kHourMs, {},
            false);
  auto c = daily.value()->Query(part);
  auto d = hourly.value()->Query(part);
  ASSERT_OK(c.status());
  ASSERT_OK(d.status());
  EXPECT_TRUE(SameReport(c.value(), d.value()));
}

// --- Connection loss --------------------------------------------------------

// The URI of the server's maintenance database (the admin connection).
std::string AdminUri(const PgTestDb& db) {
  return db.uri().substr(0, db.uri().rfind('/') + 1) + "postgres";
}

// The pid of the backend serving `app`, or "" when there is none.
std::string BackendOf(const PgTestDb& db, const std::string& app) {
  return PgTestDb::Psql(AdminUri(db),
                        "SELECT pid FROM pg_stat_activity WHERE "
                        "application_name = '" + app + "'");
}

// Terminates the backend serving `app` and waits until it is gone.
void KillBackend(const PgTestDb& db, const std::string& app) {
  ASSERT_EQ(PgTestDb::Psql(AdminUri(db),
                           "SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = '" +
                               app + "'"),
            "t");
  for (int i = 0; i < 100 && !BackendOf(db, app).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(BackendOf(db, app), "") << "backend of " << app << " still there";
}

TEST_F(PgStatsReaderSeeded, KilledConnectionIsReconnected) {
  const std::string app = "dlrd-stats-kill-" + pg_.name();
  auto pg = OpenPgStatsReader(Target(pg_, app));
  ASSERT_OK(pg.status());
  const StatsQuery q =
      Query(kDay0 + 5 * kHourMs, kDay0 + 3 * kDayMs + 2 * kHourMs,
            {StatsDim::kChannel}, true);
  auto before = pg.value()->Query(q);
  ASSERT_OK(before.status());
  const std::string old_pid = BackendOf(pg_, app);
  ASSERT_NE(old_pid, "");

  ASSERT_NO_FATAL_FAILURE(KillBackend(pg_, app));
  auto after = pg.value()->Query(q);
  ASSERT_OK(after.status());
  EXPECT_TRUE(SameReport(before.value(), after.value()));
  const std::string new_pid = BackendOf(pg_, app);
  EXPECT_NE(new_pid, "");
  EXPECT_NE(new_pid, old_pid);
}

TEST_F(PgStatsReaderSeeded, ServerRefusingTheReconnectIsUnavailable) {
  const std::string app = "dlrd-stats-down-" + pg_.name();
  auto pg = OpenPgStatsReader(Target(pg_, app));
  ASSERT_OK(pg.status());
  const StatsQuery q = Query(kDay0, kDay0 + 2 * kDayMs, {}, false);
  auto before = pg.value()->Query(q);
  ASSERT_OK(before.status());

  // The connection goes, and the database takes no new ones.
  PgTestDb::Psql(AdminUri(pg_), "ALTER DATABASE " + pg_.name() +
                                    " ALLOW_CONNECTIONS false");
  ASSERT_NO_FATAL_FAILURE(KillBackend(pg_, app));
  auto down = pg.value()->Query(q);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable)
      << down.status().message();

  // Back: the next query reconnects.
  PgTestDb::Psql(AdminUri(pg_), "ALTER DATABASE " + pg_.name() +
                                    " ALLOW_CONNECTIONS true");
  auto back = pg.value()->Query(q);
  ASSERT_OK(back.status());
  EXPECT_TRUE(SameReport(before.value(), back.value()));
}

TEST(PgStatsReaderTest, DatabaseWithoutSchemaIsRefused) {
  PgTestDb db;
  auto r = OpenPgStatsReader(Target(db));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kError);
  EXPECT_NE(r.status().message().find("no dlrd schema"), std::string::npos)
      << r.status().message();
}

TEST(PgStatsReaderTest, UnreachableServerIsUnavailable) {
  PgTarget t;
  // A port nothing listens on (the discard port, refused on loopback).
  t.uri = "postgresql://dlrd@127.0.0.1:9/postgres?connect_timeout=2";
  auto r = OpenPgStatsReader(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable)
      << r.status().message();
}

}  // namespace
}  // namespace dlrd
