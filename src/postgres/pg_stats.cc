#include "postgres/pg_stats.h"

#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/stats/stats.h"

namespace dlrd {
namespace {

constexpr const char* kLoadVerification =
    "SELECT provider, channel, country, status_rank, first_event_at_ms,"
    " recipient FROM verifications WHERE source = $1 AND verification_id = $2"
    " FOR UPDATE";

// A verification seen for the first time. Nothing when another replica
// created it meanwhile: the caller then reads it again, locked.
constexpr const char* kInsertVerification =
    "INSERT INTO verifications(source, verification_id, provider, channel,"
    " status, status_rank, recipient, country, first_event_at_ms,"
    " updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
    " ON CONFLICT (source, verification_id) DO NOTHING";

// The row is locked (kLoadVerification): this leaves exactly what
// MergeVerification computed. Status moves only up the rank order.
constexpr const char* kUpdateVerification =
    "UPDATE verifications SET"
    "  status = CASE WHEN $4 > status_rank THEN $3 ELSE status END,"
    "  channel = CASE WHEN $4 > status_rank THEN $5 ELSE channel END,"
    "  updated_at_ms = CASE WHEN $4 > status_rank THEN $6::bigint"
    "    ELSE updated_at_ms END,"
    "  status_rank = GREATEST(status_rank, $4::integer),"
    "  recipient = CASE WHEN recipient = '' THEN $7 ELSE recipient END,"
    "  country = CASE WHEN country = '' THEN $8 ELSE country END"
    " WHERE source = $1 AND verification_id = $2";

// Each rollup upsert, for the hourly table and its daily twin: an
// increment of the committed row (exact across replicas).
#define DLRD_PG_UPSERT_COUNTS(table, time)                                \
  "INSERT INTO " table "(" time                                           \
  ", source, provider, channel, country,"                                 \
  " callbacks, sent, delivered, failed, verified, fallback_triggered,"    \
  " fallback_recovered, fallback_wasted, signature_failures)"             \
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)" \
  " ON CONFLICT (" time                                                   \
  ", source, provider, channel, country) DO UPDATE SET"                   \
  " callbacks = " table                                                   \
  ".callbacks + excluded.callbacks,"                                      \
  " sent = " table                                                        \
  ".sent + excluded.sent,"                                                \
  " delivered = " table                                                   \
  ".delivered + excluded.delivered,"                                      \
  " failed = " table                                                      \
  ".failed + excluded.failed,"                                            \
  " verified = " table                                                    \
  ".verified + excluded.verified,"                                        \
  " fallback_triggered = " table                                          \
  ".fallback_triggered + excluded.fallback_triggered,"                    \
  " fallback_recovered = " table                                          \
  ".fallback_recovered + excluded.fallback_recovered,"                    \
  " fallback_wasted = " table                                             \
  ".fallback_wasted + excluded.fallback_wasted,"                          \
  " signature_failures = " table                                          \
  ".signature_failures + excluded.signature_failures"
#define DLRD_PG_UPSERT_LATENCY(table, time)                      \
  "INSERT INTO " table "(" time                                  \
  ", source, provider, channel, country, kind, step, bucket, n)" \
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"                 \
  " ON CONFLICT (" time                                          \
  ", source, provider, channel, country, kind, step, bucket)"    \
  " DO UPDATE SET n = " table ".n + excluded.n"
#define DLRD_PG_UPSERT_ERRORS(table, time)               \
  "INSERT INTO " table "(" time                          \
  ", source, provider, channel, country, error_code, n)" \
  " VALUES ($1, $2, $3, $4, $5, $6, $7)"                 \
  " ON CONFLICT (" time                                  \
  ", source, provider, channel, country, error_code)"    \
  " DO UPDATE SET n = " table ".n + excluded.n"

// Hourly first, then daily ($1 is the hour, then the day); with the names
// they are prepared under.
struct Upsert {
  const char* name;
  const char* sql;
};
constexpr Upsert kUpsertCounts[] = {
    {"stats_hourly", DLRD_PG_UPSERT_COUNTS("stats_hourly", "hour_ms")},
    {"stats_daily", DLRD_PG_UPSERT_COUNTS("stats_daily", "day_ms")}};
constexpr Upsert kUpsertLatency[] = {
    {"stats_latency", DLRD_PG_UPSERT_LATENCY("stats_latency", "hour_ms")},
    {"stats_latency_daily",
     DLRD_PG_UPSERT_LATENCY("stats_latency_daily", "day_ms")}};
constexpr Upsert kUpsertErrors[] = {
    {"stats_errors", DLRD_PG_UPSERT_ERRORS("stats_errors", "hour_ms")},
    {"stats_errors_daily",
     DLRD_PG_UPSERT_ERRORS("stats_errors_daily", "day_ms")}};
#undef DLRD_PG_UPSERT_COUNTS
#undef DLRD_PG_UPSERT_LATENCY
#undef DLRD_PG_UPSERT_ERRORS

// The group's columns $1..$5; `daily`: $1 is its UTC day, not its hour.
std::vector<PgParam> GroupParams(const RollupGroup& g, bool daily) {
  std::vector<PgParam> p;
  p.reserve(14);
  p.emplace_back(daily ? DayFloor(g.hour_ms) : g.hour_ms);
  p.emplace_back(std::string_view(g.source));
  p.emplace_back(std::string_view(g.provider));
  p.emplace_back(std::string_view(g.channel));
  p.emplace_back(std::string_view(g.country));
  return p;
}

}  // namespace

