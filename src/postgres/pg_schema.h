// The PostgreSQL schema and its migrations (schema/postgres/NNNN_*.sql,
// embedded at build time). Private to dlrd_postgres.
//
// Invariant: when several replicas start at once against an empty or old
// database, exactly one applies each migration and the others wait for it:
// PgMigrate holds a session-level pg_advisory_lock for the whole run, reads
// the version under the lock, and applies each newer file in its own
// transaction together with the version bump. A database whose version is
// newer than this build knows is refused (a rollback to an older binary
// must not write into a schema it does not understand), as with SQLite.
#pragma once

#include <string_view>
#include <vector>

#include "dlrd/core/util/status.h"
#include "postgres/pg_conn.h"

namespace dlrd {

struct PgSchemaFile {
  int version;            // the file's NNNN prefix
  std::string_view name;  // e.g. "0001_init.sql"
  std::string_view sql;
};

// In version order.
const std::vector<PgSchemaFile>& PgSchemaFiles();
int PgLatestSchemaVersion();

// The version in the database (0: no dlrd schema yet). No lock, no write.
Result<int> PgSchemaVersion(PgConn& conn);

// kError naming the way out when the database has no dlrd schema yet: for
// the readers and workers that open a database `serve` migrates.
Status PgRequireSchema(PgConn& conn);

// Brings the schema to PgLatestSchemaVersion(); returns the version now in
// the database. Errors name the migration file.
Result<int> PgMigrate(PgConn& conn);

}  // namespace dlrd
