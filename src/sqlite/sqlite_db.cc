#include "sqlite/sqlite_db.h"

#include <iterator>

namespace dlrd {
namespace {

// The role -> settings table. Every connection dlrd opens is one row; the
// rows reproduce the settings each connection had before they were
// gathered here (docs/reliability.md §2.1 for why the writer and the
// outbox say synchronous=FULL).
//
// foreign_keys stays ON for the writer only, as before. The one foreign
// key (delivery_events.raw_request_id -> raw_requests, schema/0001) is
// only ever inserted by the writer; the retention worker deletes both
// tables in its own order and was never run with the check, so turning it
// on there (or for the other roles) is a behaviour change not made here.
//
// journal_mode=WAL is a property of the FILE (it persists), set by the
// writer, which opens first and refuses a file that will not take it;
// the other roles inherit it. Roles without a synchronous pragma run
// with SQLite's compiled-in default (docs/reliability.md §2.1 says every
// connection uses FULL; adding it to their rows is left to a change that
// measures it).
struct RoleSpec {
  SqliteRole role;
  int flags;
  bool uses_vfs;     // honours SqliteOptions::vfs (the power-loss shim)
  bool require_wal;  // PRAGMA journal_mode=WAL, refusing another answer
  // Run with sqlite3_exec() after open (and after WAL); null: none.
  const char* pragmas;
  // Prepended to "<path>: <SQLite's reason>" when the open fails.
  const char* open_error;
  // Prepended to SQLite's reason when `pragmas` fail; null: the pragma
  // text itself followed by ": ".
  const char* pragma_error;
};

constexpr RoleSpec kRoles[] = {
    // The ingest writer: creates the file. NOMUTEX: one thread owns it.
    // synchronous=FULL: a commit survives power loss. foreign_keys=ON: the
    // event -> raw request links are checked on insert. 64 MiB WAL cap
    // after checkpoints; 16 MiB of page cache keeps the dedupe index's
    // interior pages hot without a large RSS; temp tables in memory.
    {SqliteRole::kWriter,
     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, true,
     true,
     "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
     " PRAGMA journal_size_limit=67108864;"
     " PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;",
     "cannot open ", ""},
    // The dispatcher: outbox claims and marks must survive power loss as
    // the events do (synchronous=FULL); SQLite's defaults otherwise.
    {SqliteRole::kOutbox, SQLITE_OPEN_READWRITE, true, false,
     "PRAGMA synchronous=FULL", "open ", nullptr},
    // The retention worker: SQLite's defaults (bounded deletes).
    {SqliteRole::kRetention, SQLITE_OPEN_READWRITE, false, false, nullptr,
     "retention: open ", nullptr},
    // `dlrd quarantine`: SQLite's defaults (a few rows by hand).
    {SqliteRole::kQuarantine, SQLITE_OPEN_READWRITE, false, false, nullptr,
     "quarantine: open ", nullptr},
    // `dlrd stats`: read-only, SQLite's defaults.
    {SqliteRole::kStatsReader, SQLITE_OPEN_READONLY, false, false, nullptr,
     "open ", nullptr},
    // `dlrd migrate-store`: read-only, SQLite's defaults; one long read
    // transaction (sqlite_export.h).
    {SqliteRole::kExport, SQLITE_OPEN_READONLY, false, false, nullptr,
     "open ", nullptr},
};

const RoleSpec& SpecOf(SqliteRole role) {
  for (const RoleSpec& r : kRoles) {
    if (r.role == role) return r;
  }
  return kRoles[std::size(kRoles) - 1];  // unreachable: every role has a row
}

// journal_mode returns the mode actually in force; a read-only or in-memory
// database may refuse WAL, which would silently weaken durability.
Status RequireWal(sqlite3* db) {
  SqliteStmt mode = SqlitePrepare(db, "PRAGMA journal_mode=WAL");
  if (!mode) return SqliteError(db, "journal_mode");
  if (sqlite3_step(mode.get()) != SQLITE_ROW) {
    return SqliteError(db, "journal_mode");
  }
  const std::string got = ColumnText(mode.get(), 0);
  mode.reset();  // an unfinalized statement would block a later COMMIT
  if (got != "wal" && got != "memory") {
    return Status::Error("journal_mode: WAL refused (got " + got + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<SqliteDb> OpenSqlite(const std::string& path, SqliteRole role,
                            int64_t busy_timeout_ms, const std::string& vfs) {
  const RoleSpec& spec = SpecOf(role);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, spec.flags,
      spec.uses_vfs && !vfs.empty() ? vfs.c_str() : nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    return Status::Error(std::string(spec.open_error) + path + ": " +
                         (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout_ms));
  if (spec.require_wal) {
    if (Status s = RequireWal(raw); !s.ok()) return s;
  }
  if (spec.pragmas != nullptr) {
    if (Status s = SqliteExec(raw, spec.pragmas); !s.ok()) {
      const std::string prefix = spec.pragma_error != nullptr
                                     ? std::string(spec.pragma_error)
                                     : std::string(spec.pragmas) + ": ";
      return Status::Error(prefix + s.message());
    }
  }
  return db;
}

Status SqliteError(sqlite3* db, std::string_view what) {
  return Status::Error(std::string(what) + ": " + sqlite3_errmsg(db));
}

Status SqliteExec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status::Error(msg);
  }
  return Status::Ok();
}

Status SqliteRollback(sqlite3* db) {
  if (sqlite3_get_autocommit(db)) return Status::Ok();
  return SqliteExec(db, "ROLLBACK");
}

SqliteStmt SqlitePrepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* p = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &p, nullptr);
  return SqliteStmt(p);
}

Status SqliteStep(sqlite3* db, sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    return Status::Error(sqlite3_errmsg(db));
  }
  return Status::Ok();
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  if (t == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

std::string ColumnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
           : std::string();
}

}  // namespace dlrd
