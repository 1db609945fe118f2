// PgConn and PgResult: a small RAII layer over libpq, private to
// dlrd_postgres (no libpq type leaves this folder).
//
// Every query goes through ExecParams/Exec with text parameters (bytea as
// binary), so values are never spliced into SQL. A text parameter with a
// NUL byte is refused (kError) before anything is sent: libpq would cut it
// at the NUL. Errors are values: a
// Status whose code classifies the failure the way the rest of dlrd
// reasons about stores:
//   kUnavailable  the connection is gone or the server refuses work for
//                 now (SQLSTATE class 08, 57P01..57P03, admin shutdown):
//                 answer 503 and reconnect; never fatal;
//   kBusy         a lock or serialization conflict (40001, 40P01, 55P03);
//   kFull         disk full (53100) or out of resources (53xxx);
//   kConstraint   a constraint refused the write (class 23);
//   kError        anything else.
// A COMMIT whose reply never arrived is kUnavailable too: its outcome is
// unknown, and the caller answers 503 so the provider retries and dedupe
// absorbs the copy (docs/reliability.md §8).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/util/status.h"

struct pg_conn;
struct pg_result;

namespace dlrd {

// One parameter of a query: text (NUL-free), binary bytes (bytea), or
// NULL.
class PgParam {
 public:
  PgParam() : null_(true) {}  // NULL
  PgParam(std::string_view text) : value_(text) {}  // NOLINT: implicit
  PgParam(const char* text) : value_(text) {}       // NOLINT: implicit
  PgParam(const std::string& text) : value_(text) {}  // NOLINT: implicit
  PgParam(int64_t n) : value_(std::to_string(n)) {}  // NOLINT: implicit
  PgParam(int n) : value_(std::to_string(n)) {}      // NOLINT: implicit
  static PgParam Bytes(std::string_view bytes) {
    PgParam p(bytes);
    p.binary_ = true;
    return p;
  }
  static PgParam Optional(const std::optional<int64_t>& n) {
    return n ? PgParam(*n) : PgParam();
  }

 private:
  friend class PgConn;
  std::string value_;
  bool binary_ = false;
  bool null_ = false;
};

// A query's result rows (text format). Movable, frees itself.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* r);
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();

  int rows() const;
  int columns() const;
  int64_t affected() const;  // rows an INSERT/UPDATE/DELETE touched
  // The command tag ("COMMIT", "ROLLBACK", "INSERT 0 1", ...): a COMMIT of
  // a transaction in the failed state succeeds with the tag "ROLLBACK".
  std::string_view command() const;
  bool IsNull(int row, int col) const;
  std::string_view Text(int row, int col) const;
  int64_t Int(int row, int col) const;  // 0 when NULL
  // A bytea column (text format, hex escaped) as raw bytes.
  std::string Bytes(int row, int col) const;

 private:
  friend class PgConn;
  pg_result* r_ = nullptr;
};

class PgConn {
 public:
  // Connects with a libpq conninfo (a postgresql:// URI or key=value
  // string); `password`, when not empty, is passed as the password
  // parameter (never part of the conninfo a log could print). Sets
  // synchronous_commit=on and the session's application_name.
  static Result<PgConn> Connect(const std::string& conninfo,
                                const std::string& password,
                                std::string_view application_name);
  PgConn() = default;
  PgConn(PgConn&&) noexcept;
  PgConn& operator=(PgConn&&) noexcept;
  ~PgConn();

  // Whether the connection is (as far as libpq knows) still up.
  bool connected() const;

  // Runs one statement with parameters ($1, $2, ...).
  Result<PgResult> Exec(std::string_view sql,
                        const std::vector<PgParam>& params = {});
  // Runs a script of several statements (no parameters): migrations.
  Status ExecScript(const std::string& sql);
  // Prepares `sql` under `name` on this connection, once; then runs it.
  Result<PgResult> ExecPrepared(const char* name, std::string_view sql,
                                const std::vector<PgParam>& params);

  // COPY ... FROM STDIN: CopyBegin runs the COPY statement, CopyPut sends
  // data in the statement's format (any split), CopyEnd finishes it and
  // returns the rows the server took. After an error in CopyBegin or
  // CopyPut, CopyEnd(error) still ends the COPY (the server refuses it), so
  // the connection is usable again (its transaction is aborted).
  Status CopyBegin(std::string_view copy_sql);
  Status CopyPut(std::string_view data);
  Result<int64_t> CopyEnd(const char* error = nullptr);

  // The server's version as "15.18" (server_version).
  std::string server_version() const;

 private:
  explicit PgConn(pg_conn* c) : c_(c) {}
  struct Wire {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    static Wire Of(const std::vector<PgParam>& params);
  };
  // kError when a text parameter holds a NUL byte (never sent cut short).
  static Status CheckText(const std::vector<PgParam>& params,
                          std::string_view what);
  // `r` if it succeeded, else its error (classified) naming `sql`.
  Result<PgResult> Check(PgResult r, std::string_view sql) const;
  Status ErrorOf(pg_result* r, std::string_view what) const;

  pg_conn* c_ = nullptr;
  std::vector<std::string> prepared_;  // names prepared on this connection
};

// Whether `code` means "the database cannot be reached right now".
inline bool IsUnavailable(StatusCode code) {
  return code == StatusCode::kUnavailable;
}

}  // namespace dlrd
