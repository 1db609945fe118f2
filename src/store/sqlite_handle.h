// RAII owners for sqlite3* and sqlite3_stmt*. Internal to the store adapter.
#pragma once

#include <sqlite3.h>

#include <memory>

namespace dlrd {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

}  // namespace dlrd
