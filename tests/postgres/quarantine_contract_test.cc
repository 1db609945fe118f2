// The QuarantineStore contract (dlrd/core/ports/quarantine_store.h), run
// on both backends (store_backends.h): what `dlrd quarantine list|replay`
// and the dlrd_quarantine_* gauges read. Rows listed oldest first and
// filtered by source and time, heads and bodies byte-exact only when asked
// for, deletes that free room under the caps (and are no-ops the second
// time), totals that see every writer's rows at once. The caps themselves
// are in the EventStore contract (QuarantineCapsDropTheNewest).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postgres/contract_fixtures.h"
#include "postgres/store_backends.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::kT0;
using testutil::StoreBackend;

constexpr int64_t kHour = 3'600'000;

std::unique_ptr<StoreBackend> MakeBackend(const std::string& name) {
  if (name == "sqlite") return std::make_unique<testutil::SqliteBackend>();
  return std::make_unique<testutil::PgBackend>("dlrd-quarantine-contract");
}

QuarantinedRequest Request(const std::string& source, std::string body,
                           int64_t at_ms) {
  QuarantinedRequest q;
  q.source = source;
  q.reason = "mismatch";
  q.head = "POST /webhooks/" + source + " HTTP/1.1\r\nHost: x\r\n\r\n";
  q.body = std::move(body);
  q.received_at_ms = at_ms;
  return q;
}

class QuarantineContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = MakeBackend(GetParam());
    writer_ = db_->Open({/*max_rows=*/3, /*max_bytes=*/1 << 20});
    quarantine_ = db_->OpenQuarantine();
  }
  // Adds each request in a submission of its own; what the writer said.
  std::vector<bool> Add(const std::vector<QuarantinedRequest>& requests) {
    std::vector<bool> out;
    for (const QuarantinedRequest& q : requests) {
      Submission s;
      s.quarantine = {q};
      BatchResult r = writer_->CommitBatch({&s});
      EXPECT_OK(r.status);
      EXPECT_OK(r.submissions.at(0).status);
      out.push_back(r.submissions.at(0).quarantined.at(0));
    }
    return out;
  }
  std::vector<int64_t> Times(const std::optional<std::string>& source,
                             int64_t since_ms) {
    auto rows = quarantine_->List(source, since_ms, /*with_content=*/false);
    EXPECT_OK(rows.status());
    std::vector<int64_t> out;
    if (rows.ok()) {
      for (const QuarantineRow& r : rows.value()) {
        out.push_back(r.received_at_ms);
      }
    }
    return out;
  }
  QuarantineTotals Totals() {
    auto t = quarantine_->Totals();
    EXPECT_OK(t.status());
    return t.ok() ? t.value() : QuarantineTotals{-1, -1};
  }

  std::unique_ptr<StoreBackend> db_;
  std::unique_ptr<EventStore> writer_;
  std::unique_ptr<QuarantineStore> quarantine_;
};

