// Retention on the suite's real PostgreSQL server: the expectations of the
// SQLite retention tests (tests/sqlite/sqlite_retention_test.cc,
// sqlite_dedupe_retention_test.cc) on the same rows — old rows go in
// bounded batches; recent rows, opt-outs, chains with a job to send and
// young rollups stay; the daily rollups still equal the hourly ones summed
// by UTC day; the dedupe keys of pruned events are in dedupe_keys (moved
// by the deleting transaction); the quarantine's TTL — plus what only
// several replicas raise: two replicas pruning at once end where one would
// (same rows, same daily sums, no row counted twice), rows another
// transaction holds are skipped without waiting, and a lost connection is
// reconnected on the next call.
//
// The rows are seeded with SQL as ingest would write them (raw request,
// event, verification, hourly and daily rollups upserted together).
#include "dlrd/postgres/pg_retention.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dlrd/core/stats/stats.h"
#include "dlrd/core/model/dedupe_key.h"
#include "dlrd/core/util/encoding.h"
#include "postgres/pg_conn.h"
#include "testutil/pg_test_db.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::PgTestDb;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNow = 1'760'000'000'000;
const std::string kDayOf =
    "(hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000)";

std::string N(int64_t n) { return std::to_string(n); }

PgTarget Target(const PgTestDb& db, std::string app = "dlrd-retention-test") {
  PgTarget t;
  t.uri = db.uri();
  t.application_name = std::move(app);
  return t;
}

RetentionConfig Config(int64_t events_days, int64_t rollup_days,
                       int64_t dedupe_days, int64_t batch_rows) {
  RetentionConfig c;
  c.events_days = events_days;
  c.rollup_days = rollup_days;
  c.dedupe_days = dedupe_days;
  c.batch_rows = batch_rows;
  return c;
}

// Runs `store` as of `now_ms` until nothing is left; every batch within
// batch_rows (fallback chains go whole). `tables`, if given, collects the
// tables that had rows pruned.
int64_t Drain(RetentionStore& store, const RetentionConfig& config,
              int64_t now_ms, std::set<std::string>* tables = nullptr) {
  int64_t total = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string table;
    Result<int64_t> n = store.PruneBatch(now_ms, &table);
    EXPECT_OK(n.status());
    if (!n.ok() || n.value() == 0) return total;
    if (table != "fallback_chains") {
      EXPECT_LE(n.value(), config.batch_rows) << table;
    }
    if (tables) tables->insert(table);
    total += n.value();
  }
  ADD_FAILURE() << "pruning did not finish";
  return total;
}

int64_t PruneAll(const PgTestDb& db, const RetentionConfig& config,
                 int64_t now_ms, int64_t quarantine_ttl_ms = 0) {
  auto r = OpenPgRetention(Target(db), config, quarantine_ttl_ms);
  EXPECT_OK(r.status());
  if (!r.ok()) return 0;
  return Drain(*r.value(), config, now_ms);
}

// --- Seeding, as ingest writes ---------------------------------------------