Status PgStats::Done() {
  if (deferred_) return Status::Ok();
  Status s = Write(pending_);
  pending_.Clear();
  return s;
}

void PgStats::KeepPending() {
  batch_.Merge(pending_);
  pending_.Clear();
}

void PgStats::DropPending() { pending_.Clear(); }

void PgStats::Clear() {
  pending_.Clear();
  batch_.Clear();
}

Status PgStats::Flush() {
  KeepPending();
  Status s = Write(batch_);
  batch_.Clear();
  return s;
}

Status PgStats::Write(const RollupDelta& d) {
  for (int daily = 0; daily < 2; ++daily) {
    for (const auto& [g, counts] : d.hourly()) {
      bool any = false;
      for (int64_t n : counts) any = any || n != 0;
      if (!any) continue;
      std::vector<PgParam> p = GroupParams(g, daily);
      for (int64_t n : counts) p.emplace_back(n);
      const Upsert& u = kUpsertCounts[daily];
      if (auto r = conn_->ExecPrepared(u.name, u.sql, p); !r.ok()) {
        return r.status();
      }
    }
    for (const auto& [k, n] : d.latency()) {
      if (n == 0) continue;
      std::vector<PgParam> p = GroupParams(k.group, daily);
      p.emplace_back(std::string_view(k.kind));
      p.emplace_back(k.step);
      p.emplace_back(k.bucket);
      p.emplace_back(n);
      const Upsert& u = kUpsertLatency[daily];
      if (auto r = conn_->ExecPrepared(u.name, u.sql, p); !r.ok()) {
        return r.status();
      }
    }
    for (const auto& [k, n] : d.errors()) {
      if (n == 0) continue;
      std::vector<PgParam> p = GroupParams(k.group, daily);
      p.emplace_back(std::string_view(k.error_code));
      p.emplace_back(n);
      const Upsert& u = kUpsertErrors[daily];
      if (auto r = conn_->ExecPrepared(u.name, u.sql, p); !r.ok()) {
        return r.status();
      }
    }
  }
  return Status::Ok();
}

Result<VerificationRow> PgStats::LoadForUpdate(std::string_view source,
                                               std::string_view id) {
  Result<PgResult> r =
      conn_->ExecPrepared("stats_load", kLoadVerification, {source, id});
  if (!r.ok()) return r.status();
  VerificationRow row;
  const PgResult& res = r.value();
  if (res.rows() == 0) return row;
  row.exists = true;
  row.provider = std::string(res.Text(0, 0));
  row.channel = std::string(res.Text(0, 1));
  row.country = std::string(res.Text(0, 2));
  row.rank = static_cast<int>(res.Int(0, 3));
  row.first_at_ms = res.Int(0, 4);
  row.recipient = std::string(res.Text(0, 5));
  return row;
}