INSTANTIATE_TEST_SUITE_P(Backends, QuarantineContractTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(QuarantineContractTest, ListIsOldestFirstAndFilters) {
  // Stored out of receive order, from two sources.
  Add({Request("vn", "b", kT0 + 2 * kHour), Request("tw", "c", kT0 + kHour),
       Request("vn", "a", kT0)});
  EXPECT_EQ(Times(std::nullopt, 0),
            (std::vector<int64_t>{kT0, kT0 + kHour, kT0 + 2 * kHour}));
  EXPECT_EQ(Times(std::string("vn"), 0),
            (std::vector<int64_t>{kT0, kT0 + 2 * kHour}));
  EXPECT_EQ(Times(std::nullopt, kT0 + kHour),  // at or after
            (std::vector<int64_t>{kT0 + kHour, kT0 + 2 * kHour}));
  EXPECT_EQ(Times(std::string("vn"), kT0 + kHour),
            (std::vector<int64_t>{kT0 + 2 * kHour}));
  EXPECT_TRUE(Times(std::string("nobody"), 0).empty());
}

TEST_P(QuarantineContractTest, ContentOnlyWhenAskedAndByteExact) {
  const std::string body("{\"a\":\"\xff\xfe\"}\0tail\r\n", 17);
  const QuarantinedRequest q = Request("vn", body, kT0);
  Add({q});
  auto bare = quarantine_->List(std::nullopt, 0, /*with_content=*/false);
  ASSERT_OK(bare.status());
  ASSERT_EQ(bare.value().size(), 1u);
  const QuarantineRow& b = bare.value()[0];
  EXPECT_EQ(b.source, "vn");
  EXPECT_EQ(b.reason, "mismatch");
  EXPECT_EQ(b.head_bytes, static_cast<int64_t>(q.head.size()));
  EXPECT_EQ(b.body_bytes, 17);
  EXPECT_TRUE(b.head.empty());
  EXPECT_TRUE(b.body.empty());
  auto full = quarantine_->List(std::nullopt, 0, /*with_content=*/true);
  ASSERT_OK(full.status());
  ASSERT_EQ(full.value().size(), 1u);
  EXPECT_EQ(full.value()[0].id, b.id);
  EXPECT_EQ(full.value()[0].head, q.head);
  EXPECT_EQ(full.value()[0].body, body);
}

TEST_P(QuarantineContractTest, DeleteFreesRoomAndTotalsStayExact) {
  EXPECT_EQ(Add({Request("vn", "11111", kT0), Request("vn", "22", kT0 + 1),
                 Request("vn", "3", kT0 + 2), Request("vn", "4", kT0 + 3)}),
            (std::vector<bool>{true, true, true, false}));  // max_rows 3
  const int64_t head = static_cast<int64_t>(Request("vn", "", 0).head.size());
  QuarantineTotals t = Totals();
  EXPECT_EQ(t.rows, 3);
  EXPECT_EQ(t.bytes, 3 * head + 8);
  auto rows = quarantine_->List(std::nullopt, 0, false);
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows.value().size(), 3u);
  ASSERT_OK(quarantine_->Delete(rows.value()[0].id));
  t = Totals();
  EXPECT_EQ(t.rows, 2);
  EXPECT_EQ(t.bytes, 2 * head + 3);
  // Deleting it again (a second replay, retention) changes nothing.
  ASSERT_OK(quarantine_->Delete(rows.value()[0].id));
  EXPECT_EQ(Totals().rows, 2);
  // The writer sees the room at once.
  EXPECT_EQ(Add({Request("vn", "5", kT0 + 4)}), (std::vector<bool>{true}));
  EXPECT_EQ(Times(std::nullopt, 0),
            (std::vector<int64_t>{kT0 + 1, kT0 + 2, kT0 + 4}));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM quarantine"), 3);
}

TEST_P(QuarantineContractTest, TotalsSeeEveryWritersRowsAtOnce) {
  EXPECT_EQ(Totals().rows, 0);
  // A second writer, as another replica (on SQLite: the same file).
  std::unique_ptr<EventStore> other = db_->Open({10, 1 << 20});
  Add({Request("vn", "a", kT0)});
  Submission s;
  s.quarantine = {Request("tw", "bb", kT0 + 1)};
  ASSERT_OK(other->CommitBatch({&s}).status);
  // The reader's connection, open all along, sees both commits.
  EXPECT_EQ(Totals().rows, 2);
  EXPECT_EQ(Times(std::nullopt, 0), (std::vector<int64_t>{kT0, kT0 + 1}));
}

// PostgreSQL only: a reader whose session the server ended (a restart, a
// failover, an idle timeout) reconnects by itself.
TEST(PgQuarantine, ReconnectsAfterItsSessionWasTerminated) {
  testutil::PgBackend db("dlrd-quarantine-victim");
  std::unique_ptr<EventStore> writer = db.Open({});
  auto quarantine = OpenPgQuarantine(db.target());
  ASSERT_OK(quarantine.status());
  ASSERT_OK(quarantine.value()->Totals().status());
  const std::string killed = db.Value(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = current_database()"
      " AND application_name = 'dlrd-quarantine-victim'");
  ASSERT_EQ(killed, "2");  // the writer's session and the reader's
  auto totals = quarantine.value()->Totals();
  ASSERT_OK(totals.status());
  EXPECT_EQ(totals.value().rows, 0);
  ASSERT_OK(quarantine.value()->Delete(12345));
  auto rows = quarantine.value()->List(std::nullopt, 0, true);
  ASSERT_OK(rows.status());
  EXPECT_TRUE(rows.value().empty());
}

TEST(PgQuarantine, RefusesADatabaseWithoutTheSchema) {
  testutil::PgBackend db;
  auto quarantine = OpenPgQuarantine(db.target());
  ASSERT_FALSE(quarantine.ok());
  EXPECT_NE(quarantine.status().message().find("no dlrd schema"),
            std::string::npos)
      << quarantine.status().message();
}

}  // namespace
}  // namespace dlrd