// Adds to one hourly rollup row and its daily twin (and, for `latency`
// and `error`, to the latency and error rollups).
std::string AddRollups(int64_t at_ms, const std::string& country,
                       int64_t sent, int64_t delivered, int64_t failed,
                       int64_t latency, int64_t errors) {
  const std::string hour = "(" + N(at_ms) + " - ((" + N(at_ms) +
                           " % 3600000) + 3600000) % 3600000)";
  const std::string day = "(" + N(at_ms) + " - ((" + N(at_ms) +
                          " % 86400000) + 86400000) % 86400000)";
  const std::string key = "'src', 'verifynow', 'sms', '" + country + "'";
  std::string sql;
  for (const auto& [table, time] :
       {std::pair{"stats_hourly", hour}, std::pair{"stats_daily", day}}) {
    sql += std::string("INSERT INTO ") + table + " AS x VALUES (" + time +
           ", " + key + ", " + N(sent) + ", " + N(sent) + ", " +
           N(delivered) + ", " + N(failed) +
           ", 0, 0, 0, 0, 0) ON CONFLICT ON CONSTRAINT " + table +
           "_pkey DO UPDATE SET callbacks = x.callbacks + excluded.callbacks,"
           " sent = x.sent + excluded.sent,"
           " delivered = x.delivered + excluded.delivered,"
           " failed = x.failed + excluded.failed;";
  }
  if (latency > 0) {
    for (const auto& [table, time] : {std::pair{"stats_latency", hour},
                                      std::pair{"stats_latency_daily", day}}) {
      sql += std::string("INSERT INTO ") + table + " AS x VALUES (" + time +
             ", " + key + ", 'delivery', 0, 7, " + N(latency) +
             ") ON CONFLICT ON CONSTRAINT " + table +
             "_pkey DO UPDATE SET n = x.n + excluded.n;";
    }
  }
  if (errors > 0) {
    for (const auto& [table, time] : {std::pair{"stats_errors", hour},
                                      std::pair{"stats_errors_daily", day}}) {
      sql += std::string("INSERT INTO ") + table + " AS x VALUES (" + time +
             ", " + key + ", 'E30', " + N(errors) +
             ") ON CONFLICT ON CONSTRAINT " + table +
             "_pkey DO UPDATE SET n = x.n + excluded.n;";
    }
  }
  return sql;
}

// `n` events `prefix`0.. at `at_ms` + i (`status`, `country`), each with
// its raw request and verification, counted in the rollups of their hour
// (with a latency each when `latency`, an error code each when `errors`).
std::string IngestSql(const std::string& prefix, int n, int64_t at_ms,
                      const std::string& status = "delivered",
                      const std::string& country = "", bool latency = false,
                      bool errors = false) {
  const std::string series = "generate_series(0, " + N(n - 1) + ") AS i";
  return
      "WITH r AS (INSERT INTO raw_requests(source, received_at_ms, target,"
      " head, body) SELECT 'src', " + N(at_ms) + " + i, '/webhooks/src',"
      " 'POST'::bytea, ''::bytea FROM " + series +
      " RETURNING id, received_at_ms)"
      " INSERT INTO delivery_events(source, provider, dedupe_key,"
      " verification_id, channel, status, raw_status, country,"
      " received_at_ms, raw_request_id) SELECT 'src', 'verifynow', '" +
      prefix + "' || (received_at_ms - " + N(at_ms) + "), '" + prefix +
      "' || (received_at_ms - " + N(at_ms) + "), 'sms', '" + status +
      "', upper('" + status + "'), '" + country +
      "', received_at_ms, id FROM r;"
      "INSERT INTO verifications(source, verification_id, provider, channel,"
      " status, status_rank, country, first_event_at_ms, updated_at_ms)"
      " SELECT 'src', '" + prefix + "' || i, 'verifynow', 'sms', '" + status +
      "', 3, '" + country + "', " + N(at_ms) + " + i, " + N(at_ms) +
      " + i FROM " + series + ";" +
      AddRollups(at_ms, country, n, status == "delivered" ? n : 0,
                 status == "failed" ? n : 0, latency ? n : 0,
                 errors ? n : 0);
}
void Ingest(const PgTestDb& db, const std::string& prefix, int n,
            int64_t at_ms, const std::string& status = "delivered",
            const std::string& country = "", bool latency = false,
            bool errors = false) {
  db.Query(IngestSql(prefix, n, at_ms, status, country, latency, errors));
}

// A delivered event with a latency and a failed one with an error code,
// in country GB, at `at_ms`.
void IngestMixed(const PgTestDb& db, const std::string& prefix,
                 int64_t at_ms) {
  Ingest(db, prefix + "-d", 1, at_ms, "delivered", "GB", /*latency=*/true);
  Ingest(db, prefix + "-f", 1, at_ms, "failed", "GB", false,
         /*errors=*/true);
}

