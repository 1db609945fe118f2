#include "postgres/pg_conn.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace dlrd {
namespace {

StatusCode CodeOf(std::string_view sqlstate, bool connection_bad) {
  if (connection_bad) return StatusCode::kUnavailable;
  if (sqlstate.size() != 5) return StatusCode::kError;
  const std::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08") return StatusCode::kUnavailable;  // connection exception
  // admin_shutdown, crash_shutdown, cannot_connect_now
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return StatusCode::kUnavailable;
  }
  // read_only_sql_transaction: a failover left us on a standby.
  if (sqlstate == "25006") return StatusCode::kUnavailable;
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return StatusCode::kBusy;
  }
  if (cls == "53") return StatusCode::kFull;
  if (cls == "23") return StatusCode::kConstraint;
  return StatusCode::kError;
}

// libpq's messages end with a newline; logs want one line.
std::string OneLine(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

PgResult::PgResult(pg_result* r) : r_(r) {}
PgResult::PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

int PgResult::rows() const { return r_ ? PQntuples(r_) : 0; }
int PgResult::columns() const { return r_ ? PQnfields(r_) : 0; }

int64_t PgResult::affected() const {
  if (!r_) return 0;
  const char* n = PQcmdTuples(r_);
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

std::string_view PgResult::command() const {
  if (!r_) return {};
  const char* c = PQcmdStatus(r_);
  return c ? std::string_view(c) : std::string_view();
}

bool PgResult::IsNull(int row, int col) const {
  return PQgetisnull(r_, row, col) != 0;
}

std::string_view PgResult::Text(int row, int col) const {
  return std::string_view(PQgetvalue(r_, row, col),
                          static_cast<size_t>(PQgetlength(r_, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

std::string PgResult::Bytes(int row, int col) const {
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
  if (!raw) return {};
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

// The parameter arrays libpq takes, pointing into `params` (which must
// outlive them).
PgConn::Wire PgConn::Wire::Of(const std::vector<PgParam>& params) {
  Wire w;
  w.values.reserve(params.size());
  w.lengths.reserve(params.size());
  w.formats.reserve(params.size());
  for (const PgParam& p : params) {
    w.values.push_back(p.null_ ? nullptr : p.value_.c_str());
    w.lengths.push_back(static_cast<int>(p.value_.size()));
    w.formats.push_back(p.binary_ ? 1 : 0);
  }
  return w;
}

Result<PgConn> PgConn::Connect(const std::string& conninfo,
                               const std::string& password,
                               std::string_view application_name) {
  // expand_dbname=1: `conninfo` may be a URI or key=value pairs; the
  // later keywords override what it says.
  const std::string app(application_name);
  std::vector<const char*> keys = {"dbname", "application_name"};
  std::vector<const char*> values = {conninfo.c_str(), app.c_str()};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* c = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!c) return Status::Error(StatusCode::kUnavailable, "out of memory");
  PgConn conn(c);
  // Server notices ("relation ... already exists, skipping") would go to
  // stderr as bare lines among the daemon's structured logs; none of them
  // is actionable, so they are dropped.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  if (PQstatus(c) != CONNECTION_OK) {
    return Status::Error(StatusCode::kUnavailable,
                         "connect: " + OneLine(PQerrorMessage(c)));
  }
  // Durability: 2xx only after COMMIT reached the WAL on disk (and the
  // synchronous standbys, when the server has them).
  if (Status s = conn.ExecScript(
          "SET synchronous_commit = on; SET TIME ZONE 'UTC'");
      !s.ok()) {
    return s;
  }
  return conn;
}

PgConn::PgConn(PgConn&& o) noexcept
    : c_(std::exchange(o.c_, nullptr)), prepared_(std::move(o.prepared_)) {}
PgConn& PgConn::operator=(PgConn&& o) noexcept {
  if (this != &o) {
    if (c_) PQfinish(c_);
    c_ = std::exchange(o.c_, nullptr);
    prepared_ = std::move(o.prepared_);
  }
  return *this;
}
PgConn::~PgConn() {
  if (c_) PQfinish(c_);
}

bool PgConn::connected() const { return c_ && PQstatus(c_) == CONNECTION_OK; }

std::string PgConn::server_version() const {
  if (!c_) return "";
  const char* v = PQparameterStatus(c_, "server_version");
  return v ? v : "";
}

Status PgConn::ErrorOf(pg_result* r, std::string_view what) const {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const bool bad = !c_ || PQstatus(c_) != CONNECTION_OK;
  std::string msg = r ? OneLine(PQresultErrorMessage(r)) : "";
  if (msg.empty()) msg = OneLine(c_ ? PQerrorMessage(c_) : "not connected");
  std::string out(what);
  out += ": ";
  out += msg.empty() ? "no reply from the server" : msg;
  if (state) {
    out += " (SQLSTATE ";
    out += state;
    out += ")";
  }
  return Status::Error(CodeOf(state ? state : "", bad || !r), out);
}

// libpq sends a text parameter up to its first NUL: refused rather than
// cut, which could make two different values equal.
Status PgConn::CheckText(const std::vector<PgParam>& params,
                         std::string_view what) {
  for (size_t i = 0; i < params.size(); ++i) {
    const PgParam& p = params[i];
    if (!p.null_ && !p.binary_ &&
        p.value_.find('\0') != std::string::npos) {
      return Status::Error("parameter $" + std::to_string(i + 1) + " of " +
                           std::string(what.substr(0, 60)) +
                           ": text with a NUL byte, which PostgreSQL cannot "
                           "store");
    }
  }
  return Status::Ok();
}

Result<PgResult> PgConn::Exec(std::string_view sql,
                              const std::vector<PgParam>& params) {
  if (!c_) return Status::Error(StatusCode::kUnavailable, "not connected");
  if (Status s = CheckText(params, sql); !s.ok()) return s;
  const Wire w = Wire::Of(params);
  const std::string text(sql);
  PgResult r(PQexecParams(c_, text.c_str(), static_cast<int>(params.size()),
                          nullptr, w.values.data(), w.lengths.data(),
                          w.formats.data(), 0));
  return Check(std::move(r), text);
}

Result<PgResult> PgConn::Check(PgResult r, std::string_view sql) const {
  const ExecStatusType st =
      r.r_ ? PQresultStatus(r.r_) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  std::string what(sql.substr(0, std::min<size_t>(sql.size(), 60)));
  return ErrorOf(r.r_, what);
}

Result<PgResult> PgConn::ExecPrepared(const char* name, std::string_view sql,
                                      const std::vector<PgParam>& params) {
  if (!c_) return Status::Error(StatusCode::kUnavailable, "not connected");
  if (Status s = CheckText(params, name); !s.ok()) return s;
  if (std::find(prepared_.begin(), prepared_.end(), name) == prepared_.end()) {
    const std::string text(sql);
    PgResult p(PQprepare(c_, name, text.c_str(),
                         static_cast<int>(params.size()), nullptr));
    Result<PgResult> checked = Check(std::move(p), text);
    if (!checked.ok()) return checked.status();
    prepared_.emplace_back(name);
  }
  const Wire w = Wire::Of(params);
  PgResult r(PQexecPrepared(c_, name, static_cast<int>(params.size()),
                            w.values.data(), w.lengths.data(),
                            w.formats.data(), 0));
  return Check(std::move(r), name);
}

Status PgConn::CopyBegin(std::string_view copy_sql) {
  if (!c_) return Status::Error(StatusCode::kUnavailable, "not connected");
  const std::string text(copy_sql);
  PgResult r(PQexec(c_, text.c_str()));
  if (r.r_ && PQresultStatus(r.r_) == PGRES_COPY_IN) return Status::Ok();
  Result<PgResult> checked = Check(std::move(r), text);
  if (!checked.ok()) return checked.status();
  return Status::Error("COPY did not start: " +
                       std::string(text.substr(0, 60)));
}

Status PgConn::CopyPut(std::string_view data) {
  if (!c_) return Status::Error(StatusCode::kUnavailable, "not connected");
  // Blocking connection: 1 is sent (or queued), -1 an error; 0 is only for
  // non-blocking ones.
  if (PQputCopyData(c_, data.data(), static_cast<int>(data.size())) != 1) {
    return ErrorOf(nullptr, "COPY data");
  }
  return Status::Ok();
}

Result<int64_t> PgConn::CopyEnd(const char* error) {
  if (!c_) return Status::Error(StatusCode::kUnavailable, "not connected");
  if (PQputCopyEnd(c_, error) != 1) return ErrorOf(nullptr, "COPY end");
  // The COPY's own result, then null; keep the first failure.
  Status failed = Status::Ok();
  int64_t rows = 0;
  while (pg_result* raw = PQgetResult(c_)) {
    PgResult r(raw);
    if (PQresultStatus(raw) == PGRES_COMMAND_OK) {
      rows = r.affected();
    } else if (failed.ok()) {
      failed = ErrorOf(raw, "COPY");
    }
  }
  if (!failed.ok()) return failed;
  return rows;
}

Status PgConn::ExecScript(const std::string& sql) {
  if (!c_) return Status::Error(StatusCode::kUnavailable, "not connected");
  // PQexec runs every statement of the string; the last result tells.
  PgResult r(PQexec(c_, sql.c_str()));
  Result<PgResult> checked = Check(std::move(r), sql);
  return checked.ok() ? Status::Ok() : checked.status();
}

}  // namespace dlrd
