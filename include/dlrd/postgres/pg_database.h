// What the rest of dlrd knows of a PostgreSQL database: how to reach it
// (PgTarget) and what check-config reports (PgServerInfo). No libpq type
// appears here or in any public header of dlrd_postgres; the stores built
// on it are handed out behind the core ports (dlrd/core/ports/).
#pragma once

#include <string>

#include "dlrd/core/util/status.h"

namespace dlrd {

struct PgTarget {
  // A libpq connection URI (postgresql://user@host:port/db?sslmode=...),
  // without a password: query parameters pass through to libpq.
  std::string uri;
  // Resolved from `database_password` (env:/file:); empty: libpq's own
  // PGPASSWORD/PGPASSFILE (~/.pgpass) applies.
  std::string password;
  // application_name on the server (pg_stat_activity); the replica's name.
  std::string application_name = "dlrd";
};

struct PgServerInfo {
  std::string server_version;  // e.g. "15.18"
  int schema_version = 0;      // 0: no dlrd schema yet
  int latest_schema_version = 0;
};

// Connects, reads the server version and the schema state; writes nothing.
Result<PgServerInfo> ProbePostgres(const PgTarget& target);

// The highest schema version this build ships: the version in place once
// OpenPgEventStore (which migrates, and refuses a newer schema) succeeded.
int LatestPostgresSchemaVersion();

// Connects and applies the migrations (one replica at a time; see
// src/postgres/pg_schema.h). Returns the schema version now in place.
Result<int> MigratePostgres(const PgTarget& target);

}  // namespace dlrd