// Two old fallback chains, one still waiting to send; an opt-out.
void SeedChains(const PgTestDb& db) {
  db.Query(
      "INSERT INTO fallback_roots(source, root_id, recipient,"
      " created_at_ms) VALUES ('src', 'done', '+447700900001', 1),"
      " ('src', 'waiting', '+447700900002', 1);"
      "INSERT INTO fallback_steps(source, root_id, step, channel, provider)"
      " VALUES ('src', 'done', 0, 'sms', 'twilio'),"
      " ('src', 'done', 1, 'whatsapp', 'twilio'),"
      " ('src', 'waiting', 0, 'sms', 'twilio');"
      "INSERT INTO outbox(source, root_id, step, provider, channel,"
      " recipient, state, next_attempt_at_ms, idempotency_key,"
      " created_at_ms, updated_at_ms) VALUES"
      " ('src', 'done', 1, 'twilio', 'whatsapp', '+447700900001',"
      "  'accepted', 1, 'k1', 1, 1),"
      " ('src', 'waiting', 1, 'twilio', 'whatsapp', '+447700900002',"
      "  'retry_wait', 1, 'k2', 1, 1);"
      "INSERT INTO opt_outs(recipient, source, reason, at_ms) VALUES"
      " ('+447700900003', 'src', 'STOP', 1);");
}

// --- The daily rollups against the hourly ones summed by day ----------------

