// The analytics rollups on a real SQLite file (that they equal GROUP BYs
// over the rows they summarise is part of the contract suite, tests/
// postgres/event_store_contract_test.cc): the daily rollups equal the
// hourly ones summed by day, also with fallback, the migrations' backfills
// build the same rollups as live ingest, and the reader turns them into the
// figures of dlrd/core/stats/stats.h, reading whole days from the daily
// rollups with the same answer as from the hourly ones alone.
#include "dlrd/sqlite/sqlite_stats.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_stats_reader.h"
#include "testutil/daily_rollups.h"
#include "testutil/sqlite_file.h"
#include "testutil/status_matchers.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

using testutil::SqliteFile;
using testutil::TempDir;

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

DeliveryEvent Event(const std::string& id, DeliveryStatus status, Channel c,
                    const std::string& country, int64_t at_ms, int n) {
  DeliveryEvent e;
  e.source = "src";
  e.provider = "verifynow";
  e.dedupe_key = id + "/" + std::to_string(n);
  e.verification_id = id;
  e.channel = c;
  e.status = status;
  e.raw_status = std::string(ToString(status));
  e.country = country;
  e.received_at_ms = at_ms;
  if (status == DeliveryStatus::kDelivered) e.latency_ms = 400 + 997 * n % 9000;
  if (status == DeliveryStatus::kFailed) e.error_code = n % 2 ? "E30" : "E7";
  return e;
}

// A random but reproducible stream: statuses in any order (a late `sent`
// after `failed`, `delivered` after `failed`), channel changes with rank,
// countries filled in late, events over four hours, some duplicates.
std::vector<DeliveryEvent> Stream(int n, unsigned seed) {
  std::mt19937 rng(seed);
  const DeliveryStatus statuses[] = {
      DeliveryStatus::kSent,   DeliveryStatus::kDelivered,
      DeliveryStatus::kFailed, DeliveryStatus::kVerified,
      DeliveryStatus::kRead,   DeliveryStatus::kExpired};
  const Channel channels[] = {Channel::kSms, Channel::kWhatsapp,
                              Channel::kVoice};
  const std::string countries[] = {"", "GB", "US", "IN"};
  std::vector<DeliveryEvent> out;
  for (int i = 0; i < n; ++i) {
    const std::string id = "v" + std::to_string(rng() % (n / 3 + 1));
    const int k = static_cast<int>(rng() % 1000);
    out.push_back(Event(id, statuses[rng() % 6], channels[rng() % 3],
                        countries[rng() % 4], kT0 + (rng() % 4) * kHourMs + k,
                        static_cast<int>(rng() % 5)));
  }
  return out;
}

void Ingest(SqliteEventStore& store, const std::vector<DeliveryEvent>& events) {
  // Small batches, one event per submission, like the writer under load.
  for (size_t i = 0; i < events.size(); i += 7) {
    std::vector<Submission> subs;
    for (size_t j = i; j < events.size() && j < i + 7; ++j) {
      Submission s;
      s.raw.source = "src";
      s.raw.target = "/webhooks/src";
      s.raw.head = "POST /webhooks/src HTTP/1.1\r\n\r\n";
      s.raw.received_at_ms = events[j].received_at_ms;
      s.events = {events[j]};
      subs.push_back(std::move(s));
    }
    std::vector<const Submission*> batch;
    for (const Submission& s : subs) batch.push_back(&s);
    BatchResult r = store.CommitBatch(batch);
    ASSERT_OK(r.status);
  }
}

