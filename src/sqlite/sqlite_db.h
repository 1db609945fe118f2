// One place for how dlrd opens and talks to SQLite. Private to dlrd_sqlite.
//
// Invariant: every connection is opened through OpenSqlite() with a ROLE,
// and the role alone decides the open flags and the pragmas, from one
// table (kRoles in sqlite_db.cc). A connection's durability settings are
// therefore read in one place instead of five, and a new adapter (or a
// new connection of an existing one) cannot silently get different ones.
// The table reproduces what each connection had before the helper
// existed; see each row's comment for why it holds what it holds.
//
// The small wrappers below (exec, step, bind, column, the row loop and the
// error text) are the one copy of each; they take the raw sqlite3*, which
// never leaves src/sqlite (docs/design.md §5.3).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dlrd/core/util/status.h"
#include "dlrd/sqlite/sqlite_handle.h"

namespace dlrd {

// Who a connection is for. Each role is one row of the pragma table.
enum class SqliteRole {
  kWriter,       // the ingest writer (SqliteEventStore)
  kOutbox,       // the dispatcher (SqliteOutbox)
  kRetention,    // the retention worker (SqliteRetention)
  kQuarantine,   // `dlrd quarantine` (QuarantineStore)
  kStatsReader,  // `dlrd stats` (StatsReader), read-only
  kExport,       // `dlrd migrate-store` (SqliteExport), read-only
};

// Opens `path` for `role`: the role's flags, then its pragmas (the writer
// also switches to WAL and refuses a file that does not take it).
// `vfs` is used only by the roles whose row says so; empty: SQLite's
// default. Errors name the role's prefix and the path, as before.
Result<SqliteDb> OpenSqlite(const std::string& path, SqliteRole role,
                            int64_t busy_timeout_ms,
                            const std::string& vfs = std::string());

// `what` + ": " + sqlite3_errmsg(db), as an error.
Status SqliteError(sqlite3* db, std::string_view what);

// sqlite3_exec(); the error is SQLite's message alone.
Status SqliteExec(sqlite3* db, const char* sql);

// ROLLBACK of the open transaction; ok when none is open (SQLite rolls
// back by itself after some errors, a full disk or an I/O error).
Status SqliteRollback(sqlite3* db);

// Prepares `sql` (not cached); null on error, sqlite3_errmsg() says why.
SqliteStmt SqlitePrepare(sqlite3* db, const char* sql);

// Runs `s` to completion (SQLITE_DONE or a first SQLITE_ROW counts as
// success) and resets it. The error is SQLite's message alone.
Status SqliteStep(sqlite3* db, sqlite3_stmt* s);

// Binds text copied (SQLITE_TRANSIENT): safe whatever `v`'s lifetime.
inline void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
}
// Binds bytes copied (SQLITE_TRANSIENT).
inline void BindBlob(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
}
// Binds text or bytes without copying them (SQLITE_STATIC). Only for a
// statement that is bound, stepped and reset within one call while `v`
// lives: the hot insert paths, where the copies were a malloc each.
inline void BindTextView(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
inline void BindBlobView(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
inline void BindInt64(sqlite3_stmt* s, int i, int64_t v) {
  sqlite3_bind_int64(s, i, v);
}
inline void BindNull(sqlite3_stmt* s, int i) { sqlite3_bind_null(s, i); }
// NULL when `v` is empty.
inline void BindInt64(sqlite3_stmt* s, int i, const std::optional<int64_t>& v) {
  if (v) {
    sqlite3_bind_int64(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}

// Column `i` as a string ("" for NULL).
std::string ColumnText(sqlite3_stmt* s, int i);
// Column `i`'s bytes ("" for NULL).
std::string ColumnBlob(sqlite3_stmt* s, int i);
inline int64_t ColumnInt64(sqlite3_stmt* s, int i) {
  return sqlite3_column_int64(s, i);
}
inline int ColumnInt(sqlite3_stmt* s, int i) { return sqlite3_column_int(s, i); }

// Steps `s` calling `row(s)` for each row; ok at SQLITE_DONE, else
// SqliteError(db, what). The caller resets (StmtUse).
template <typename Row>
Status ForEachRow(sqlite3* db, sqlite3_stmt* s, std::string_view what,
                  Row row) {
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) row(s);
  if (rc != SQLITE_DONE) return SqliteError(db, what);
  return Status::Ok();
}

}  // namespace dlrd
