#include "dlrd/sqlite/sqlite_stats.h"

#include <utility>

#include "dlrd/core/stats/verification_outcome.h"
#include "dlrd/sqlite/sqlite_fallback.h"

#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

// Status moves only up the rank order (include/dlrd/core/model/delivery.h).
// OnEvent computes the row this leaves (MergeVerification, in core) instead
// of reading it back; the two must agree, which the rollup-invariant test
// checks.
constexpr const char* kUpsertVerification =
    "INSERT INTO verifications(source, verification_id, provider, channel,"
    " status, status_rank, recipient, country, first_event_at_ms,"
    " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
    " ON CONFLICT(source, verification_id) DO UPDATE SET"
    "  status = CASE WHEN excluded.status_rank > status_rank"
    "    THEN excluded.status ELSE status END,"
    "  channel = CASE WHEN excluded.status_rank > status_rank"
    "    THEN excluded.channel ELSE channel END,"
    "  updated_at_ms = CASE WHEN excluded.status_rank > status_rank"
    "    THEN excluded.updated_at_ms ELSE updated_at_ms END,"
    "  status_rank = MAX(status_rank, excluded.status_rank),"
    "  recipient = CASE WHEN recipient = '' THEN excluded.recipient"
    "    ELSE recipient END,"
    "  country = CASE WHEN country = '' THEN excluded.country ELSE country END";

constexpr const char* kLoadVerification =
    "SELECT provider, channel, country, status_rank, first_event_at_ms,"
    " recipient FROM verifications WHERE source = ?1 AND verification_id = ?2";

// Each rollup upsert, for the hourly table and its daily twin.
#define DLRD_UPSERT_COUNTS(table, time)                                       \
  "INSERT INTO " table "(" time                                               \
  ", source, provider, channel, country,"                                     \
  " callbacks, sent, delivered, failed, verified, fallback_triggered,"        \
  " fallback_recovered, fallback_wasted, signature_failures)"                 \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"     \
  " ON CONFLICT DO UPDATE SET callbacks = callbacks + excluded.callbacks,"    \
  " sent = sent + excluded.sent, delivered = delivered + excluded.delivered," \
  " failed = failed + excluded.failed,"                                       \
  " verified = verified + excluded.verified,"                                 \
  " fallback_triggered = fallback_triggered + excluded.fallback_triggered,"   \
  " fallback_recovered = fallback_recovered + excluded.fallback_recovered,"   \
  " fallback_wasted = fallback_wasted + excluded.fallback_wasted,"            \
  " signature_failures = signature_failures + excluded.signature_failures"
#define DLRD_UPSERT_LATENCY(table, time)                                \
  "INSERT INTO " table "(" time                                         \
  ", source, provider, channel, country,"                               \
  " kind, step, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" \
  " ON CONFLICT DO UPDATE SET n = n + excluded.n"
#define DLRD_UPSERT_ERRORS(table, time)                 \
  "INSERT INTO " table "(" time                         \
  ", source, provider, channel, country,"               \
  " error_code, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)" \
  " ON CONFLICT DO UPDATE SET n = n + excluded.n"

// Hourly first, then daily (?1 is the hour, then the day).
constexpr const char* kUpsertCounts[] = {
    DLRD_UPSERT_COUNTS("stats_hourly", "hour_ms"),
    DLRD_UPSERT_COUNTS("stats_daily", "day_ms")};
constexpr const char* kUpsertLatency[] = {
    DLRD_UPSERT_LATENCY("stats_latency", "hour_ms"),
    DLRD_UPSERT_LATENCY("stats_latency_daily", "day_ms")};
constexpr const char* kUpsertErrors[] = {
    DLRD_UPSERT_ERRORS("stats_errors", "hour_ms"),
    DLRD_UPSERT_ERRORS("stats_errors_daily", "day_ms")};
#undef DLRD_UPSERT_COUNTS
#undef DLRD_UPSERT_LATENCY
#undef DLRD_UPSERT_ERRORS

// `daily`: ?1 is the group's UTC day instead of its hour.
void BindGroup(sqlite3_stmt* st, const RollupGroup& g, bool daily) {
  sqlite3_bind_int64(st, 1, daily ? DayFloor(g.hour_ms) : g.hour_ms);
  BindText(st, 2, g.source);
  BindText(st, 3, g.provider);
  BindText(st, 4, g.channel);
  BindText(st, 5, g.country);
}

}  // namespace