struct Twin {
  const char* hourly;
  const char* daily;
  std::vector<std::string> keys, values;
};
const std::vector<Twin>& Twins() {
  static const std::vector<Twin> kTwins = {
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

std::string Join(const std::vector<std::string>& parts,
                 const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// A scalar subquery: "day/k1/...=v1,..." per row, sorted, space-separated.
std::string RowsSql(const std::string& day,
                    const std::vector<std::string>& keys,
                    const std::vector<std::string>& values,
                    const std::string& from) {
  std::vector<std::string> k = {day};
  k.insert(k.end(), keys.begin(), keys.end());
  return "(SELECT coalesce(string_agg(r, ' ' ORDER BY r), '') FROM (SELECT " +
         Join(k, " || '/' || ") + " || '=' || " +
         Join(values, " || ',' || ") + " AS r " + from + ") x)";
}
// The daily table's rows; rows all zero left out (a missing daily row
// counts as zero).
std::string DailySql(const Twin& t) {
  std::vector<std::string> nonzero;
  for (const std::string& c : t.values) nonzero.push_back(c + " != 0");
  return RowsSql("day_ms", t.keys, t.values,
                 std::string("FROM ") + t.daily + " WHERE " +
                     Join(nonzero, " OR "));
}
// The hourly table's rows summed by UTC day.
std::string HourlyByDaySql(const Twin& t) {
  std::vector<std::string> sums, nonzero;
  for (const std::string& c : t.values) {
    sums.push_back("SUM(" + c + ")");
    nonzero.push_back("SUM(" + c + ") != 0");
  }
  std::vector<std::string> group = {kDayOf};
  group.insert(group.end(), t.keys.begin(), t.keys.end());
  return RowsSql(kDayOf, t.keys, sums,
                 std::string("FROM ") + t.hourly + " GROUP BY " +
                     Join(group, ", ") + " HAVING " + Join(nonzero, " OR "));
}

// One query (psql is slow to start): the columns, '|'-separated.
std::vector<std::string> Columns(const PgTestDb& db,
                                 const std::vector<std::string>& scalars) {
  const std::string row = db.Query("SELECT " + Join(scalars, ", "));
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t bar; (bar = row.find('|', from)) != std::string::npos;
       from = bar + 1) {
    out.push_back(row.substr(from, bar - from));
  }
  out.push_back(row.substr(from));
  return out;
}

void ExpectDailyEqualsHourly(const PgTestDb& db) {
  std::vector<std::string> sql;
  for (const Twin& t : Twins()) {
    sql.push_back(DailySql(t));
    sql.push_back(HourlyByDaySql(t));
  }
  const std::vector<std::string> got = Columns(db, sql);
  ASSERT_EQ(got.size(), 2 * Twins().size());
  for (size_t i = 0; i < Twins().size(); ++i) {
    EXPECT_EQ(got[2 * i], got[2 * i + 1]) << Twins()[i].daily;
  }
}

// Every table's rows, in one string, to compare two databases.
std::string Snapshot(const PgTestDb& db) {
  std::vector<std::string> sql = {
      "(SELECT string_agg(dedupe_key, ',' ORDER BY dedupe_key)"
      " FROM delivery_events)",
      "(SELECT count(*) || '/' || coalesce(sum(received_at_ms), 0)"
      " FROM raw_requests)",
      "(SELECT string_agg(verification_id, ',' ORDER BY verification_id)"
      " FROM verifications)",
      "(SELECT string_agg(encode(key_hash, 'hex') || ':' || first_seen_ms,"
      " ',' ORDER BY key_hash) FROM dedupe_keys)",
      "(SELECT string_agg(root_id, ',' ORDER BY root_id) FROM"
      " fallback_roots)",
      "(SELECT count(*) FROM fallback_steps)",
      "(SELECT count(*) FROM outbox)",
      "(SELECT count(*) FROM opt_outs)"};
  for (const Twin& t : Twins()) {
    sql.push_back(DailySql(t));
    sql.push_back(RowsSql("hour_ms", t.keys, t.values,
                          std::string("FROM ") + t.hourly));
  }
  return Join(Columns(db, sql), "\n");
}

class PgRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { SetUpDb(pg); }
  static void SetUpDb(const PgTestDb& db) {
    ASSERT_OK(MigratePostgres(Target(db)).status());
    Ingest(db, "old-", 25, kNow - 40 * kDay);
    Ingest(db, "new-", 5, kNow - 1 * kDay);
    SeedChains(db);
  }
  int64_t Count(const std::string& sql) { return std::stoll(pg.Query(sql)); }
  // Events after 30 days, rollups after 35, small batches; then daily ==
  // hourly by day.
  void PruneRollupsOlderThan35Days() {
    PruneAll(pg, Config(30, 35, 400, 3), kNow);
    ExpectDailyEqualsHourly(pg);
  }

  PgTestDb pg;
};

TEST_F(PgRetentionTest, OffByDefaultDeletesNothing) {
  EXPECT_EQ(PruneAll(pg, RetentionConfig{}, kNow), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 30);
}

TEST_F(PgRetentionTest, OldEventsGoInBatchesAndRecentOnesStay) {
  EXPECT_GT(PruneAll(pg, Config(30, 400, 400, 4), kNow), 75);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"
                  " WHERE verification_id LIKE 'new-%'"),
            5);
  EXPECT_EQ(Count("SELECT count(*) FROM raw_requests"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM verifications"), 5);
  // The finished chain went with its steps and jobs; the one with a job
  // still to send stayed; opt-outs are never pruned.
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_roots"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_roots"
                  " WHERE root_id = 'waiting'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM fallback_steps"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM opt_outs"), 1);
  // Rollups outlive events: the old hour still counts its 25 sends.
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_hourly"), 30);
  ExpectDailyEqualsHourly(pg);
}

TEST_F(PgRetentionTest, RollupsGoAfterTheirOwnAge) {
  PruneRollupsOlderThan35Days();
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_hourly"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM stats_hourly WHERE hour_ms < " +
                  N(kNow - 35 * kDay)),
            0);
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_daily"), 5);
}