// Events over `days` days from kT0: verifications seen again days later
// (their outcome moves in the hour, and day, they were first seen, and
// sometimes to another channel or country), with a recipient, so a source
// with fallback records decisions.
std::vector<DeliveryEvent> LongStream(int n, int days, unsigned seed) {
  std::mt19937_64 rng(seed);
  const DeliveryStatus statuses[] = {
      DeliveryStatus::kSent,   DeliveryStatus::kDelivered,
      DeliveryStatus::kFailed, DeliveryStatus::kVerified,
      DeliveryStatus::kRead,   DeliveryStatus::kExpired};
  const Channel channels[] = {Channel::kSms, Channel::kWhatsapp,
                              Channel::kVoice};
  const std::string countries[] = {"", "GB", "US", "IN"};
  std::vector<DeliveryEvent> out;
  for (int i = 0; i < n; ++i) {
    const uint64_t v = rng() % (n / 3 + 1);
    DeliveryEvent e = Event("v" + std::to_string(v), statuses[rng() % 6],
                            channels[rng() % 3], countries[rng() % 4],
                            kT0 + static_cast<int64_t>(rng() % (days * kDayMs)),
                            static_cast<int>(rng() % 5));
    e.recipient = "+4477009" + std::to_string(10000 + v % 90000);
    if (rng() % 4 == 0) e.provider = "twilio";
    out.push_back(std::move(e));
  }
  return out;
}

// Every figure of a report, histograms and error counts included, one line
// per row, so two reports compare as strings.
std::string Dump(const StatsReport& r) {
  std::ostringstream out;
  const auto figures = [&](const Figures& f) {
    out << f.callbacks << ' ' << f.sent << ' ' << f.delivered << ' ' << f.failed
        << ' ' << f.verified << ' ' << f.fallback_triggered << ' '
        << f.fallback_recovered << ' ' << f.fallback_wasted << ' '
        << f.signature_failures << " p";
    for (int64_t c : f.provider_latency) out << ' ' << c;
    out << " d";
    for (int64_t c : f.derived_latency) out << ' ' << c;
    for (const auto& [step, h] : f.step_latency) {
      out << " s" << step;
      for (int64_t c : h) out << ' ' << c;
    }
    for (const auto& [code, n] : f.errors) out << " e" << code << '=' << n;
    out << '\n';
  };
  const auto row = [&](const StatsRow& row) {
    if (row.hour_ms) out << *row.hour_ms;
    for (const std::string& k : row.key) out << '/' << k;
    out << ": ";
    figures(row.figures);
  };
  out << "total: ";
  figures(r.total);
  for (const StatsRow& g : r.groups) row(g);
  for (const StatsRow& g : r.series) row(g);
  return out.str();
}

// Stores signature failures, a registration, fallback decisions and a
// delivered fallback step (derived latency, a recovery) around `at_ms`
// through StatsSql itself, in one transaction on a connection of its own.
void WriteFallbackFigures(const std::string& path, int64_t at_ms) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  SqliteDb db(raw);
  // Root r1: step 0 (SMS) never delivered; step 1 (WhatsApp) sent by dlrd
  // 4 s before `at_ms`.
  const std::string setup =
      "BEGIN IMMEDIATE;"
      "INSERT INTO fallback_roots(source, root_id, recipient, country,"
      " created_at_ms) VALUES ('src', 'r1', '+447700900001', 'GB', 1);"
      "INSERT INTO fallback_steps(source, root_id, step, channel, provider,"
      " sent_at_ms, send_time_known) VALUES"
      " ('src', 'r1', 0, 'sms', 'twilio', 0, 0),"
      " ('src', 'r1', 1, 'whatsapp', 'twilio', " +
      std::to_string(at_ms - 4000) + ", 1);";
  ASSERT_EQ(sqlite3_exec(raw, setup.c_str(), nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(raw);
  {
    StatsSql stats(raw);
    ASSERT_OK(stats.AddSignatureFailures(HourFloor(at_ms), "src", "twilio", 9));
    ASSERT_OK(stats.OnRegistered("src", "reg1", "twilio", Channel::kSms,
                                 "+447700900002", "GB", at_ms - kDayMs));
    ASSERT_OK(stats.OnDecision("src", "r1", 0, Channel::kSms,
                               /*escalated=*/true, /*wasted=*/false,
                               at_ms - 2 * kHourMs));
    ASSERT_OK(stats.OnDecision("src", "r1", 1, Channel::kWhatsapp,
                               /*escalated=*/false, /*wasted=*/true, at_ms));
    ASSERT_OK(stats.OnStepDelivered("src", "r1", 1, at_ms));
  }
  ASSERT_EQ(sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
}

// The rollup columns next to the GROUP BY they must equal, as one string
// per query, so a mismatch prints both sides.
std::string Summary(SqliteFile& db, const std::string& sql) {
  return db.Value(sql);
}

constexpr const char* kOutcomeRollup =
    "SELECT group_concat(k || '=' || v, ' ') FROM (SELECT hour_ms || '/' ||"
    " channel || '/' || country AS k, sent || ',' || delivered || ',' ||"
    " failed || ',' || verified AS v FROM stats_hourly WHERE sent != 0 OR"
    " delivered != 0 OR failed != 0 OR verified != 0 ORDER BY k)";
constexpr const char* kCallbackRollup =
    "SELECT group_concat(k || '=' || v, ' ') FROM (SELECT hour_ms || '/' ||"
    " channel || '/' || country AS k, callbacks AS v FROM stats_hourly WHERE"
    " callbacks != 0 ORDER BY k)";
constexpr const char* kLatencyRollup =
    "SELECT group_concat(k || '=' || n, ' ') FROM (SELECT hour_ms || '/' ||"
    " channel || '/' || country || '/' || bucket AS k, n FROM stats_latency"
    " WHERE kind = 'provider' ORDER BY k)";
constexpr const char* kErrorRollup =
    "SELECT group_concat(k || '=' || n, ' ') FROM (SELECT hour_ms || '/' ||"
    " channel || '/' || error_code AS k, sum(n) AS n FROM stats_errors"
    " GROUP BY k ORDER BY k)";

class StatsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("dlrd.db");
    auto r = SqliteEventStore::Open(path_, SqliteOptions{});
    ASSERT_OK(r.status());
    store_ = std::move(r).value();
  }
  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteEventStore> store_;
};