Status StatsSql::Done() {
  if (deferred_) return Status::Ok();
  Status s = Write(pending_);
  pending_.Clear();
  return s;
}

void StatsSql::KeepPending() {
  batch_.Merge(pending_);
  pending_.Clear();
}

void StatsSql::DropPending() { pending_.Clear(); }

void StatsSql::Clear() {
  pending_.Clear();
  batch_.Clear();
}

Status StatsSql::Flush() {
  KeepPending();
  Status s = Write(batch_);
  batch_.Clear();
  return s;
}

Status StatsSql::Write(const RollupDelta& d) {
  for (int daily = 0; daily < 2; ++daily) {
    for (const auto& [g, counts] : d.hourly()) {
      bool any = false;
      for (int64_t n : counts) any = any || n != 0;
      if (!any) continue;
      StmtUse st(cache_.Get(kUpsertCounts[daily]));
      if (!st.get()) return SqliteError(db_, "stats prepare rollup");
      BindGroup(st.get(), g, daily);
      for (int i = 0; i < kHourlyColumns; ++i) {
        sqlite3_bind_int64(st.get(), 6 + i, counts[i]);
      }
      if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "stats rollup");
    }
    for (const auto& [k, n] : d.latency()) {
      if (n == 0) continue;
      StmtUse st(cache_.Get(kUpsertLatency[daily]));
      if (!st.get()) return SqliteError(db_, "stats prepare latency");
      BindGroup(st.get(), k.group, daily);
      BindText(st.get(), 6, k.kind);
      sqlite3_bind_int(st.get(), 7, k.step);
      sqlite3_bind_int(st.get(), 8, k.bucket);
      sqlite3_bind_int64(st.get(), 9, n);
      if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "stats latency");
    }
    for (const auto& [k, n] : d.errors()) {
      if (n == 0) continue;
      StmtUse st(cache_.Get(kUpsertErrors[daily]));
      if (!st.get()) return SqliteError(db_, "stats prepare errors");
      BindGroup(st.get(), k.group, daily);
      BindText(st.get(), 6, k.error_code);
      sqlite3_bind_int64(st.get(), 7, n);
      if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "stats errors");
    }
  }
  return Status::Ok();
}

Result<StatsSql::Row> StatsSql::Load(std::string_view source,
                                     std::string_view id) {
  StmtUse st(cache_.Get(kLoadVerification));
  if (!st.get()) return SqliteError(db_, "stats prepare load");
  BindTextView(st.get(), 1, source);
  BindTextView(st.get(), 2, id);
  Row row;
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) {
    row.exists = true;
    row.provider = ColumnText(st.get(), 0);
    row.channel = ColumnText(st.get(), 1);
    row.country = ColumnText(st.get(), 2);
    row.rank = sqlite3_column_int(st.get(), 3);
    row.first_at_ms = sqlite3_column_int64(st.get(), 4);
    row.recipient = ColumnText(st.get(), 5);
  } else if (rc != SQLITE_DONE) {
    return SqliteError(db_, "stats load");
  }
  return row;
}

Status StatsSql::OnEvent(const DeliveryEvent& e) {
  Result<Row> before = Load(e.source, e.verification_id);
  if (!before.ok()) return before.status();
  const Row& b = before.value();
  const Row after = MergeVerification(b, e);
  // An upsert that would change nothing (a late or repeated lower status)
  // is skipped: it would only dirty a page.
  if (VerificationChanges(b, after)) {
    StmtUse st(cache_.Get(kUpsertVerification));
    if (!st.get()) return SqliteError(db_, "stats prepare upsert");
    BindTextView(st.get(), 1, e.source);
    BindTextView(st.get(), 2, e.verification_id);
    BindTextView(st.get(), 3, e.provider);
    BindTextView(st.get(), 4, ToString(e.channel));
    BindTextView(st.get(), 5, ToString(e.status));
    sqlite3_bind_int(st.get(), 6, StatusRank(e.status));
    BindTextView(st.get(), 7, e.recipient);
    BindTextView(st.get(), 8, e.country);
    sqlite3_bind_int64(st.get(), 9, e.received_at_ms);
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
      return SqliteError(db_, "stats upsert verification");
    }
  }
  MoveOutcome(pending_, e.source, b, after);
  AddEventContribution(pending_, e);
  return Done();
}