TEST_F(PgRetentionTest, RollupsBefore1970LeaveTheirOwnDay) {
  // % truncates toward zero; a time before 1970 must still be taken out
  // of its own UTC day (the day before 1970-01-01), not out of day 0.
  IngestMixed(pg, "pre1970", -12 * kHourMs);
  ASSERT_GT(Count("SELECT count(*) FROM stats_daily WHERE day_ms = -86400000"),
            0);
  PruneRollupsOlderThan35Days();
  for (const char* table :
       {"stats_daily", "stats_latency_daily", "stats_errors_daily"}) {
    EXPECT_EQ(Count(std::string("SELECT count(*) FROM ") + table +
                    " WHERE day_ms <= 0"),
              0)
        << table;
  }
}

TEST_F(PgRetentionTest, DailyRollupsLoseWhatTheHourlyOnesLose) {
  // Rollups an hour and five hours either side of the cutoff, all in the
  // cutoff's UTC day, and a day before it.
  const int64_t cutoff = kNow - 35 * kDay;
  ASSERT_EQ(DayFloor(cutoff - 5 * kHourMs), DayFloor(cutoff + 5 * kHourMs));
  for (int64_t offset : {-kDay - 3 * kHourMs, -5 * kHourMs, -kHourMs,
                         kHourMs, 5 * kHourMs}) {
    IngestMixed(pg, "m" + N(offset), cutoff + offset);
  }
  PruneRollupsOlderThan35Days();
  // The cutoff's day counts only its hours after the cutoff (two
  // verifications in each), in every daily table.
  const std::string day = N(DayFloor(cutoff));
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_daily WHERE day_ms = " + day),
            4);
  EXPECT_EQ(
      Count("SELECT sum(n) FROM stats_latency_daily WHERE day_ms = " + day), 2);
  EXPECT_EQ(
      Count("SELECT sum(n) FROM stats_errors_daily WHERE day_ms = " + day), 2);
  for (const char* table :
       {"stats_daily", "stats_latency_daily", "stats_errors_daily"}) {
    EXPECT_EQ(Count(std::string("SELECT count(*) FROM ") + table +
                    " WHERE day_ms < " + day),
              0)
        << table;
  }
  EXPECT_EQ(Count("SELECT sum(sent) FROM stats_daily"), 4 + 5);
}

TEST_F(PgRetentionTest, RawRequestStaysWhileAnEventRefersToIt) {
  // An old raw request whose event is young: the foreign key holds it.
  pg.Query("WITH r AS (INSERT INTO raw_requests(source, received_at_ms,"
           " target, head, body) VALUES ('src', " + N(kNow - 40 * kDay) +
           ", '/webhooks/src', ''::bytea, ''::bytea) RETURNING id)"
           " INSERT INTO delivery_events(source, provider, dedupe_key,"
           " verification_id, channel, status, raw_status, received_at_ms,"
           " raw_request_id) SELECT 'src', 'verifynow', 'late', 'late',"
           " 'sms', 'delivered', 'DELIVERED', " + N(kNow - kDay) +
           ", id FROM r");
  PruneAll(pg, Config(30, 400, 400, 4), kNow);
  EXPECT_EQ(Count("SELECT count(*) FROM raw_requests WHERE received_at_ms < " +
                  N(kNow - 30 * kDay)),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 6);
}

// --- Dedupe keys (tests/sqlite/sqlite_dedupe_retention_test.cc) -------------

std::string HashesOf(const std::vector<std::string>& keys) {
  std::set<std::string> sorted;
  for (const std::string& k : keys) {
    sorted.insert(HexEncode(DedupeKeyHash("src", k).value()));
  }
  std::string out;
  for (const std::string& h : sorted) out += (out.empty() ? "" : ",") + h;
  return out;
}

