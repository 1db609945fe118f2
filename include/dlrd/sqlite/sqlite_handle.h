// RAII owners for sqlite3* and sqlite3_stmt*. Internal to the store adapter.
// Opening, binding, reading and error text live in src/sqlite/sqlite_db.h.
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <string_view>

namespace dlrd {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Prepared statements by SQL text, prepared once per connection. Keys are
// string literals (compared by address). Get() returns null when the SQL
// does not prepare; sqlite3_errmsg() says why.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  sqlite3_stmt* Get(const char* sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return it->second.get();
    sqlite3_stmt* p = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &p,
                           nullptr) != SQLITE_OK) {
      return nullptr;
    }
    stmts_[sql].reset(p);
    return p;
  }

 private:
  sqlite3* db_;
  std::map<const char*, SqliteStmt> stmts_;
};

// Resets a statement on scope exit, so it never keeps a read open.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* s) : s_(s) {}
  ~StmtUse() {
    if (s_) sqlite3_reset(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

// Process-wide SQLite settings; call once, before any connection opens.
// SQLite then keeps no allocation statistics, which it would otherwise
// guard with a process-wide mutex on every malloc and free (5 % of the
// writer's CPU in bench/profile.sh).
inline void ConfigureSqliteProcess() {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

}  // namespace dlrd
