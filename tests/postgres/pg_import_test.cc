// PgImport on the suite's real server, value by value: every text byte
// COPY's text format treats specially (backslash, tab, newline, CR, "\N")
// and every other ASCII and non-ASCII character arrives as it was; bytea
// gets all 256 byte values exactly; int64 extremes and NULL survive; ids
// are kept and the sequence continues after them. Values PostgreSQL cannot
// hold (NUL in text, bytes in a text column) and unknown columns are
// refused with the column's name, and an import dropped without Commit()
// leaves nothing behind.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dlrd/postgres/pg_database.h"
#include "dlrd/postgres/pg_import.h"
#include "testutil/pg_test_db.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::PgTestDb;

PgTarget Target(const PgTestDb& db) {
  PgTarget t;
  t.uri = db.uri();
  t.application_name = "dlrd-import-test";
  return t;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string AllAsciiAndMore() {
  std::string s;
  for (int c = 1; c < 128; ++c) s += static_cast<char>(c);
  return s + "\\N \\\\ Zoë 東京 🚀";
}

class PgImportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(MigratePostgres(Target(db_)).ok()); }
  PgTestDb db_;
};

TEST_F(PgImportTest, ValuesArriveExactly) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  const std::string text = AllAsciiAndMore();
  {
    auto imp = PgImport::Begin(Target(db_), {"raw_requests", "delivery_events"});
    ASSERT_TRUE(imp.ok()) << imp.status().message();
    PgImport& i = *imp.value();
    ASSERT_OK(i.BeginTable("raw_requests", {"id", "source", "received_at_ms",
                                            "target", "head", "body"}));
    ASSERT_OK(i.WriteRows(
        {{TableValue::Int(41), TableValue::Text(text),
          TableValue::Int(INT64_MIN), TableValue::Text(""),
          TableValue::Bytes(all_bytes), TableValue::Bytes("")},
         {TableValue::Int(7), TableValue::Text("s"),
          TableValue::Int(INT64_MAX), TableValue::Text("\\N"),
          TableValue::Text("as text"), TableValue::Bytes(std::string(3, '\0'))}}));
    auto n = i.EndTable();
    ASSERT_TRUE(n.ok()) << n.status().message();
    EXPECT_EQ(n.value(), 2);
    ASSERT_OK(i.Commit());
  }
  // Compared on the server: no client-side decoding in between.
  EXPECT_EQ(db_.Query("SELECT source = convert_from(decode('" + Hex(text) +
                      "', 'hex'), 'UTF8') FROM raw_requests WHERE id = 41"),
            "t");
  EXPECT_EQ(db_.Query("SELECT head = decode(string_agg(lpad(to_hex(g), 2, "
                      "'0'), '' ORDER BY g), 'hex') FROM raw_requests, "
                      "generate_series(0, 255) g WHERE id = 41 GROUP BY head"),
            "t");
  EXPECT_EQ(db_.Query("SELECT received_at_ms, target, encode(head, 'escape'),"
                      " encode(body, 'hex') FROM raw_requests WHERE id = 7"),
            "9223372036854775807|\\N|as text|000000");
  EXPECT_EQ(db_.Query("SELECT received_at_ms FROM raw_requests WHERE id = 41"),
            "-9223372036854775808");
  EXPECT_EQ(db_.Query("INSERT INTO raw_requests (source, received_at_ms, "
                      "target, head, body) VALUES ('s', 1, '', '', '') "
                      "RETURNING id"),
            "42");
}

TEST_F(PgImportTest, NullsAndDefaultsOfColumnsNotNamed) {
  auto imp = PgImport::Begin(Target(db_), {"outbox"});
  ASSERT_TRUE(imp.ok()) << imp.status().message();
  PgImport& i = *imp.value();
  ASSERT_OK(i.BeginTable("outbox", {"id", "source", "root_id", "step",
                                    "provider", "channel", "recipient",
                                    "next_attempt_at_ms", "idempotency_key",
                                    "created_at_ms", "updated_at_ms"}));
  ASSERT_OK(i.WriteRows({{TableValue::Int(5), TableValue::Text("s"),
                          TableValue::Text("r"), TableValue::Int(1),
                          TableValue::Text("p"), TableValue::Text("sms"),
                          TableValue::Text("+1"), TableValue::Int(9),
                          TableValue::Text("k"), TableValue::Int(1),
                          TableValue::Int(2)}}));
  ASSERT_TRUE(i.EndTable().ok());
  ASSERT_OK(i.Commit());
  EXPECT_EQ(db_.Query("SELECT state, claimed_by, lease_until_ms FROM outbox"),
            "pending||0");
}

TEST_F(PgImportTest, RefusedValuesNameTheColumnAndNothingStays) {
  struct Case {
    const char* what;
    TableValue value;
    const char* expect;
  } cases[] = {
      {"nul in text", TableValue::Text(std::string("a\0b", 3)),
       "raw_requests.target: text with a NUL byte"},
      {"bytes in text", TableValue::Bytes("x"),
       "raw_requests.target: bytes (a BLOB) in a text column"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto imp = PgImport::Begin(Target(db_), {"raw_requests"});
    ASSERT_TRUE(imp.ok()) << imp.status().message();
    PgImport& i = *imp.value();
    ASSERT_OK(i.BeginTable("raw_requests", {"id", "source", "received_at_ms",
                                            "target", "head", "body"}));
    ASSERT_OK(i.WriteRows({{TableValue::Int(1), TableValue::Text("s"),
                            TableValue::Int(1), TableValue::Text("ok"),
                            TableValue::Bytes(""), TableValue::Bytes("")}}));
    Status s = i.WriteRows({{TableValue::Int(2), TableValue::Text("s"),
                             TableValue::Int(1), c.value,
                             TableValue::Bytes(""), TableValue::Bytes("")}});
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
    EXPECT_FALSE(i.EndTable().ok());
    EXPECT_FALSE(i.Commit().ok());
  }
  {
    auto imp = PgImport::Begin(Target(db_), {"raw_requests"});
    ASSERT_TRUE(imp.ok());
    Status s = imp.value()->BeginTable("raw_requests", {"id", "nope"});
    EXPECT_NE(s.message().find("raw_requests.nope"), std::string::npos)
        << s.message();
  }
  {  // Written, ended, never committed: rolled back.
    auto imp = PgImport::Begin(Target(db_), {"raw_requests"});
    ASSERT_TRUE(imp.ok());
    ASSERT_OK(imp.value()->BeginTable("raw_requests",
                                      {"id", "source", "received_at_ms",
                                       "target", "head", "body"}));
    ASSERT_OK(imp.value()->WriteRows(
        {{TableValue::Int(1), TableValue::Text("s"), TableValue::Int(1),
          TableValue::Text("ok"), TableValue::Bytes(""),
          TableValue::Bytes("")}}));
    ASSERT_TRUE(imp.value()->EndTable().ok());
  }
  EXPECT_EQ(db_.Query("SELECT count(*) FROM raw_requests"), "0");
}

}  // namespace
}  // namespace dlrd