TEST(PgRetentionDedupe, KeysOfPrunedEventsMoveAndGoAfterDedupeDays) {
  PgTestDb pg;
  ASSERT_OK(MigratePostgres(Target(pg)).status());
  Ingest(pg, "SM", 7, kNow - 33 * kDay);
  // Older than dedupe_days already when its event goes: not kept.
  Ingest(pg, "SMold", 1, kNow - 36 * kDay);
  Ingest(pg, "SMnew", 1, kNow - kDay);
  const RetentionConfig c = Config(30, 400, 35, 3);

  PruneAll(pg, c, kNow);
  EXPECT_EQ(pg.Query("SELECT count(*) FROM delivery_events"), "1");
  // The keys are the ones ingest checks: DedupeKeyHash(source, key), with
  // the event's time.
  EXPECT_EQ(pg.Query("SELECT string_agg(encode(key_hash, 'hex'), ','"
                     " ORDER BY encode(key_hash, 'hex')) FROM dedupe_keys"),
            HashesOf({"SM0", "SM1", "SM2", "SM3", "SM4", "SM5", "SM6"}));
  EXPECT_EQ(pg.Query("SELECT min(first_seen_ms) || '/' || max(first_seen_ms)"
                     " FROM dedupe_keys"),
            N(kNow - 33 * kDay) + "/" + N(kNow - 33 * kDay + 6));

  // Three days on, the 33-day-old keys are 36 days old: gone, 3 a batch.
  EXPECT_EQ(PruneAll(pg, c, kNow + 3 * kDay), 7);
  EXPECT_EQ(pg.Query("SELECT count(*) FROM dedupe_keys"), "0");
}

TEST(PgRetentionDedupe, KeysMoveInTheTransactionThatDeletesTheEvents) {
  PgTestDb pg;
  ASSERT_OK(MigratePostgres(Target(pg)).status());
  Ingest(pg, "SM", 5, kNow - 33 * kDay);
  // Storing a key fails: the events' delete must not commit without it.
  pg.Query("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
           " $$ BEGIN RAISE EXCEPTION 'no keys today'; END $$;"
           "CREATE TRIGGER refuse BEFORE INSERT ON dedupe_keys"
           " FOR EACH ROW EXECUTE FUNCTION refuse();");
  const RetentionConfig c = Config(30, 400, 400, 10);
  auto r = OpenPgRetention(Target(pg), c);
  ASSERT_OK(r.status());
  std::string table;
  Result<int64_t> n = r.value()->PruneBatch(kNow, &table);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("no keys today"), std::string::npos)
      << n.status().message();
  EXPECT_EQ(pg.Query("SELECT count(*) FROM delivery_events"), "5");
  EXPECT_EQ(pg.Query("SELECT count(*) FROM dedupe_keys"), "0");

  // The same connection goes on once keys can be stored.
  pg.Query("DROP TRIGGER refuse ON dedupe_keys");
  EXPECT_GT(Drain(*r.value(), c, kNow), 0);
  EXPECT_EQ(pg.Query("SELECT count(*) FROM delivery_events"), "0");
  EXPECT_EQ(pg.Query("SELECT count(*) FROM dedupe_keys"), "5");
}

// --- Quarantine TTL ---------------------------------------------------------

TEST(PgRetentionQuarantine, OldRequestsGoEvenWhenEventsAreKept) {
  PgTestDb pg;
  ASSERT_OK(MigratePostgres(Target(pg)).status());
  Ingest(pg, "old-", 3, kNow - 400 * kDay);
  pg.Query("INSERT INTO quarantine(source, received_at_ms, reason, head,"
           " body) SELECT 'src', " + N(kNow - 100 * kHourMs) +
           " + i, 'bad signature', 'head'::bytea,"
           " convert_to('body-' || i, 'UTF8') FROM"
           " generate_series(1, 5) i;"
           "INSERT INTO quarantine(source, received_at_ms, reason, head,"
           " body) SELECT 'src', " + N(kNow - kHourMs) +
           " + i, 'bad signature', 'h'::bytea, 'b'::bytea FROM"
           " generate_series(1, 2) i;");
  ASSERT_EQ(pg.Query("SELECT rows FROM quarantine_totals"), "7");
  RetentionConfig off;  // events_days 0: events kept
  off.batch_rows = 2;
  EXPECT_EQ(PruneAll(pg, off, kNow, 72 * kHourMs), 5);
  EXPECT_EQ(pg.Query("SELECT count(*) FROM quarantine"), "2");
  // The totals the caps read followed the deletes (schema triggers).
  EXPECT_EQ(pg.Query("SELECT rows || '/' || bytes FROM quarantine_totals"),
            "2/4");
  EXPECT_EQ(pg.Query("SELECT count(*) FROM delivery_events"), "3");
  // Without a TTL, nothing of the quarantine goes.
  pg.Query("UPDATE quarantine SET received_at_ms = 0");
  EXPECT_EQ(PruneAll(pg, off, kNow, 0), 0);
  EXPECT_EQ(pg.Query("SELECT count(*) FROM quarantine"), "2");
}

