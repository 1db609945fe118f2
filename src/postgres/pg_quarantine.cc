#include "dlrd/postgres/pg_quarantine.h"

#include <string>
#include <utility>
#include <vector>

#include "postgres/pg_conn.h"
#include "postgres/pg_schema.h"

namespace dlrd {
namespace {

// $2 is NULL for every source. Statements are unnamed: nothing
// server-side to lose on a reconnect.
constexpr const char* kList =
    "SELECT id, source, received_at_ms, reason, length(head), length(body)"
    " FROM quarantine WHERE received_at_ms >= $1"
    " AND ($2::text IS NULL OR source = $2::text)"
    " ORDER BY received_at_ms, id";
constexpr const char* kListContent =
    "SELECT id, source, received_at_ms, reason, length(head), length(body),"
    " head, body FROM quarantine WHERE received_at_ms >= $1"
    " AND ($2::text IS NULL OR source = $2::text)"
    " ORDER BY received_at_ms, id";

class PgQuarantine final : public QuarantineStore {
 public:
  PgQuarantine(PgTarget target, PgConn conn)
      : target_(std::move(target)), conn_(std::move(conn)) {}

  Result<std::vector<QuarantineRow>> List(
      const std::optional<std::string>& source, int64_t since_ms,
      bool with_content) override {
    const std::vector<PgParam> params = {since_ms,
                                         source ? PgParam(*source) : PgParam()};
    Result<PgResult> r =
        Exec(with_content ? kListContent : kList, params, "list");
    if (!r.ok()) return r.status();
    const PgResult& res = r.value();
    std::vector<QuarantineRow> out;
    out.reserve(res.rows());
    for (int i = 0; i < res.rows(); ++i) {
      QuarantineRow row;
      row.id = res.Int(i, 0);
      row.source = std::string(res.Text(i, 1));
      row.received_at_ms = res.Int(i, 2);
      row.reason = std::string(res.Text(i, 3));
      row.head_bytes = res.Int(i, 4);
      row.body_bytes = res.Int(i, 5);
      if (with_content) {
        row.head = res.Bytes(i, 6);
        row.body = res.Bytes(i, 7);
      }
      out.push_back(std::move(row));
    }
    return out;
  }

  Status Delete(int64_t id) override {
    // The trigger updates quarantine_totals in this same transaction.
    Result<PgResult> r =
        Exec("DELETE FROM quarantine WHERE id = $1", {id}, "delete");
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<QuarantineTotals> Totals() override {
    Result<PgResult> r = Exec(
        "SELECT rows, bytes FROM quarantine_totals WHERE id = 1", {}, "totals");
    if (!r.ok()) return r.status();
    if (r.value().rows() != 1) {
      return Status::Error("quarantine totals: quarantine_totals has no row");
    }
    return QuarantineTotals{r.value().Int(0, 0), r.value().Int(0, 1)};
  }

 private:
  // One statement (autocommit); a lost connection is reconnected once and
  // the statement runs again (each is safe to repeat: a DELETE that did
  // commit deletes nothing the second time).
  Result<PgResult> Exec(const char* sql, const std::vector<PgParam>& params,
                        const char* what) {
    Result<PgResult> r = conn_.Exec(sql, params);
    if (!r.ok() && r.status().code() == StatusCode::kUnavailable) {
      Result<PgConn> conn = PgConn::Connect(target_.uri, target_.password,
                                            target_.application_name);
      if (!conn.ok()) {
        return Status::Error(StatusCode::kUnavailable,
                             std::string("quarantine ") + what +
                                 ": reconnect: " + conn.status().message());
      }
      conn_ = std::move(conn).value();
      r = conn_.Exec(sql, params);
    }
    if (!r.ok()) {
      return Status::Error(
          r.status().code(),
          std::string("quarantine ") + what + ": " + r.status().message());
    }
    return r;
  }

  PgTarget target_;
  PgConn conn_;
};

}  // namespace

Result<std::unique_ptr<QuarantineStore>> OpenPgQuarantine(
    const PgTarget& target) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  if (Status s = PgRequireSchema(conn.value()); !s.ok()) return s;
  return std::unique_ptr<QuarantineStore>(
      new PgQuarantine(target, std::move(conn).value()));
}

}  // namespace dlrd
