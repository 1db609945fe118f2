#include "postgres/pg_schema.h"

#include <string>

namespace dlrd {
namespace {

// The advisory lock key every dlrd replica migrates under ("dlrd" in ASCII).
constexpr const char* kLockKey = "1684828772";

Status Unlock(PgConn& conn) {
  Result<PgResult> r =
      conn.Exec("SELECT pg_advisory_unlock($1::bigint)", {kLockKey});
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

int PgLatestSchemaVersion() {
  const auto& files = PgSchemaFiles();
  return files.empty() ? 0 : files.back().version;
}

Status PgRequireSchema(PgConn& conn) {
  Result<int> version = PgSchemaVersion(conn);
  if (!version.ok()) return version.status();
  if (version.value() == 0) {
    return Status::Error(
        "the PostgreSQL database has no dlrd schema yet; start dlrd serve "
        "once to migrate it");
  }
  return Status::Ok();
}

Result<int> PgSchemaVersion(PgConn& conn) {
  Result<PgResult> exists =
      conn.Exec("SELECT to_regclass('dlrd_schema') IS NOT NULL");
  if (!exists.ok()) return exists.status();
  if (exists.value().Text(0, 0) != "t") return 0;
  Result<PgResult> v = conn.Exec("SELECT max(version) FROM dlrd_schema");
  if (!v.ok()) return v.status();
  return static_cast<int>(v.value().Int(0, 0));
}

Result<int> PgMigrate(PgConn& conn) {
  // Session lock: held across the per-file transactions below, released
  // at the end (or by the server when this connection dies).
  if (Result<PgResult> r =
          conn.Exec("SELECT pg_advisory_lock($1::bigint)", {kLockKey});
      !r.ok()) {
    return r.status();
  }
  auto run = [&]() -> Result<int> {
    if (Status s = conn.ExecScript(
            "CREATE TABLE IF NOT EXISTS dlrd_schema ("
            " version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
        !s.ok()) {
      return s;
    }
    Result<int> version = PgSchemaVersion(conn);
    if (!version.ok()) return version.status();
    int v = version.value();
    if (v > PgLatestSchemaVersion()) {
      return Status::Error("database schema version " + std::to_string(v) +
                           " is newer than this dlrd supports (" +
                           std::to_string(PgLatestSchemaVersion()) + ")");
    }
    for (const PgSchemaFile& f : PgSchemaFiles()) {
      if (f.version <= v) continue;
      std::string sql = "BEGIN;\n" + std::string(f.sql) +
                        "\n;INSERT INTO dlrd_schema(version) VALUES (" +
                        std::to_string(f.version) + ");\nCOMMIT;";
      if (Status s = conn.ExecScript(sql); !s.ok()) {
        // The script stopped at the failing statement with the
        // transaction open (aborted); end it.
        (void)conn.ExecScript("ROLLBACK");  // best effort; the error wins
        return Status::Error(s.code(), "migration " + std::string(f.name) +
                                           ": " + s.message());
      }
      v = f.version;
    }
    return v;
  };
  Result<int> out = run();
  if (Status u = Unlock(conn); !u.ok() && out.ok()) return u;
  return out;
}

}  // namespace dlrd
