// COPY text format (PostgreSQL docs, "COPY", File Formats): one line per
// row, columns separated by a tab, \N for NULL, and a backslash escaping
// itself, newline, carriage return and tab inside a value. A bytea value
// is written in its hex input form, \x followed by two hex digits a byte,
// whose backslash COPY needs doubled. Nothing else is special, so every
// text is written as it is, and PostgreSQL checks its encoding as for any
// insert.
#include "dlrd/postgres/pg_import.h"

#include <utility>

#include "postgres/pg_conn.h"

namespace dlrd {
namespace {

// Rows are sent to the server in pieces of about this many bytes.
constexpr size_t kFlushBytes = 1 << 20;

// dlrd's table and column names: lower-case letters, digits, '_'. Anything
// else is refused rather than quoted, so no name reaches SQL unchecked.
bool IsPlainName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

Status CheckName(const std::string& name) {
  if (IsPlainName(name)) return Status::Ok();
  return Status::Error("not a dlrd table or column name: \"" + name + "\"");
}

void AppendHex(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\\\x";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
}

}  // namespace

struct PgImport::Impl {
  PgConn conn;
  bool committed = false;
  bool in_copy = false;
  bool failed = false;  // a COPY went wrong: the transaction is aborted
  std::string table;
  std::vector<std::string> columns;
  std::vector<bool> bytea;  // per column of `columns`
  std::string buffer;

  // Ends a COPY that cannot go on, so the connection leaves COPY mode.
  Status Abort(Status why) {
    failed = true;
    if (in_copy) {
      in_copy = false;
      (void)conn.CopyEnd(why.message().c_str());  // the server refuses it
    }
    return why;
  }

  Status Flush() {
    if (buffer.empty()) return Status::Ok();
    Status s = conn.CopyPut(buffer);
    buffer.clear();
    return s;
  }
};

PgImport::PgImport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PgImport::~PgImport() {
  if (!impl_ || impl_->committed || !impl_->conn.connected()) return;
  if (impl_->in_copy) (void)impl_->conn.CopyEnd("import abandoned");
  // Closing the connection would roll back too; say it.
  (void)impl_->conn.Exec("ROLLBACK");
}

Result<std::unique_ptr<PgImport>> PgImport::Begin(
    const PgTarget& target, const std::vector<std::string>& tables) {
  std::string lock = "LOCK TABLE ";
  for (size_t i = 0; i < tables.size(); ++i) {
    if (Status s = CheckName(tables[i]); !s.ok()) return s;
    lock += (i ? ", " : "") + tables[i];
  }
  lock += " IN EXCLUSIVE MODE";
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  auto impl = std::make_unique<Impl>();
  impl->conn = std::move(conn).value();
  if (Status s = impl->conn.ExecScript("BEGIN"); !s.ok()) return s;
  if (!tables.empty()) {
    if (Status s = impl->conn.ExecScript(lock); !s.ok()) return s;
  }
  return std::unique_ptr<PgImport>(new PgImport(std::move(impl)));
}

Result<bool> PgImport::HasRows(const std::string& table) {
  if (Status s = CheckName(table); !s.ok()) return s;
  Result<PgResult> r =
      impl_->conn.Exec("SELECT EXISTS (SELECT 1 FROM " + table + ")");
  if (!r.ok()) return r.status();
  return r.value().Text(0, 0) == "t";
}

Status PgImport::BeginTable(const std::string& table,
                            const std::vector<std::string>& columns) {
  Impl& m = *impl_;
  if (m.in_copy || m.failed || m.committed) {
    return Status::Error(table + ": the import is not ready for a table");
  }
  if (Status s = CheckName(table); !s.ok()) return s;
  if (columns.empty()) return Status::Error(table + ": no columns");
  Result<PgResult> types = m.conn.Exec(
      "SELECT a.attname, t.typname FROM pg_attribute a"
      " JOIN pg_type t ON t.oid = a.atttypid"
      " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0"
      " AND NOT a.attisdropped",
      {PgParam(table)});
  if (!types.ok()) return types.status();
  const PgResult& t = types.value();
  if (t.rows() == 0) return Status::Error(table + ": no such table here");
  m.table = table;
  m.columns = columns;
  m.bytea.assign(columns.size(), false);
  std::string copy = "COPY " + table + " (";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (Status s = CheckName(columns[i]); !s.ok()) return s;
    bool found = false;
    for (int row = 0; row < t.rows(); ++row) {
      if (t.Text(row, 0) == columns[i]) {
        found = true;
        m.bytea[i] = t.Text(row, 1) == "bytea";
      }
    }
    if (!found) {
      return Status::Error(table + "." + columns[i] +
                           ": no such column in the PostgreSQL schema");
    }
    copy += (i ? ", " : "") + columns[i];
  }
  copy += ") FROM STDIN";
  if (Status s = m.conn.CopyBegin(copy); !s.ok()) {
    m.failed = true;
    return Status::Error(table + ": " + s.message());
  }
  m.in_copy = true;
  return Status::Ok();
}