// The rollups equal GROUP BYs over the stored rows on both backends:
// tests/postgres/event_store_contract_test.cc (RollupsEqualGroupBy...).

TEST_F(StatsStoreTest, MigrationBackfillBuildsTheSameRollupsAsIngest) {
  Ingest(*store_, Stream(500, 11));
  store_.reset();
  std::string outcome, callbacks, latency, errors;
  {
    SqliteFile db(path_);
    outcome = Summary(db, kOutcomeRollup);
    callbacks = Summary(db, kCallbackRollup);
    latency = Summary(db, kLatencyRollup);
    errors = Summary(db, kErrorRollup);
    ASSERT_FALSE(latency.empty());
    // Back to schema 2: what a database from before analytics looks like
    // (later migrations undone too).
    db.Exec(
        "DROP TABLE IF EXISTS quarantine;"
        " DROP TABLE IF EXISTS quarantine_totals;"
        " DROP TABLE IF EXISTS dedupe_keys;"
        " DROP TABLE IF EXISTS stats_daily;"
        " DROP TABLE IF EXISTS stats_latency_daily;"
        " DROP TABLE IF EXISTS stats_errors_daily;"
        " DROP TABLE stats_hourly; DROP TABLE stats_latency;"
        " DROP TABLE stats_errors; DROP INDEX raw_requests_by_time;"
        " DROP INDEX verifications_by_first_seen;"
        " DROP INDEX fallback_decisions_by_time;"
        " DROP INDEX fallback_roots_by_time;"
        " ALTER TABLE fallback_steps DROP COLUMN send_time_known;"
        " PRAGMA user_version = 2;");
  }
  auto reopened = SqliteEventStore::Open(path_, SqliteOptions{});
  ASSERT_OK(reopened.status());
  EXPECT_EQ(reopened.value()->schema_version(),
            SqliteEventStore::LatestSchemaVersion());
  SqliteFile db(path_);
  EXPECT_EQ(Summary(db, kOutcomeRollup), outcome);
  EXPECT_EQ(Summary(db, kCallbackRollup), callbacks);
  EXPECT_EQ(Summary(db, kLatencyRollup), latency);
  EXPECT_EQ(Summary(db, kErrorRollup), errors);
  for (const testutil::RollupTwin& t : testutil::RollupTwins()) {
    EXPECT_EQ(testutil::DailyRows(db, t), testutil::HourlyRowsByDay(db, t))
        << t.daily;
  }
}

