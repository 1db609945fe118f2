#include "dlrd/sqlite/sqlite_quarantine.h"

#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

// Inserts only while both caps hold after the insert; the totals row is
// kept by the schema's triggers.
constexpr const char* kAdd =
    "INSERT INTO quarantine(source, received_at_ms, reason, head, body)"
    " SELECT ?1, ?2, ?3, ?4, ?5 FROM quarantine_totals"
    " WHERE id = 1 AND rows + 1 <= ?6 AND bytes + ?7 <= ?8";

}  // namespace

Result<bool> QuarantineSql::Add(const QuarantinedRequest& q,
                                const QuarantineLimits& limits) {
  StmtUse st(cache_.Get(kAdd));
  if (!st.get()) {
    return SqliteError(db_, "quarantine prepare");
  }
  sqlite3_stmt* s = st.get();
  BindText(s, 1, q.source);
  sqlite3_bind_int64(s, 2, q.received_at_ms);
  BindText(s, 3, q.reason);
  BindBlob(s, 4, q.head);
  BindBlob(s, 5, q.body);
  sqlite3_bind_int64(s, 6, limits.max_rows);
  sqlite3_bind_int64(s, 7, static_cast<int64_t>(q.head.size() + q.body.size()));
  sqlite3_bind_int64(s, 8, limits.max_bytes);
  if (sqlite3_step(s) != SQLITE_DONE) {
    return SqliteError(db_, "quarantine insert");
  }
  return sqlite3_changes(db_) > 0;
}

Result<std::unique_ptr<SqliteQuarantine>> SqliteQuarantine::Open(
    const std::string& path, int64_t busy_timeout_ms) {
  Result<SqliteDb> db =
      OpenSqlite(path, SqliteRole::kQuarantine, busy_timeout_ms);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteQuarantine>(
      new SqliteQuarantine(std::move(db).value()));
}

Result<std::vector<QuarantineRow>> SqliteQuarantine::List(
    const std::optional<std::string>& source, int64_t since_ms,
    bool with_content) {
  const char* sql =
      with_content
          ? "SELECT id, source, received_at_ms, reason, length(head),"
            " length(body), head, body FROM quarantine"
            " WHERE received_at_ms >= ?1 AND (?2 IS NULL OR source = ?2)"
            " ORDER BY received_at_ms, id"
          : "SELECT id, source, received_at_ms, reason, length(head),"
            " length(body) FROM quarantine"
            " WHERE received_at_ms >= ?1 AND (?2 IS NULL OR source = ?2)"
            " ORDER BY received_at_ms, id";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db_.get(), "quarantine list");
  }
  SqliteStmt st(raw);
  sqlite3_bind_int64(raw, 1, since_ms);
  if (source) {
    BindText(raw, 2, *source);
  } else {
    sqlite3_bind_null(raw, 2);
  }
  std::vector<QuarantineRow> out;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    QuarantineRow r;
    r.id = sqlite3_column_int64(raw, 0);
    r.source = ColumnText(raw, 1);
    r.received_at_ms = sqlite3_column_int64(raw, 2);
    r.reason = ColumnText(raw, 3);
    r.head_bytes = sqlite3_column_int64(raw, 4);
    r.body_bytes = sqlite3_column_int64(raw, 5);
    if (with_content) {
      r.head = ColumnBlob(raw, 6);
      r.body = ColumnBlob(raw, 7);
    }
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_.get(), "quarantine list");
  return out;
}

Status SqliteQuarantine::Delete(int64_t id) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), "DELETE FROM quarantine WHERE id = ?1", -1,
                         &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db_.get(), "quarantine delete");
  }
  SqliteStmt st(raw);
  sqlite3_bind_int64(raw, 1, id);
  if (sqlite3_step(raw) != SQLITE_DONE) return SqliteError(db_.get(), "quarantine delete");
  return Status::Ok();
}

Result<QuarantineTotals> SqliteQuarantine::Totals() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(),
                         "SELECT rows, bytes FROM quarantine_totals"
                         " WHERE id = 1",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db_.get(), "quarantine totals");
  }
  SqliteStmt st(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) return SqliteError(db_.get(), "quarantine totals");
  return QuarantineTotals{sqlite3_column_int64(raw, 0),
                          sqlite3_column_int64(raw, 1)};
}

}  // namespace dlrd