// --- Several replicas --------------------------------------------------------

// Many events and rollups over several days, with several rollup rows per
// hour and hours that share a day, on both sides of the cutoffs.
void SeedMany(const PgTestDb& db) {
  ASSERT_OK(MigratePostgres(Target(db)).status());
  std::string sql;
  for (int d = 0; d < 12; ++d) {
    const int64_t at = kNow - (25 + d) * kDay - (d % 3) * 5 * kHourMs;
    sql += IngestSql("e" + N(d) + "-", 40, at);
    for (int h = 0; h < 6; ++h) {
      for (const char* country : {"GB", "DE", "FR"}) {
        sql += AddRollups(at + h * kHourMs, country, h + 1, h, 1, h + 2, 1);
      }
    }
  }
  db.Query(sql);
  SeedChains(db);
}

TEST(PgRetentionReplicas, TwoReplicasPruningAtOnceEndWhereOneWould) {
  PgTestDb one, two;
  ASSERT_NO_FATAL_FAILURE(SeedMany(one));
  ASSERT_NO_FATAL_FAILURE(SeedMany(two));
  ASSERT_EQ(Snapshot(one), Snapshot(two));
  const RetentionConfig c = Config(30, 31, 33, 20);

  const int64_t alone = PruneAll(one, c, kNow);
  ASSERT_GT(alone, 0);

  auto a = OpenPgRetention(Target(two, "dlrd-retention-a"), c);
  auto b = OpenPgRetention(Target(two, "dlrd-retention-b"), c);
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  int64_t by_a = 0, by_b = 0;
  std::set<std::string> tables_a, tables_b;
  std::thread ta([&] { by_a = Drain(*a.value(), c, kNow, &tables_a); });
  std::thread tb([&] { by_b = Drain(*b.value(), c, kNow, &tables_b); });
  ta.join();
  tb.join();
  // Each row deleted once: the two together deleted what one did.
  EXPECT_EQ(by_a + by_b, alone);
  EXPECT_GT(by_a, 0);
  EXPECT_GT(by_b, 0);
  EXPECT_EQ(Snapshot(two), Snapshot(one));
  ExpectDailyEqualsHourly(two);
  ExpectDailyEqualsHourly(one);
}

