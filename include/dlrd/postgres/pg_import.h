// PgImport: fills an empty dlrd PostgreSQL database with rows read
// elsewhere (`dlrd migrate-store`), all in ONE transaction.
//
// Invariants:
//  * All or nothing: Begin() opens the transaction and locks every table
//    it names (EXCLUSIVE: readers may read, nobody else writes); nothing is
//    visible to anyone until Commit(), and an object destroyed without
//    Commit() rolls everything back.
//  * Rows are written as they are, ids included (COPY ... FROM STDIN, text
//    format): a value's kind decides its encoding, and a bytea column gets
//    its bytes bit-exact (hex) whatever the kind. Columns not named keep
//    their defaults (outbox.claimed_by, lease_until_ms).
//  * After EndTable() every sequence a column of the table owns (BIGSERIAL
//    ids) is set past the table's largest value, so the next row the
//    daemon inserts gets a fresh id.
//  * Row triggers fire as for any insert (quarantine_totals counts the
//    quarantine rows copied; the totals row itself is never copied).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dlrd/core/model/table_row.h"
#include "dlrd/core/util/status.h"
#include "dlrd/postgres/pg_database.h"

namespace dlrd {

class PgImport {
 public:
  // Connects, BEGINs and locks `tables` (names of the dlrd schema, which
  // must already be in place: MigratePostgres).
  static Result<std::unique_ptr<PgImport>> Begin(
      const PgTarget& target, const std::vector<std::string>& tables);
  ~PgImport();
  PgImport(const PgImport&) = delete;
  PgImport& operator=(const PgImport&) = delete;

  // Whether `table` holds at least one row (in this transaction).
  Result<bool> HasRows(const std::string& table);

  // Starts writing `columns` of `table`: every column must exist there.
  Status BeginTable(const std::string& table,
                    const std::vector<std::string>& columns);
  // Rows with one value per column given to BeginTable, in that order.
  Status WriteRows(const std::vector<TableRow>& rows);
  // Ends the table's COPY and advances its sequences; returns the number
  // of rows the server took.
  Result<int64_t> EndTable();

  Status Commit();

 private:
  struct Impl;
  explicit PgImport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlrd
