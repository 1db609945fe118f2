// `dlrd migrate-store --from FILE --to postgresql://...`: copies a dlrd
// SQLite database into an empty PostgreSQL database.
//
// Invariants:
//  * The copy is one SQLite snapshot (SqliteExport) written in one
//    PostgreSQL transaction (PgImport): the target ends up with every row
//    or with none, never with part of a table.
//  * Only a SQLite file at the newest schema version this build knows is
//    copied: its tables then have exactly the columns the PostgreSQL
//    schema mirrors. An older file is migrated by starting the daemon once.
//  * Only an EMPTY target is filled (checked under the import's table
//    locks): merging two stores' ids and dedupe keys is not a copy.
//  * Every SQLite table is accounted for: kCopyOrder below or kNotCopied.
//    A table this list does not know (a newer schema file added one and
//    this list was not updated) stops the copy instead of being dropped.
//
// Exit codes (commands.h): 0 copied; 1 a database error or a refusal
// (schema version, unknown table, target not empty); 2 usage.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "dlrd/core/config/config.h"
#include "dlrd/postgres/pg_database.h"
#include "dlrd/postgres/pg_import.h"
#include "dlrd/sqlite/sqlite_export.h"

namespace dlrd {
namespace {

// Dependency order: a table comes after the tables it refers to
// (delivery_events.raw_request_id -> raw_requests).
const std::vector<std::string> kCopyOrder = {
    "raw_requests",   "delivery_events",    "verifications",
    "dedupe_keys",    "fallback_roots",     "fallback_steps",
    "outbox",         "opt_outs",           "fallback_decisions",
    "stats_hourly",   "stats_latency",      "stats_errors",
    "stats_daily",    "stats_latency_daily", "stats_errors_daily",
    "quarantine",
};
// Rebuilt by the target's triggers as the quarantine rows arrive.
const std::set<std::string> kNotCopied = {"quarantine_totals"};

constexpr size_t kChunkRows = 2000;

int Fail(const std::string& msg) {
  std::cerr << "dlrd migrate-store: " << msg << "\n";
  return 1;
}

}  // namespace

int RunMigrateStore(const MigrateStoreOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (!IsPostgresUri(options.to)) {
    std::cerr << "dlrd migrate-store: --to must be a postgresql:// URI\n";
    return 2;
  }
  // A password on the command line shows in ps and shell history.
  if (Status s = CheckPostgresUri(options.to); !s.ok()) {
    std::cerr << "dlrd migrate-store: --to: " << s.message()
              << "; for this command: PGPASSFILE or PGPASSWORD\n";
    return 2;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(options.from, ec)) {
    std::cerr << "dlrd migrate-store: --from " << options.from
              << ": no such file\n";
    return 2;
  }

  Result<std::unique_ptr<SqliteExport>> opened =
      SqliteExport::Open(options.from);
  if (!opened.ok()) return Fail(opened.status().message());
  SqliteExport& from = *opened.value();
  const int latest = SqliteExport::LatestSchemaVersion();
  if (from.schema_version() != latest) {
    return Fail(
        options.from + ": schema version " +
        std::to_string(from.schema_version()) + ", but this dlrd copies " +
        std::to_string(latest) + " only. " +
        (from.schema_version() < latest
             ? "Start `dlrd serve` once on this file (with this dlrd) so it "
               "migrates it, stop it, and run migrate-store again."
             : "The file is newer than this dlrd: use the dlrd that wrote "
               "it."));
  }
  Result<std::vector<std::string>> tables = from.Tables();
  if (!tables.ok()) return Fail(tables.status().message());
  const std::set<std::string> known(kCopyOrder.begin(), kCopyOrder.end());
  for (const std::string& t : tables.value()) {
    if (!known.count(t) && !kNotCopied.count(t)) {
      return Fail(options.from + ": table " + t +
                  " is not known to migrate-store; nothing was copied");
    }
  }
  for (const std::string& t : kCopyOrder) {
    if (!std::set<std::string>(tables.value().begin(), tables.value().end())
             .count(t)) {
      return Fail(options.from + ": table " + t + " is missing");
    }
  }

  PgTarget target;
  target.uri = options.to;  // the password: PGPASSWORD or PGPASSFILE
  target.application_name = "dlrd migrate-store";
  Result<int> version = MigratePostgres(target);
  if (!version.ok()) return Fail("target: " + version.status().message());

  Result<std::unique_ptr<PgImport>> begun = PgImport::Begin(target, kCopyOrder);
  if (!begun.ok()) return Fail("target: " + begun.status().message());
  PgImport& to = *begun.value();
  for (const std::string& t : kCopyOrder) {
    Result<bool> has = to.HasRows(t);
    if (!has.ok()) return Fail("target: " + has.status().message());
    if (has.value()) {
      return Fail("the target database is not empty (table " + t +
                  " has rows); migrate-store only fills an empty database. "
                  "Nothing was copied.");
    }
  }

  std::cout << "copying " << options.from << " (schema " << latest
            << ") into PostgreSQL (schema " << version.value() << ")\n";
  int64_t total = 0;
  for (const std::string& t : kCopyOrder) {
    Result<std::vector<std::string>> columns = from.Columns(t);
    if (!columns.ok()) return Fail(columns.status().message());
    Result<int64_t> expected = from.CountRows(t);
    if (!expected.ok()) return Fail(expected.status().message());
    if (Status s = to.BeginTable(t, columns.value()); !s.ok()) {
      return Fail(s.message());
    }
    Status read = from.ForEachChunk(
        t, kChunkRows,
        [&to](const std::vector<TableRow>& rows) { return to.WriteRows(rows); });
    if (!read.ok()) return Fail(read.message() + "; nothing was copied");
    Result<int64_t> written = to.EndTable();
    if (!written.ok()) {
      return Fail(written.status().message() + "; nothing was copied");
    }
    if (written.value() != expected.value()) {
      return Fail(t + ": " + std::to_string(written.value()) +
                  " rows written for " + std::to_string(expected.value()) +
                  " read; nothing was copied");
    }
    total += written.value();
    std::printf("  %-20s %10lld rows\n", t.c_str(),
                static_cast<long long>(written.value()));
  }
  if (Status s = to.Commit(); !s.ok()) {
    return Fail("commit: " + s.message() +
                (s.code() == StatusCode::kUnavailable
                     ? " (the outcome is unknown: check the target before "
                       "running again)"
                     : "; nothing was copied"));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  std::printf("copied %lld rows in %zu tables in %.3f s\n",
              static_cast<long long>(total), kCopyOrder.size(), seconds);
  std::fflush(stdout);
  return 0;
}

}  // namespace dlrd
