#include "dlrd/postgres/pg_database.h"

#include "postgres/pg_conn.h"
#include "postgres/pg_schema.h"

namespace dlrd {

Result<PgServerInfo> ProbePostgres(const PgTarget& target) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  PgServerInfo info;
  info.server_version = conn.value().server_version();
  Result<int> v = PgSchemaVersion(conn.value());
  if (!v.ok()) return v.status();
  info.schema_version = v.value();
  info.latest_schema_version = PgLatestSchemaVersion();
  return info;
}

int LatestPostgresSchemaVersion() { return PgLatestSchemaVersion(); }

Result<int> MigratePostgres(const PgTarget& target) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  return PgMigrate(conn.value());
}

}  // namespace dlrd