Status PgImport::WriteRows(const std::vector<TableRow>& rows) {
  Impl& m = *impl_;
  if (!m.in_copy) return Status::Error("WriteRows outside BeginTable");
  for (const TableRow& row : rows) {
    if (row.size() != m.columns.size()) {
      return m.Abort(Status::Error(
          m.table + ": a row of " + std::to_string(row.size()) +
          " values for " + std::to_string(m.columns.size()) + " columns"));
    }
    for (size_t i = 0; i < row.size(); ++i) {
      const TableValue& v = row[i];
      if (i) m.buffer += '\t';
      const std::string where = m.table + "." + m.columns[i];
      if (v.kind == TableValue::Kind::kNull) {
        m.buffer += "\\N";
      } else if (m.bytea[i]) {
        if (v.kind == TableValue::Kind::kInt) {
          return m.Abort(Status::Error(where + ": a number for bytes"));
        }
        AppendHex(m.buffer, v.data);
      } else if (v.kind == TableValue::Kind::kInt) {
        m.buffer += std::to_string(v.integer);
      } else if (v.kind == TableValue::Kind::kBytes) {
        return m.Abort(
            Status::Error(where + ": bytes (a BLOB) in a text column"));
      } else {
        for (char c : v.data) {
          switch (c) {
            case '\\': m.buffer += "\\\\"; break;
            case '\n': m.buffer += "\\n"; break;
            case '\r': m.buffer += "\\r"; break;
            case '\t': m.buffer += "\\t"; break;
            case '\0':
              return m.Abort(Status::Error(
                  where + ": text with a NUL byte, which PostgreSQL cannot "
                          "store in a text column"));
            default: m.buffer += c;
          }
        }
      }
    }
    m.buffer += '\n';
    if (m.buffer.size() >= kFlushBytes) {
      if (Status s = m.Flush(); !s.ok()) return m.Abort(s);
    }
  }
  return Status::Ok();
}

Result<int64_t> PgImport::EndTable() {
  Impl& m = *impl_;
  if (!m.in_copy) return Status::Error("EndTable outside BeginTable");
  if (Status s = m.Flush(); !s.ok()) return m.Abort(s);
  m.in_copy = false;
  Result<int64_t> rows = m.conn.CopyEnd();
  if (!rows.ok()) {
    m.failed = true;
    return Status::Error(rows.status().code(),
                         m.table + ": " + rows.status().message());
  }
  // Every sequence a column of the table owns continues past its values.
  Result<PgResult> owned = m.conn.Exec(
      "SELECT a.attname, pg_get_serial_sequence($1, a.attname)"
      " FROM pg_attribute a WHERE a.attrelid = to_regclass($1)"
      " AND a.attnum > 0 AND NOT a.attisdropped"
      " AND pg_get_serial_sequence($1, a.attname) IS NOT NULL",
      {PgParam(m.table)});
  if (!owned.ok()) return owned.status();
  for (int i = 0; i < owned.value().rows(); ++i) {
    const std::string column(owned.value().Text(i, 0));
    if (Status s = CheckName(column); !s.ok()) return s;
    Result<PgResult> set = m.conn.Exec(
        "SELECT setval($1, COALESCE((SELECT max(" + column + ") FROM " +
            m.table + "), 0) + 1, false)",
        {PgParam(owned.value().Text(i, 1))});
    if (!set.ok()) return set.status();
  }
  return rows;
}

Status PgImport::Commit() {
  Impl& m = *impl_;
  if (m.in_copy || m.failed) {
    return Status::Error("commit refused: a table was not copied whole");
  }
  if (Status s = m.conn.ExecScript("COMMIT"); !s.ok()) return s;
  m.committed = true;
  return Status::Ok();
}

}  // namespace dlrd
