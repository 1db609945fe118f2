// The two EventStore backends behind one small test interface, so the
// contract suite (event_store_contract_test.cc) states each expectation
// once and runs it on both: SQLite (a temp file, SqliteEventStore) and
// PostgreSQL (a fresh database on the suite's server, OpenPgEventStore).
//
// Assertions read the database through Query(): SQL both dialects accept
// (CASE instead of boolean sums, positional GROUP BY, no typeof), every
// value as text, NULL as "". Bytes are compared through HexOf(), so both
// backends print them the same way.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dlrd/core/ports/event_store.h"
#include "dlrd/core/ports/quarantine_store.h"
#include "dlrd/postgres/pg_event_store.h"
#include "dlrd/postgres/pg_quarantine.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_quarantine.h"
#include "postgres/pg_conn.h"
#include "testutil/pg_test_db.h"
#include "testutil/sqlite_file.h"
#include "testutil/temp_dir.h"

namespace dlrd::testutil {

using DbRows = std::vector<std::vector<std::string>>;

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // Opens (again: closing the current one first) the store on the same
  // database.
  virtual std::unique_ptr<EventStore> Open(const QuarantineLimits& q = {}) = 0;
  // The quarantine's list/delete/totals side, on a connection of its own.
  virtual std::unique_ptr<QuarantineStore> OpenQuarantine() = 0;
  virtual DbRows Query(const std::string& sql) = 0;
  virtual void Exec(const std::string& sql) = 0;
  // Lower-case hex of a bytes column, as an SQL expression.
  virtual std::string HexOf(const std::string& column) const = 0;
  // A bytes literal.
  virtual std::string BlobLiteral(const std::string& bytes) const = 0;
  // Makes inserting an event with this dedupe key fail with a constraint
  // error, the way a bad row would.
  virtual void RejectKey(const std::string& key) = 0;

  std::string Value(const std::string& sql) {
    DbRows rows = Query(sql);
    if (rows.size() != 1 || rows[0].empty()) {
      throw std::runtime_error("expected one row from " + sql);
    }
    return rows[0][0];
  }
  int64_t Int(const std::string& sql) { return std::stoll(Value(sql)); }
};

inline std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

class SqliteBackend final : public StoreBackend {
 public:
  std::unique_ptr<EventStore> Open(const QuarantineLimits& q) override {
    SqliteOptions options;
    options.quarantine = q;
    auto r = SqliteEventStore::Open(path_, options);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  std::unique_ptr<QuarantineStore> OpenQuarantine() override {
    auto r = SqliteQuarantine::Open(path_, 1000);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  DbRows Query(const std::string& sql) override {
    return SqliteFile(path_).Rows(sql);
  }
  void Exec(const std::string& sql) override { SqliteFile(path_).Exec(sql); }
  std::string HexOf(const std::string& column) const override {
    return "lower(hex(" + column + "))";
  }
  std::string BlobLiteral(const std::string& bytes) const override {
    return "X'" + Hex(bytes) + "'";
  }
  void RejectKey(const std::string& key) override {
    Exec(
        "CREATE TRIGGER reject_bad BEFORE INSERT ON delivery_events"
        " WHEN NEW.dedupe_key = '" +
        key + "' BEGIN SELECT RAISE(ABORT, 'bad key'); END");
  }

 private:
  TempDir dir_;
  std::string path_ = dir_.File("dlrd.db");
};

class PgBackend final : public StoreBackend {
 public:
  explicit PgBackend(std::string app = "dlrd-contract")
      : app_(std::move(app)) {}
  std::unique_ptr<EventStore> Open(const QuarantineLimits& q) override {
    PgStoreOptions options;
    options.quarantine = q;
    auto r = OpenPgEventStore(target(), options);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  std::unique_ptr<QuarantineStore> OpenQuarantine() override {
    auto r = OpenPgQuarantine(target());
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r).value();
  }
  DbRows Query(const std::string& sql) override {
    Result<PgResult> r = conn().Exec(sql);
    if (!r.ok() && r.status().code() == StatusCode::kUnavailable) {
      conn_ = PgConn();  // killed by a test: once more on a new session
      r = conn().Exec(sql);
    }
    if (!r.ok()) throw std::runtime_error(r.status().message());
    DbRows rows;
    const PgResult& res = r.value();
    for (int i = 0; i < res.rows(); ++i) {
      std::vector<std::string> row;
      for (int c = 0; c < res.columns(); ++c) {
        row.emplace_back(res.Text(i, c));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void Exec(const std::string& sql) override {
    if (Status s = conn().ExecScript(sql); !s.ok()) {
      throw std::runtime_error(s.message());
    }
  }
  std::string HexOf(const std::string& column) const override {
    return "encode(" + column + ", 'hex')";
  }
  std::string BlobLiteral(const std::string& bytes) const override {
    return "'\\x" + Hex(bytes) + "'::bytea";
  }
  void RejectKey(const std::string& key) override {
    Exec(
        "CREATE FUNCTION reject_bad() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.dedupe_key = '" +
        key +
        "' THEN RAISE EXCEPTION 'bad key' USING ERRCODE = '23514'; END IF;"
        " RETURN NEW; END $$;"
        " CREATE TRIGGER reject_bad BEFORE INSERT ON delivery_events"
        " FOR EACH ROW EXECUTE FUNCTION reject_bad()");
  }

  PgTarget target() const {
    PgTarget t;
    t.uri = db_.uri();
    t.application_name = app_;
    return t;
  }
  const PgTestDb& db() const { return db_; }
  PgConn& conn() {
    if (!conn_.connected()) {
      Result<PgConn> c = PgConn::Connect(db_.uri(), "", "dlrd-test-reader");
      if (!c.ok()) throw std::runtime_error(c.status().message());
      conn_ = std::move(c).value();
    }
    return conn_;
  }

 private:
  PgTestDb db_;
  std::string app_;
  PgConn conn_;
};

}  // namespace dlrd::testutil
