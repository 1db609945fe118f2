// SqliteFile: a second, independent connection to a SQLite file, for tests
// that inspect (or tamper with) what the store wrote without going through
// the store. Values come back as raw bytes, so BLOBs compare byte-exact.
//
// Each call prepares, runs and finalizes its statement, so no read
// transaction stays open between calls. Not thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace dlrd::testutil {

class SqliteFile {
 public:
  explicit SqliteFile(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) !=
        SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw std::runtime_error("cannot open " + path + ": " + msg);
    }
  }
  ~SqliteFile() { sqlite3_close_v2(db_); }
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  // Every row of `sql` with `params` bound as text (?1, ?2, ...); each
  // column as its bytes ("" for NULL).
  std::vector<std::vector<std::string>> Rows(
      const std::string& sql, const std::vector<std::string>& params = {}) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error("prepare " + sql + ": " + sqlite3_errmsg(db_));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].data(),
                        static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
    }
    std::vector<std::vector<std::string>> rows;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const void* p = sqlite3_column_blob(st, c);
        int n = sqlite3_column_bytes(st, c);
        row.emplace_back(p ? static_cast<const char*>(p) : "",
                         static_cast<size_t>(n));
      }
      rows.push_back(std::move(row));
    }
    std::string err = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error("step " + sql + ": " + err);
    return rows;
  }

  // The first column of the single row `sql` returns.
  std::string Value(const std::string& sql,
                    const std::vector<std::string>& params = {}) {
    auto rows = Rows(sql, params);
    if (rows.size() != 1 || rows[0].empty()) {
      throw std::runtime_error("expected one row from " + sql + ", got " +
                               std::to_string(rows.size()));
    }
    return rows[0][0];
  }
  int64_t Int(const std::string& sql,
              const std::vector<std::string>& params = {}) {
    return std::stoll(Value(sql, params));
  }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error("exec " + sql + ": " + msg);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace dlrd::testutil