TEST_F(StatsStoreTest, ReaderReportsFiguresByGroupAndHour) {
  const Channel sms = Channel::kSms, wa = Channel::kWhatsapp;
  Ingest(
      *store_,
      {
          Event("a", DeliveryStatus::kSent, sms, "GB", kT0, 0),
          Event("a", DeliveryStatus::kDelivered, sms, "GB", kT0 + 10, 1),
          Event("a", DeliveryStatus::kVerified, sms, "GB", kT0 + 20, 2),
          Event("b", DeliveryStatus::kFailed, sms, "GB", kT0 + 30, 1),
          Event("b", DeliveryStatus::kFailed, sms, "GB", kT0 + 30, 1),  // dup
          Event("c", DeliveryStatus::kDelivered, wa, "US", kT0 + kHourMs, 3),
      });
  auto reader = StatsReader::Open(path_);
  ASSERT_OK(reader.status());
  auto q = MakeQuery(kT0, kT0 + 2 * kHourMs, {StatsDim::kChannel}, true);
  ASSERT_OK(q.status());
  auto r = reader.value()->Query(q.value());
  ASSERT_OK(r.status());
  const StatsReport& rep = r.value();
  EXPECT_EQ(rep.total.callbacks, 5);
  EXPECT_EQ(rep.total.sent, 3);
  EXPECT_EQ(rep.total.delivered, 2);
  EXPECT_EQ(rep.total.failed, 1);
  EXPECT_EQ(rep.total.verified, 1);
  ASSERT_EQ(rep.groups.size(), 2u);
  EXPECT_EQ(rep.groups[0].key, std::vector<std::string>{"sms"});
  EXPECT_EQ(rep.groups[0].figures.sent, 2);
  EXPECT_EQ(rep.groups[0].figures.errors.at("E30"), 1);
  EXPECT_EQ(rep.groups[1].key, std::vector<std::string>{"whatsapp"});
  // latency_ms of the delivered events: 1397 (a) and 3391 (c).
  EXPECT_EQ(QuantileMs(rep.groups[0].figures.provider_latency, 0.5), 2000);
  EXPECT_EQ(QuantileMs(rep.total.provider_latency, 0.99), 5000);
  ASSERT_EQ(rep.series.size(), 2u);
  EXPECT_EQ(rep.series[0].hour_ms, HourFloor(kT0));
  EXPECT_EQ(rep.series[1].hour_ms, HourFloor(kT0) + kHourMs);

  // A window that ends before the second hour leaves WhatsApp out.
  auto first = MakeQuery(kT0, kT0 + 1, {StatsDim::kChannel}, false);
  ASSERT_OK(first.status());
  auto r1 = reader.value()->Query(first.value());
  ASSERT_OK(r1.status());
  ASSERT_EQ(r1.value().groups.size(), 1u);
  EXPECT_EQ(r1.value().total.sent, 2);
}

TEST_F(StatsStoreTest, SignatureFailuresAreCountedNotStored) {
  Submission counts;
  counts.signature_failures = {
      {HourFloor(kT0), "src", "verifynow", 40},
      {HourFloor(kT0) + kHourMs, "src", "verifynow", 2}};
  std::vector<const Submission*> batch = {&counts};
  ASSERT_OK(store_->CommitBatch(batch).status);
  ASSERT_OK(store_->CommitBatch(batch).status);  // adds up
  SqliteFile db(path_);
  EXPECT_EQ(db.Int("SELECT count(*) FROM raw_requests"), 0);
  EXPECT_EQ(db.Int("SELECT count(*) FROM delivery_events"), 0);
  auto reader = StatsReader::Open(path_);
  ASSERT_OK(reader.status());
  auto q = MakeQuery(kT0, kT0 + 1, {StatsDim::kProvider}, false);
  ASSERT_OK(q.status());
  auto r = reader.value()->Query(q.value());
  ASSERT_OK(r.status());
  ASSERT_EQ(r.value().groups.size(), 1u);
  EXPECT_EQ(r.value().groups[0].key, std::vector<std::string>{"verifynow"});
  EXPECT_EQ(r.value().total.signature_failures, 80);
  EXPECT_EQ(r.value().total.sent, 0);
}

// A store whose source "src" has fallback, so failures are escalated.
std::unique_ptr<SqliteEventStore> OpenWithFallback(const std::string& path) {
  FallbackConfig f;
  f.provider = "twilio";
  f.max_per_recipient_per_hour = 1000;
  f.max_per_minute = 100000;
  SqliteOptions opts;
  opts.fallback["src"] = f;
  auto r = SqliteEventStore::Open(path, opts);
  EXPECT_OK(r.status());
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST_F(StatsStoreTest, DailyRollupsEqualHourlyRollupsSummedByDay) {
  store_.reset();
  auto store = OpenWithFallback(path_);
  ASSERT_NE(store, nullptr);
  Ingest(*store, LongStream(900, 6, 3));
  WriteFallbackFigures(path_, kT0 + 2 * kDayMs + 5 * kHourMs);
  Submission counts;
  counts.signature_failures = {
      {HourFloor(kT0) + 3 * kHourMs, "src", "vonage", 7}};
  ASSERT_OK(store->CommitBatch({&counts}).status);

  SqliteFile db(path_);
  // The workload reached every kind of rollup write.
  for (const char* sql : {
           "SELECT count(*) FROM stats_hourly WHERE sent != 0",
           "SELECT count(*) FROM stats_hourly WHERE fallback_triggered != 0",
           "SELECT count(*) FROM stats_hourly WHERE fallback_wasted != 0",
           "SELECT count(*) FROM stats_hourly WHERE fallback_recovered != 0",
           "SELECT count(*) FROM stats_hourly WHERE signature_failures != 0",
           "SELECT count(*) FROM stats_latency WHERE kind = 'provider'",
           "SELECT count(*) FROM stats_latency WHERE kind = 'derived'",
           "SELECT count(*) FROM stats_errors",
           // A verification's outcome moved after its first day.
           "SELECT count(*) FROM verifications WHERE updated_at_ms -"
           " first_event_at_ms > 86400000 AND status_rank >= 4",
       }) {
    EXPECT_GT(db.Int(sql), 0) << sql;
  }
  EXPECT_GE(db.Int("SELECT count(DISTINCT day_ms) FROM stats_daily"), 6);
  for (const testutil::RollupTwin& t : testutil::RollupTwins()) {
    const std::string daily = testutil::DailyRows(db, t);
    ASSERT_FALSE(daily.empty()) << t.daily;
    EXPECT_EQ(daily, testutil::HourlyRowsByDay(db, t)) << t.daily;
  }
}

TEST_F(StatsStoreTest, DailyAndHourlyReadsGiveTheSameReport) {
  store_.reset();
  auto store = OpenWithFallback(path_);
  ASSERT_NE(store, nullptr);
  Ingest(*store, LongStream(1500, 45, 5));
  WriteFallbackFigures(path_, kT0 + 20 * kDayMs + 7 * kHourMs);
  auto daily = StatsReader::Open(path_);
  auto hourly = StatsReader::Open(path_, /*use_daily=*/false);
  ASSERT_OK(daily.status());
  ASSERT_OK(hourly.status());

  std::mt19937_64 rng(17);
  const std::vector<std::vector<StatsDim>> bys = {
      {},
      {StatsDim::kChannel},
      {StatsDim::kProvider, StatsDim::kCountry},
      {StatsDim::kSource, StatsDim::kProvider, StatsDim::kChannel,
       StatsDim::kCountry}};
  int with_whole_days = 0;
  for (int i = 0; i < 150; ++i) {
    // Starts and lengths on day boundaries, on hours, or anywhere; from a
    // day before the first event to days after the last; 0..40 days long.
    const int64_t base = DayFloor(kT0) - kDayMs;
    int64_t from = base + static_cast<int64_t>(rng() % (50 * kDayMs));
    int64_t length = static_cast<int64_t>(rng() % (41 * kDayMs)) + 1;
    switch (i % 3) {
      case 0:
        from = DayFloor(from);
        length = DayCeil(length);
        break;
      case 1:
        from = HourFloor(from);
        break;
    }
    const bool series = i % 10 == 0;
    auto q = MakeQuery(from, from + length, bys[i % bys.size()], series);
    ASSERT_OK(q.status());
    if (DayCeil(q.value().from_ms) < DayFloor(q.value().to_ms)) {
      ++with_whole_days;
    }
    auto a = daily.value()->Query(q.value());
    auto b = hourly.value()->Query(q.value());
    ASSERT_OK(a.status());
    ASSERT_OK(b.status());
    ASSERT_EQ(Dump(a.value()), Dump(b.value()))
        << "window " << q.value().from_ms << ".." << q.value().to_ms;
  }
  EXPECT_GT(with_whole_days, 100);

  // The daily rollups are what answered: change one and the answers part.
  SqliteFile(path_).Exec("UPDATE stats_daily SET callbacks = callbacks + 1");
  auto q = MakeQuery(DayFloor(kT0), DayFloor(kT0) + 10 * kDayMs, {}, false);
  ASSERT_OK(q.status());
  auto a = daily.value()->Query(q.value());
  auto b = hourly.value()->Query(q.value());
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_GT(a.value().total.callbacks, b.value().total.callbacks);
}

TEST(StatsMigrationTest, OlderSchemasGetDailyRollupsBackfilledFromHourly) {
  for (const int version : {3, 4, 5}) {
    SCOPED_TRACE("from schema " + std::to_string(version));
    TempDir dir;
    const std::string path = dir.File("dlrd.db");
    std::vector<std::string> live;
    {
      auto store = OpenWithFallback(path);
      ASSERT_NE(store, nullptr);
      Ingest(*store, LongStream(600, 5, 9));
      store.reset();
      WriteFallbackFigures(path, kT0 + kDayMs);
      SqliteFile db(path);
      for (const testutil::RollupTwin& t : testutil::RollupTwins()) {
        live.push_back(testutil::DailyRows(db, t));
      }
      // Back to `version`: the later migrations undone.
      std::string undo =
          "DROP TABLE stats_daily; DROP TABLE stats_latency_daily;"
          " DROP TABLE stats_errors_daily;";
      if (version < 5)
        undo +=
            " DROP TABLE quarantine_totals;"
            " DROP TABLE quarantine;";
      if (version < 4) undo += " DROP TABLE dedupe_keys;";
      db.Exec(undo + " PRAGMA user_version = " + std::to_string(version));
    }
    // A reader on the old schema reads the hourly rollups alone.
    {
      auto old = StatsReader::Open(path);
      ASSERT_OK(old.status());
      auto q = MakeQuery(DayFloor(kT0), DayFloor(kT0) + 7 * kDayMs, {}, false);
      ASSERT_OK(q.status());
      auto r = old.value()->Query(q.value());
      ASSERT_OK(r.status());
      EXPECT_EQ(r.value().total.callbacks,
                SqliteFile(path).Int("SELECT count(*) FROM delivery_events"));
    }
    auto store = SqliteEventStore::Open(path, SqliteOptions{});
    ASSERT_OK(store.status());
    EXPECT_EQ(store.value()->schema_version(),
              SqliteEventStore::LatestSchemaVersion());
    SqliteFile db(path);
    for (size_t i = 0; i < testutil::RollupTwins().size(); ++i) {
      const testutil::RollupTwin& t = testutil::RollupTwins()[i];
      const std::string daily = testutil::DailyRows(db, t);
      EXPECT_FALSE(daily.empty()) << t.daily;
      EXPECT_EQ(daily, testutil::HourlyRowsByDay(db, t)) << t.daily;
      EXPECT_EQ(daily, live[i]) << t.daily;
    }
  }
}

TEST(StatsReaderTest, RefusesADatabaseWithoutAnalytics) {
  TempDir dir;
  const std::string path = dir.File("old.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "CREATE TABLE t(x); PRAGMA user_version = 2;", nullptr,
               nullptr, nullptr);
  sqlite3_close(raw);
  auto r = StatsReader::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("schema version 2"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace dlrd
