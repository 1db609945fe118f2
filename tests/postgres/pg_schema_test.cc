// Migrations on the suite's real PostgreSQL server: a fresh database gets
// every table; several replicas starting at once migrate exactly once; a
// schema newer than the binary is refused; a server that cannot be reached
// is reported as unavailable (503 material), not as a generic error.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "dlrd/postgres/pg_database.h"
#include "postgres/pg_conn.h"
#include "postgres/pg_schema.h"
#include "testutil/pg_test_db.h"

namespace dlrd {
namespace {

using testutil::PgTestDb;

PgTarget Target(const PgTestDb& db, std::string app = "dlrd-test") {
  PgTarget t;
  t.uri = db.uri();
  t.application_name = std::move(app);
  return t;
}

TEST(PgSchema, FreshDatabaseGetsEveryTable) {
  PgTestDb db;
  Result<PgServerInfo> before = ProbePostgres(Target(db));
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(before.value().schema_version, 0);
  EXPECT_EQ(before.value().server_version.substr(0, 3), "15.");

  Result<int> v = MigratePostgres(Target(db));
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v.value(), PgLatestSchemaVersion());
  const std::string tables = db.Query(
      "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
      " WHERE schemaname = 'public'");
  for (const char* t :
       {"raw_requests", "delivery_events", "verifications", "dedupe_keys",
        "fallback_roots", "fallback_steps", "outbox", "opt_outs",
        "fallback_decisions", "stats_hourly", "stats_latency", "stats_errors",
        "stats_daily", "stats_latency_daily", "stats_errors_daily",
        "quarantine", "quarantine_totals", "dlrd_schema"}) {
    EXPECT_NE(tables.find(t), std::string::npos) << t << " in " << tables;
  }
  // Again: nothing to do, same version.
  Result<int> again = MigratePostgres(Target(db));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again.value(), PgLatestSchemaVersion());
  EXPECT_EQ(db.Query("SELECT count(*) FROM dlrd_schema"),
            std::to_string(PgSchemaFiles().size()));
}

TEST(PgSchema, ReplicasStartingAtOnceMigrateExactlyOnce) {
  PgTestDb db;
  constexpr int kReplicas = 6;
  std::vector<Result<int>> results(kReplicas, Result<int>(0));
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = MigratePostgres(Target(db, "r" + std::to_string(i))); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), PgLatestSchemaVersion());
  }
  // One row per migration: no file ran twice (a second run would have
  // failed on CREATE TABLE, or inserted a duplicate version).
  EXPECT_EQ(db.Query("SELECT count(*), count(DISTINCT version) FROM dlrd_schema"),
            std::to_string(PgSchemaFiles().size()) + "|" +
                std::to_string(PgSchemaFiles().size()));
  EXPECT_EQ(db.Query("SELECT count(*) FROM quarantine_totals"), "1");
}

TEST(PgSchema, NewerSchemaIsRefused) {
  PgTestDb db;
  ASSERT_TRUE(MigratePostgres(Target(db)).ok());
  db.Query("INSERT INTO dlrd_schema(version) VALUES (999)");
  Result<int> v = MigratePostgres(Target(db));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("newer than this dlrd supports"),
            std::string::npos)
      << v.status().message();
  Result<PgServerInfo> info = ProbePostgres(Target(db));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().schema_version, 999);
}

TEST(PgSchema, FailedMigrationLeavesNothingBehind) {
  PgTestDb db;
  // A table the first migration creates already exists: the migration
  // fails, names its file, and rolls back as a whole.
  db.Query("CREATE TABLE opt_outs (x int)");
  Result<int> v = MigratePostgres(Target(db));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("0001_init.sql"), std::string::npos)
      << v.status().message();
  EXPECT_EQ(db.Query("SELECT to_regclass('delivery_events') IS NULL"), "t");
  EXPECT_EQ(db.Query("SELECT count(*) FROM dlrd_schema"), "0");
}

TEST(PgConnTest, UnreachableServerIsUnavailable) {
  // A port nothing listens on (bound and closed again).
  Result<PgConn> c = PgConn::Connect(
      "postgresql://dlrd@127.0.0.1:1/postgres?connect_timeout=2", "", "t");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("connect"), std::string::npos);
}

TEST(PgConnTest, ErrorsAreClassified) {
  PgTestDb db;
  Result<PgConn> c = PgConn::Connect(db.uri(), "", "t");
  ASSERT_TRUE(c.ok()) << c.status().message();
  PgConn& conn = c.value();
  ASSERT_TRUE(conn.ExecScript("CREATE TABLE k (id int PRIMARY KEY)").ok());
  ASSERT_TRUE(conn.Exec("INSERT INTO k VALUES ($1)", {int64_t{1}}).ok());
  Result<PgResult> dup = conn.Exec("INSERT INTO k VALUES ($1)", {int64_t{1}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kConstraint);
  EXPECT_NE(dup.status().message().find("23505"), std::string::npos);
  Result<PgResult> bad = conn.Exec("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kError);
  // Bytes round-trip exactly, NULs and high bytes included.
  const std::string bytes("a\0b\xff\r\n", 6);
  Result<PgResult> r = conn.Exec("SELECT $1::bytea, octet_length($1::bytea)",
                                 {PgParam::Bytes(bytes)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value().Bytes(0, 0), bytes);
  EXPECT_EQ(r.value().Int(0, 1), 6);
  // Text with a NUL is refused, never sent cut short at the NUL.
  Result<PgResult> nul = conn.Exec("SELECT $1::text",
                                   {PgParam(std::string_view("a\0b", 3))});
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.status().code(), StatusCode::kError);
  EXPECT_NE(nul.status().message().find("NUL"), std::string::npos);
  Result<PgResult> prepared = conn.ExecPrepared(
      "nul", "SELECT $1::text", {PgParam(std::string_view("a\0b", 3))});
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), StatusCode::kError);
  EXPECT_TRUE(conn.Exec("SELECT 1").ok()) << "the connection stays usable";
}

TEST(PgConnTest, TerminatedSessionIsUnavailable) {
  PgTestDb db;
  Result<PgConn> c = PgConn::Connect(db.uri(), "", "victim");
  ASSERT_TRUE(c.ok()) << c.status().message();
  db.Query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE application_name = 'victim' AND datname = current_database()");
  Result<PgResult> r = c.value().Exec("SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable)
      << r.status().message();
  EXPECT_FALSE(c.value().connected());
}

}  // namespace
}  // namespace dlrd