Status PgStats::OnEvent(const DeliveryEvent& e) {
  Result<VerificationRow> before = LoadForUpdate(e.source, e.verification_id);
  if (!before.ok()) return before.status();
  VerificationRow b = std::move(before).value();
  const std::string_view channel = ToString(e.channel);
  const std::string_view status = ToString(e.status);
  const int rank = StatusRank(e.status);
  if (!b.exists) {
    Result<PgResult> ins = conn_->ExecPrepared(
        "stats_insert_verification", kInsertVerification,
        {e.source, e.verification_id, e.provider, channel, status, rank,
         e.recipient, e.country, e.received_at_ms});
    if (!ins.ok()) return ins.status();
    if (ins.value().affected() == 0) {
      // Another replica created it since our read: start from its row.
      Result<VerificationRow> again =
          LoadForUpdate(e.source, e.verification_id);
      if (!again.ok()) return again.status();
      b = std::move(again).value();
      if (!b.exists) {
        return Status::Error("verification " + e.verification_id +
                             " neither inserted nor found");
      }
    }
  }
  const VerificationRow after = MergeVerification(b, e);
  // The row exists and is locked; an update that would change nothing (a
  // late or repeated lower status) is skipped.
  if (b.exists && VerificationChanges(b, after)) {
    Result<PgResult> up =
        conn_->ExecPrepared("stats_update_verification", kUpdateVerification,
                            {e.source, e.verification_id, status, rank, channel,
                             e.received_at_ms, e.recipient, e.country});
    if (!up.ok()) return up.status();
  }
  MoveOutcome(pending_, e.source, b, after);
  AddEventContribution(pending_, e);
  return Done();
}

Status PgStats::OnRegistered(std::string_view source, std::string_view id,
                             std::string_view provider, Channel channel,
                             std::string_view recipient,
                             std::string_view country, int64_t sent_at_ms) {
  Result<PgResult> r = conn_->ExecPrepared(
      "stats_register",
      "INSERT INTO verifications(source, verification_id, provider,"
      " channel, status, status_rank, recipient, country, first_event_at_ms,"
      " updated_at_ms) VALUES ($1, $2, $3, $4, 'unknown', 0, $5, $6, $7, $7)"
      " ON CONFLICT (source, verification_id) DO NOTHING",
      {source, id, provider, ToString(channel), recipient, country,
       sent_at_ms});
  if (!r.ok()) return r.status();
  if (r.value().affected() == 0) return Status::Ok();
  pending_.AddHourly(sent_at_ms, source, provider, ToString(channel), country,
                     HourlyColumn::kSent, 1);
  return Done();
}

Status PgStats::AddSignatureFailures(int64_t hour_ms, std::string_view source,
                                     std::string_view provider, int64_t n) {
  pending_.AddHourly(hour_ms, source, provider, "", "",
                     HourlyColumn::kSignatureFailures, n);
  return Done();
}

Status PgStats::OnDecision(std::string_view source, std::string_view root_id,
                           int step, Channel from, bool escalated, bool wasted,
                           int64_t at_ms) {
  if (!escalated && !wasted) return Status::Ok();
  Result<PgResult> r = conn_->ExecPrepared(
      "stats_decision",
      "SELECT COALESCE((SELECT provider FROM fallback_steps WHERE source = $1"
      " AND root_id = $2 AND step = $3), ''), COALESCE((SELECT country FROM"
      " fallback_roots WHERE source = $1 AND root_id = $2), '')",
      {source, root_id, step});
  if (!r.ok()) return r.status();
  if (r.value().rows() != 1) return Status::Error("stats decision: no row");
  const std::string provider(r.value().Text(0, 0));
  const std::string country(r.value().Text(0, 1));
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

Status PgStats::OnStepDelivered(std::string_view source,
                                std::string_view root_id, int step,
                                int64_t at_ms) {
  Result<PgResult> r = conn_->ExecPrepared(
      "stats_step_delivered",
      "SELECT s.provider, s.channel,"
      " CASE WHEN s.send_time_known != 0 THEN s.sent_at_ms ELSE 0 END,"
      " COALESCE(r.country, ''), (SELECT COUNT(*) FROM fallback_steps o"
      "  WHERE o.source = s.source AND o.root_id = s.root_id"
      "  AND o.step != s.step AND o.status_rank >= 4)"
      " FROM fallback_steps s LEFT JOIN fallback_roots r"
      "  ON r.source = s.source AND r.root_id = s.root_id"
      " WHERE s.source = $1 AND s.root_id = $2 AND s.step = $3",
      {source, root_id, step});
  if (!r.ok()) return r.status();
  const PgResult& res = r.value();
  if (res.rows() == 0) return Status::Ok();
  const std::string provider(res.Text(0, 0));
  const std::string channel(res.Text(0, 1));
  const int64_t sent_at = res.Int(0, 2);
  const std::string country(res.Text(0, 3));
  const int64_t others_delivered = res.Int(0, 4);
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
