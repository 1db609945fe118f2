#include "dlrd/sqlite/sqlite_export.h"

#include <algorithm>
#include <map>
#include <utility>

#include "dlrd/sqlite/sqlite_event_store.h"
#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

// "name" with embedded quotes doubled: table and column names come from
// the database's own catalogue, quoted all the same.
std::string Quote(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

Result<TableValue> ValueOf(sqlite3_stmt* s, int col, const std::string& where) {
  switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL:
      return TableValue::Null();
    case SQLITE_INTEGER:
      return TableValue::Int(sqlite3_column_int64(s, col));
    case SQLITE_TEXT:
      return TableValue::Text(ColumnText(s, col));
    case SQLITE_BLOB:
      return TableValue::Bytes(ColumnBlob(s, col));
    default:  // SQLITE_FLOAT: no dlrd column holds one
      return Status::Error(where + ": a floating-point value, which no dlrd "
                                   "column holds");
  }
}

}  // namespace

struct SqliteExport::Impl {
  SqliteDb db;
};

SqliteExport::SqliteExport(std::unique_ptr<Impl> impl, int schema_version)
    : impl_(std::move(impl)), schema_version_(schema_version) {}

SqliteExport::~SqliteExport() {
  if (impl_ && impl_->db) (void)SqliteRollback(impl_->db.get());  // read only
}

int SqliteExport::LatestSchemaVersion() {
  return SqliteEventStore::LatestSchemaVersion();
}

Result<std::unique_ptr<SqliteExport>> SqliteExport::Open(
    const std::string& path) {
  Result<SqliteDb> opened =
      OpenSqlite(path, SqliteRole::kExport, /*busy_timeout_ms=*/5000);
  if (!opened.ok()) return opened.status();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(opened).value();
  sqlite3* db = impl->db.get();
  // BEGIN alone takes no snapshot; the first read does. Read the catalogue
  // first, so the version below and every later row share the snapshot.
  if (Status s = SqliteExec(db, "BEGIN; SELECT count(*) FROM sqlite_master");
      !s.ok()) {
    return Status::Error("open " + path + ": " + s.message());
  }
  SqliteStmt v = SqlitePrepare(db, "PRAGMA user_version");
  if (!v || sqlite3_step(v.get()) != SQLITE_ROW) {
    return SqliteError(db, "open " + path + ": user_version");
  }
  const int version = ColumnInt(v.get(), 0);
  return std::unique_ptr<SqliteExport>(
      new SqliteExport(std::move(impl), version));
}

Result<std::vector<std::string>> SqliteExport::Tables() {
  sqlite3* db = impl_->db.get();
  SqliteStmt s = SqlitePrepare(
      db,
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
      "'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  if (!s) return SqliteError(db, "tables");
  std::vector<std::string> out;
  if (Status st = ForEachRow(db, s.get(), "tables",
                             [&](sqlite3_stmt* r) {
                               out.push_back(ColumnText(r, 0));
                             });
      !st.ok()) {
    return st;
  }
  return out;
}

Result<std::vector<std::string>> SqliteExport::Columns(
    const std::string& table) {
  sqlite3* db = impl_->db.get();
  SqliteStmt s = SqlitePrepare(db, "SELECT name FROM pragma_table_info(?1)");
  if (!s) return SqliteError(db, table + ": columns");
  BindText(s.get(), 1, table);
  std::vector<std::string> out;
  if (Status st = ForEachRow(db, s.get(), table + ": columns",
                             [&](sqlite3_stmt* r) {
                               out.push_back(ColumnText(r, 0));
                             });
      !st.ok()) {
    return st;
  }
  if (out.empty()) return Status::Error(table + ": no such table");
  return out;
}

Result<int64_t> SqliteExport::CountRows(const std::string& table) {
  sqlite3* db = impl_->db.get();
  const std::string sql = "SELECT count(*) FROM " + Quote(table);
  SqliteStmt s = SqlitePrepare(db, sql.c_str());
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) {
    return SqliteError(db, table + ": count");
  }
  return ColumnInt64(s.get(), 0);
}

Status SqliteExport::ForEachChunk(const std::string& table, size_t chunk_rows,
                                  const ChunkFn& chunk) {
  sqlite3* db = impl_->db.get();
  // The columns, and the primary key's columns in key order (pk is the
  // 1-based position in the key, 0 for other columns).
  SqliteStmt info =
      SqlitePrepare(db, "SELECT name, pk FROM pragma_table_info(?1)");
  if (!info) return SqliteError(db, table + ": columns");
  BindText(info.get(), 1, table);
  std::vector<std::string> columns;
  std::map<int, std::string> key;
  if (Status st = ForEachRow(db, info.get(), table + ": columns",
                             [&](sqlite3_stmt* r) {
                               columns.push_back(ColumnText(r, 0));
                               if (const int pk = ColumnInt(r, 1); pk > 0) {
                                 key[pk] = ColumnText(r, 0);
                               }
                             });
      !st.ok()) {
    return st;
  }
  if (columns.empty()) return Status::Error(table + ": no such table");
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    sql += (i ? ", " : "") + Quote(columns[i]);
  }
  sql += " FROM " + Quote(table) + " ORDER BY ";
  if (key.empty()) {
    sql += "rowid";
  } else {
    bool first = true;
    for (const auto& [pos, name] : key) {
      sql += (first ? "" : ", ") + Quote(name);
      first = false;
    }
  }
  SqliteStmt s = SqlitePrepare(db, sql.c_str());
  if (!s) return SqliteError(db, table + ": read");
  const int n = static_cast<int>(columns.size());
  chunk_rows = std::max<size_t>(chunk_rows, 1);
  std::vector<TableRow> rows;
  rows.reserve(chunk_rows);
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    TableRow row;
    row.reserve(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c) {
      Result<TableValue> v =
          ValueOf(s.get(), c, table + "." + columns[static_cast<size_t>(c)]);
      if (!v.ok()) return v.status();
      row.push_back(std::move(v).value());
    }
    rows.push_back(std::move(row));
    if (rows.size() == chunk_rows) {
      if (Status st = chunk(rows); !st.ok()) return st;
      rows.clear();
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(db, table + ": read");
  if (!rows.empty()) return chunk(rows);
  return Status::Ok();
}

}  // namespace dlrd