Status StatsSql::OnRegistered(std::string_view source, std::string_view id,
                              std::string_view provider, Channel channel,
                              std::string_view recipient,
                              std::string_view country, int64_t sent_at_ms) {
  StmtUse st(cache_.Get(
      "INSERT OR IGNORE INTO verifications(source, verification_id, provider,"
      " channel, status, status_rank, recipient, country, first_event_at_ms,"
      " updated_at_ms) VALUES (?1, ?2, ?3, ?4, 'unknown', 0, ?5, ?6, ?7, ?7)"));
  if (!st.get()) return SqliteError(db_, "stats prepare register");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, id);
  BindText(st.get(), 3, provider);
  BindText(st.get(), 4, ToString(channel));
  BindText(st.get(), 5, recipient);
  BindText(st.get(), 6, country);
  sqlite3_bind_int64(st.get(), 7, sent_at_ms);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "stats register");
  if (sqlite3_changes(db_) == 0) return Status::Ok();
  pending_.AddHourly(sent_at_ms, source, provider, ToString(channel), country,
                     HourlyColumn::kSent, 1);
  return Done();
}

Status StatsSql::AddSignatureFailures(int64_t hour_ms, std::string_view source,
                                      std::string_view provider, int64_t n) {
  pending_.AddHourly(hour_ms, source, provider, "", "",
                     HourlyColumn::kSignatureFailures, n);
  return Done();
}

Status StatsSql::OnDecision(std::string_view source, std::string_view root_id,
                            int step, Channel from, bool escalated, bool wasted,
                            int64_t at_ms) {
  if (!escalated && !wasted) return Status::Ok();
  StmtUse st(cache_.Get(
      "SELECT COALESCE((SELECT provider FROM fallback_steps WHERE source = ?1"
      " AND root_id = ?2 AND step = ?3), ''), COALESCE((SELECT country FROM"
      " fallback_roots WHERE source = ?1 AND root_id = ?2), '')"));
  if (!st.get()) return SqliteError(db_, "stats prepare decision");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, root_id);
  sqlite3_bind_int(st.get(), 3, step);
  if (sqlite3_step(st.get()) != SQLITE_ROW) return SqliteError(db_, "stats decision");
  const std::string provider = ColumnText(st.get(), 0);
  const std::string country = ColumnText(st.get(), 1);
  if (escalated) {
    pending_.AddHourly(at_ms, source, provider, ToString(from), country,
                       HourlyColumn::kFallbackTriggered, 1);
  }
  if (wasted) {
    pending_.AddHourly(at_ms, source, provider, ToString(from), country,
                       HourlyColumn::kFallbackWasted, 1);
  }
  return Done();
}

Status StatsSql::OnStepDelivered(std::string_view source,
                                 std::string_view root_id, int step,
                                 int64_t at_ms) {
  StmtUse st(cache_.Get(
      "SELECT s.provider, s.channel,"
      " CASE WHEN s.send_time_known THEN s.sent_at_ms ELSE 0 END,"
      " COALESCE(r.country, ''), (SELECT COUNT(*) FROM fallback_steps o"
      "  WHERE o.source = s.source AND o.root_id = s.root_id"
      "  AND o.step != s.step AND o.status_rank >= 4)"
      " FROM fallback_steps s LEFT JOIN fallback_roots r"
      "  ON r.source = s.source AND r.root_id = s.root_id"
      " WHERE s.source = ?1 AND s.root_id = ?2 AND s.step = ?3"));
  if (!st.get()) return SqliteError(db_, "stats prepare step");
  BindText(st.get(), 1, source);
  BindText(st.get(), 2, root_id);
  sqlite3_bind_int(st.get(), 3, step);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return Status::Ok();
  if (rc != SQLITE_ROW) return SqliteError(db_, "stats step");
  const std::string provider = ColumnText(st.get(), 0);
  const std::string channel = ColumnText(st.get(), 1);
  const int64_t sent_at = sqlite3_column_int64(st.get(), 2);
  const std::string country = ColumnText(st.get(), 3);
  const int64_t others_delivered = sqlite3_column_int64(st.get(), 4);
  if (sent_at > 0 && at_ms >= sent_at) {
    pending_.AddLatency(at_ms, source, provider, channel, country, "derived",
                        step, at_ms - sent_at);
  }
  if (step > 0 && others_delivered == 0) {
    pending_.AddHourly(at_ms, source, provider, channel, country,
                       HourlyColumn::kFallbackRecovered, 1);
  }
  return Done();
}

}  // namespace dlrd
