// TableValue and TableRow: one stored row as plain typed values, the
// neutral form in which `dlrd migrate-store` moves rows from one store
// adapter to another (dlrd/sqlite/sqlite_export.h reads them,
// dlrd/postgres/pg_import.h writes them), so neither adapter needs the
// other's library.
//
// Invariant: the four kinds are exactly SQLite's storage classes dlrd uses
// (INTEGER, TEXT, BLOB, NULL). Text and bytes are kept apart because the
// target must write bytes bit-exact (bytea) and text as text; a value
// never changes kind on the way.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dlrd {

struct TableValue {
  enum class Kind { kNull, kInt, kText, kBytes };

  Kind kind = Kind::kNull;
  int64_t integer = 0;  // kInt
  std::string data;     // kText (UTF-8) or kBytes (any bytes, NULs too)

  static TableValue Null() { return TableValue(); }
  static TableValue Int(int64_t n) {
    TableValue v;
    v.kind = Kind::kInt;
    v.integer = n;
    return v;
  }
  static TableValue Text(std::string s) {
    TableValue v;
    v.kind = Kind::kText;
    v.data = std::move(s);
    return v;
  }
  static TableValue Bytes(std::string b) {
    TableValue v;
    v.kind = Kind::kBytes;
    v.data = std::move(b);
    return v;
  }

  bool operator==(const TableValue&) const = default;
};

// One row, its values in the order of the column list it was read with.
using TableRow = std::vector<TableValue>;

}  // namespace dlrd