TEST(PgRetentionReplicas, RowsAnotherTransactionHoldsAreSkippedNotWaitedFor) {
  PgTestDb pg;
  ASSERT_NO_FATAL_FAILURE(SeedMany(pg));
  const RetentionConfig c = Config(30, 31, 400, 5);
  // Another replica's open transaction holds old rows: an hour of
  // rollups, some events, the finished chain.
  auto holder = PgConn::Connect(pg.uri(), "", "dlrd-holder");
  ASSERT_OK(holder.status());
  PgConn& h = holder.value();
  ASSERT_OK(h.Exec("BEGIN").status());
  const std::string held_hour = N(HourFloor(kNow - 36 * kDay - 2 * 5 * kHourMs));
  const std::string held_rows =
      pg.Query("SELECT count(*) FROM stats_hourly WHERE hour_ms = " + held_hour);
  ASSERT_EQ(held_rows, "4");  // GB, DE, FR and the events' own
  const std::string old_events =
      "SELECT count(*) FROM delivery_events WHERE received_at_ms < " +
      N(kNow - 30 * kDay);
  ASSERT_OK(h.Exec("SELECT 1 FROM stats_hourly WHERE hour_ms = " +
                   held_hour + " FOR UPDATE")
                .status());
  ASSERT_OK(h.Exec("SELECT 1 FROM delivery_events WHERE dedupe_key LIKE"
                   " 'e5-%' FOR UPDATE")
                .status());
  ASSERT_OK(h.Exec("SELECT 1 FROM fallback_roots WHERE root_id = 'done'"
                   " FOR UPDATE")
                .status());

  const auto start = std::chrono::steady_clock::now();
  PruneAll(pg, c, kNow);
  // Well under the 10 s lock_timeout: nothing waited on the holder.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(pg.Query("SELECT count(*) FROM stats_hourly WHERE hour_ms = " +
                     held_hour),
            held_rows);
  EXPECT_EQ(pg.Query(old_events), "40");
  EXPECT_EQ(pg.Query("SELECT count(*) FROM fallback_roots"), "2");
  ExpectDailyEqualsHourly(pg);

  // Released: the next pass takes them.
  ASSERT_OK(h.Exec("COMMIT").status());
  PruneAll(pg, c, kNow);
  EXPECT_EQ(pg.Query("SELECT count(*) FROM stats_hourly WHERE hour_ms < " +
                     N(kNow - 31 * kDay)),
            "0");
  EXPECT_EQ(pg.Query(old_events), "0");
  EXPECT_EQ(pg.Query("SELECT string_agg(root_id, ',') FROM fallback_roots"),
            "waiting");
  ExpectDailyEqualsHourly(pg);
}

// --- Connection loss ----------------------------------------------------------

std::string AdminUri(const PgTestDb& db) {
  return db.uri().substr(0, db.uri().rfind('/') + 1) + "postgres";
}

void KillBackend(const PgTestDb& db, const std::string& app) {
  const std::string where =
      " FROM pg_stat_activity WHERE application_name = '" + app + "'";
  ASSERT_EQ(PgTestDb::Psql(AdminUri(db),
                           "SELECT pg_terminate_backend(pid)" + where),
            "t");
  for (int i = 0; i < 100; ++i) {
    if (PgTestDb::Psql(AdminUri(db), "SELECT count(*)" + where) == "0") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "backend of " << app << " still there";
}

TEST_F(PgRetentionTest, LostConnectionIsUnavailableOnceThenReconnected) {
  const std::string app = "dlrd-retention-kill-" + pg.name();
  const RetentionConfig c = Config(30, 400, 400, 4);
  auto r = OpenPgRetention(Target(pg, app), c);
  ASSERT_OK(r.status());
  std::string table;
  ASSERT_OK(r.value()->PruneBatch(kNow, &table).status());

  ASSERT_NO_FATAL_FAILURE(KillBackend(pg, app));
  Result<int64_t> lost = r.value()->PruneBatch(kNow, &table);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable)
      << lost.status().message();

  // The database refuses new connections: still unavailable.
  PgTestDb::Psql(AdminUri(pg),
                 "ALTER DATABASE " + pg.name() + " ALLOW_CONNECTIONS false");
  Result<int64_t> down = r.value()->PruneBatch(kNow, &table);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable)
      << down.status().message();
  PgTestDb::Psql(AdminUri(pg),
                 "ALTER DATABASE " + pg.name() + " ALLOW_CONNECTIONS true");

  // Back: the next call reconnects, and pruning finishes.
  Drain(*r.value(), c, kNow);
  EXPECT_EQ(Count("SELECT count(*) FROM delivery_events"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM raw_requests"), 5);
}

TEST(PgRetentionOpen, DatabaseWithoutSchemaIsRefused) {
  PgTestDb db;
  auto r = OpenPgRetention(Target(db), Config(30, 400, 400, 10));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no dlrd schema"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace dlrd
