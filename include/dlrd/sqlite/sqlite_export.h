// SqliteExport: a read-only view of a whole dlrd SQLite database, table by
// table, for `dlrd migrate-store` (which writes the rows elsewhere).
//
// Invariant: everything read through one SqliteExport comes from ONE
// snapshot. Open() starts a read transaction and reads the schema version
// inside it; every later read runs in that same transaction, which lasts
// until the object is destroyed. A writer committing meanwhile (it should
// not: the daemon is meant to be stopped) changes nothing this object sees,
// so a copy never holds an event without its raw request, or totals that
// disagree with their rows.
//
// Rows come in primary-key order (rowid for tables without a declared
// key), in chunks, so a large table is never held in memory at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dlrd/core/model/table_row.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

class SqliteExport {
 public:
  // Opens `path` read-only (never creates it) and starts the snapshot.
  static Result<std::unique_ptr<SqliteExport>> Open(const std::string& path);
  ~SqliteExport();
  SqliteExport(const SqliteExport&) = delete;
  SqliteExport& operator=(const SqliteExport&) = delete;

  // PRAGMA user_version of the snapshot, and the newest this build knows.
  int schema_version() const { return schema_version_; }
  static int LatestSchemaVersion();

  // The database's own tables (not sqlite_*), sorted by name.
  Result<std::vector<std::string>> Tables();
  // `table`'s columns in declaration order. Errors for an unknown table.
  Result<std::vector<std::string>> Columns(const std::string& table);
  Result<int64_t> CountRows(const std::string& table);

  // Calls `chunk` with successive runs of at most `chunk_rows` rows of
  // `table`, all columns in Columns() order, in primary-key order; stops
  // at the first error, of the read or of `chunk`.
  using ChunkFn = std::function<Status(const std::vector<TableRow>&)>;
  Status ForEachChunk(const std::string& table, size_t chunk_rows,
                      const ChunkFn& chunk);

 private:
  struct Impl;
  explicit SqliteExport(std::unique_ptr<Impl> impl, int schema_version);
  std::unique_ptr<Impl> impl_;
  int schema_version_ = 0;
};

}  // namespace dlrd
