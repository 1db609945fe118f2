#include "dlrd/sqlite/sqlite_fallback.h"

#include <utility>

#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

constexpr int64_t kMinuteMs = 60'000;

std::string_view ResultName(DecisionResult r) {
  switch (r) {
    case DecisionResult::kEscalate:
      return "escalate";
    case DecisionResult::kSkip:
      return "skip";
    case DecisionResult::kNone:
      return "none";
  }
  return "none";
}

}  // namespace

FallbackSql::FallbackSql(sqlite3* db, FallbackRules rules, StatsSql* stats)
    : db_(db), rules_(std::move(rules)), stats_(stats), cache_(db) {}

sqlite3_stmt* FallbackSql::Stmt(const char* sql) { return cache_.Get(sql); }

Status FallbackSql::SetStatus(const StepKey& key, DeliveryStatus s,
                              int64_t at_ms) {
  int old_rank = 0;
  {
    StmtUse st(
        Stmt("SELECT status_rank FROM fallback_steps"
             " WHERE source = ?1 AND root_id = ?2 AND step = ?3"));
    if (!st.get()) return SqliteError(db_, "fallback prepare rank");
    BindText(st.get(), 1, key.source);
    BindText(st.get(), 2, key.root_id);
    sqlite3_bind_int(st.get(), 3, key.step);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      old_rank = sqlite3_column_int(st.get(), 0);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db_, "fallback rank");
    }
  }
  StmtUse st(
      Stmt("UPDATE fallback_steps SET status = ?1, status_rank = ?2"
           " WHERE source = ?3 AND root_id = ?4 AND step = ?5 AND status_rank "
           "< ?2"));
  if (!st.get()) return SqliteError(db_, "fallback prepare status");
  BindText(st.get(), 1, ToString(s));
  sqlite3_bind_int(st.get(), 2, StatusRank(s));
  BindText(st.get(), 3, key.source);
  BindText(st.get(), 4, key.root_id);
  sqlite3_bind_int(st.get(), 5, key.step);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "fallback status");
  constexpr int kDelivered = 4;
  if (stats_ && old_rank < kDelivered && StatusRank(s) >= kDelivered) {
    return stats_->OnStepDelivered(key.source, key.root_id, key.step, at_ms);
  }
  return Status::Ok();
}

Status FallbackSql::OnEvent(const DeliveryEvent& e, int64_t now_ms,
                            std::vector<FallbackNote>* notes,
                            bool* job_created) {
  if (!enabled()) return Status::Ok();
  if (!e.recipient.empty() && !e.error_code.empty() &&
      IsOptOutError(e.provider, e.error_code)) {
    StmtUse st(
        Stmt("INSERT OR IGNORE INTO opt_outs(recipient, source, reason, at_ms)"
             " VALUES (?1, ?2, ?3, ?4)"));
    if (!st.get()) return SqliteError(db_, "fallback prepare opt-out");
    BindText(st.get(), 1, e.recipient);
    BindText(st.get(), 2, e.source);
    BindText(st.get(), 3, e.provider + " error " + e.error_code);
    sqlite3_bind_int64(st.get(), 4, now_ms);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "fallback opt-out");
  }
  if (e.verification_id.empty()) return Status::Ok();

  StepKey key;
  bool found = false;
  {
    StmtUse st(
        Stmt("SELECT source, root_id, step FROM fallback_steps"
             " WHERE provider = ?1 AND verification_id = ?2 LIMIT 1"));
    if (!st.get()) return SqliteError(db_, "fallback prepare find");
    BindText(st.get(), 1, e.provider);
    BindText(st.get(), 2, e.verification_id);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      key.source = ColumnText(st.get(), 0);
      key.root_id = ColumnText(st.get(), 1);
      key.step = sqlite3_column_int(st.get(), 2);
      found = true;
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db_, "fallback find");
    }
  }
  if (!found) {
    // The first callback of an OTP the app did not register: it becomes a
    // root when its source has fallback and the callback names the number.
    auto rule = rules_.find(e.source);
    if (rule == rules_.end() || e.recipient.empty()) return Status::Ok();
    key = StepKey{e.source, e.verification_id, 0};
    StmtUse root(
        Stmt("INSERT OR IGNORE INTO fallback_roots(source, root_id, recipient,"
             " country, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
    if (!root.get()) return SqliteError(db_, "fallback prepare root");
    BindText(root.get(), 1, key.source);
    BindText(root.get(), 2, key.root_id);
    BindText(root.get(), 3, e.recipient);
    BindText(root.get(), 4, e.country);
    sqlite3_bind_int64(root.get(), 5, now_ms);
    if (sqlite3_step(root.get()) != SQLITE_DONE) return SqliteError(db_, "fallback root");
    StmtUse step(Stmt(
        "INSERT OR IGNORE INTO fallback_steps(source, root_id, step, channel,"
        " provider, verification_id, sent_at_ms, deadline_at_ms)"
        " VALUES (?1, ?2, 0, ?3, ?4, ?2, ?5, ?6)"));
    if (!step.get()) return SqliteError(db_, "fallback prepare step");
    BindText(step.get(), 1, key.source);
    BindText(step.get(), 2, key.root_id);
    BindText(step.get(), 3, ToString(e.channel));
    BindText(step.get(), 4, e.provider);
    sqlite3_bind_int64(step.get(), 5, e.received_at_ms);
    sqlite3_bind_int64(step.get(), 6,
                       e.received_at_ms + rule->second.DeadlineFor(e.channel));
    if (sqlite3_step(step.get()) != SQLITE_DONE) return SqliteError(db_, "fallback step");
  }
  if (Status s = SetStatus(key, e.status, e.received_at_ms); !s.ok()) {
    return s;
  }
  const bool fraud =
      !e.error_code.empty() && IsFraudError(e.provider, e.error_code);
  const bool invalid =
      !e.error_code.empty() && IsInvalidNumberError(e.provider, e.error_code);
  if (fraud || invalid) {
    StmtUse st(
        Stmt("UPDATE fallback_roots SET fraud = MAX(fraud, ?3),"
             " invalid_number = MAX(invalid_number, ?4)"
             " WHERE source = ?1 AND root_id = ?2"));
    if (!st.get()) return SqliteError(db_, "fallback prepare flags");
    BindText(st.get(), 1, key.source);
    BindText(st.get(), 2, key.root_id);
    sqlite3_bind_int(st.get(), 3, fraud ? 1 : 0);
    sqlite3_bind_int(st.get(), 4, invalid ? 1 : 0);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "fallback flags");
  }
  Trigger t;
  t.kind = TriggerKind::kEvent;
  t.step = key.step;
  t.status = e.status;
  t.provider = e.provider;
  t.error_code = e.error_code;
  return Decide(key, t, "event", now_ms, notes, job_created);
}

Status FallbackSql::ScanDeadlines(int64_t now_ms, int limit,
                                  std::vector<FallbackNote>* notes,
                                  bool* job_created) {
  if (!enabled()) return Status::Ok();
  std::vector<StepKey> due;
  {
    StmtUse st(
        Stmt("SELECT source, root_id, step FROM fallback_steps"
             " WHERE deadline_checked = 0 AND deadline_at_ms > 0"
             " AND deadline_at_ms <= ?1 ORDER BY deadline_at_ms LIMIT ?2"));
    if (!st.get()) return SqliteError(db_, "fallback prepare due");
    sqlite3_bind_int64(st.get(), 1, now_ms);
    sqlite3_bind_int(st.get(), 2, limit);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      due.push_back(StepKey{ColumnText(st.get(), 0), ColumnText(st.get(), 1),
                            sqlite3_column_int(st.get(), 2)});
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "fallback due");
  }
  for (const StepKey& key : due) {
    StmtUse st(
        Stmt("UPDATE fallback_steps SET deadline_checked = 1"
             " WHERE source = ?1 AND root_id = ?2 AND step = ?3"));
    if (!st.get()) return SqliteError(db_, "fallback prepare checked");
    BindText(st.get(), 1, key.source);
    BindText(st.get(), 2, key.root_id);
    sqlite3_bind_int(st.get(), 3, key.step);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "fallback checked");
    Trigger t;
    t.kind = TriggerKind::kDeadline;
    t.step = key.step;
    if (Status s = Decide(key, t, "deadline", now_ms, notes, job_created);
        !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

Status FallbackSql::OnSendFailed(const std::string& source,
                                 const std::string& root_id, int step,
                                 bool fraud, bool invalid_number,
                                 int64_t now_ms,
                                 std::vector<FallbackNote>* notes,
                                 bool* job_created) {
  StepKey key{source, root_id, step};
  if (Status s = SetStatus(key, DeliveryStatus::kFailed, now_ms); !s.ok()) {
    return s;
  }
  if (fraud || invalid_number) {
    StmtUse st(
        Stmt("UPDATE fallback_roots SET fraud = MAX(fraud, ?3),"
             " invalid_number = MAX(invalid_number, ?4)"
             " WHERE source = ?1 AND root_id = ?2"));
    if (!st.get()) return SqliteError(db_, "fallback prepare flags");
    BindText(st.get(), 1, source);
    BindText(st.get(), 2, root_id);
    sqlite3_bind_int(st.get(), 3, fraud ? 1 : 0);
    sqlite3_bind_int(st.get(), 4, invalid_number ? 1 : 0);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "fallback flags");
  }
  Trigger t;
  t.kind = TriggerKind::kEvent;
  t.step = step;
  t.status = DeliveryStatus::kFailed;
  return Decide(key, t, "send_failed", now_ms, notes, job_created);
}

Result<RootState> FallbackSql::Load(const StepKey& key, int64_t now_ms) {
  RootState state;
  {
    StmtUse st(
        Stmt("SELECT recipient, fraud, invalid_number,"
             " EXISTS(SELECT 1 FROM opt_outs o WHERE o.recipient = r.recipient)"
             " FROM fallback_roots r WHERE source = ?1 AND root_id = ?2"));
    if (!st.get()) return SqliteError(db_, "fallback prepare load root");
    BindText(st.get(), 1, key.source);
    BindText(st.get(), 2, key.root_id);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return Status::Error("fallback: no root");
    if (rc != SQLITE_ROW) return SqliteError(db_, "fallback load root");
    state.recipient = ColumnText(st.get(), 0);
    state.fraud_flagged = sqlite3_column_int(st.get(), 1) != 0;
    state.recipient_invalid = sqlite3_column_int(st.get(), 2) != 0;
    state.opted_out = sqlite3_column_int(st.get(), 3) != 0;
  }
  {
    StmtUse st(
        Stmt("SELECT step, channel, status, deadline_at_ms FROM fallback_steps"
             " WHERE source = ?1 AND root_id = ?2 ORDER BY step"));
    if (!st.get()) return SqliteError(db_, "fallback prepare load steps");
    BindText(st.get(), 1, key.source);
    BindText(st.get(), 2, key.root_id);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      StepState s;
      s.step = sqlite3_column_int(st.get(), 0);
      s.channel =
          ParseChannel(ColumnText(st.get(), 1)).value_or(Channel::kOther);
      s.status = ParseDeliveryStatus(ColumnText(st.get(), 2))
                     .value_or(DeliveryStatus::kUnknown);
      s.deadline_at_ms = sqlite3_column_int64(st.get(), 3);
      state.steps.push_back(s);
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "fallback load steps");
  }
  {
    StmtUse st(
        Stmt("SELECT (SELECT count(*) FROM outbox WHERE recipient = ?1"
             "          AND created_at_ms > ?2),"
             "       (SELECT count(*) FROM outbox WHERE created_at_ms > ?3)"));
    if (!st.get()) return SqliteError(db_, "fallback prepare load counts");
    BindText(st.get(), 1, state.recipient);
    sqlite3_bind_int64(st.get(), 2, now_ms - kHourMs);
    sqlite3_bind_int64(st.get(), 3, now_ms - kMinuteMs);
    if (sqlite3_step(st.get()) != SQLITE_ROW) return SqliteError(db_, "fallback load counts");
    state.recipient_fallbacks_last_hour = sqlite3_column_int(st.get(), 0);
    state.fallbacks_last_minute = sqlite3_column_int(st.get(), 1);
  }
  if (state.steps.empty()) return Status::Error("fallback: root has no step");
  return state;
}

Status FallbackSql::Decide(const StepKey& key, const Trigger& trigger,
                           const char* trigger_name, int64_t now_ms,
                           std::vector<FallbackNote>* notes,
                           bool* job_created) {
  auto rule = rules_.find(key.source);
  if (rule == rules_.end()) return Status::Ok();
  Result<RootState> state = Load(key, now_ms);
  if (!state.ok()) return state.status();
  Decision d = dlrd::Decide(state.value(), trigger, now_ms, rule->second);
  if (d.result == DecisionResult::kNone && !d.wasted) return Status::Ok();
  if (Status s = Record(key, trigger_name, d, now_ms); !s.ok()) return s;
  if (notes) notes->push_back(FallbackNote{key.source, trigger_name, d});
  if (d.result != DecisionResult::kEscalate) return Status::Ok();
  return Escalate(key, d, rule->second, state.value().recipient, now_ms,
                  job_created);
}

Status FallbackSql::Record(const StepKey& key, const char* trigger,
                           const Decision& d, int64_t now_ms) {
  StmtUse st(
      Stmt("INSERT INTO fallback_decisions(source, root_id, step, trigger,"
           " from_channel, to_channel, result, reason, wasted, at_ms)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  if (!st.get()) return SqliteError(db_, "fallback prepare record");
  BindText(st.get(), 1, key.source);
  BindText(st.get(), 2, key.root_id);
  sqlite3_bind_int(st.get(), 3, key.step);
  BindText(st.get(), 4, trigger);
  BindText(st.get(), 5, ToString(d.from));
  BindText(st.get(), 6,
           d.result == DecisionResult::kEscalate ? ToString(d.to) : "");
  BindText(st.get(), 7, ResultName(d.result));
  BindText(st.get(), 8,
           d.result == DecisionResult::kSkip ? ToString(d.reason) : "");
  sqlite3_bind_int(st.get(), 9, d.wasted ? 1 : 0);
  sqlite3_bind_int64(st.get(), 10, now_ms);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "fallback record");
  if (stats_) {
    return stats_->OnDecision(key.source, key.root_id, key.step, d.from,
                              d.result == DecisionResult::kEscalate, d.wasted,
                              now_ms);
  }
  return Status::Ok();
}

Status FallbackSql::Escalate(const StepKey& key, const Decision& d,
                             const FallbackConfig& cfg,
                             const std::string& recipient, int64_t now_ms,
                             bool* job_created) {
  StmtUse job(Stmt(
      "INSERT OR IGNORE INTO outbox(source, root_id, step, provider, channel,"
      " recipient, next_attempt_at_ms, idempotency_key, created_at_ms,"
      " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?7)"));
  if (!job.get()) return SqliteError(db_, "fallback prepare job");
  BindText(job.get(), 1, key.source);
  BindText(job.get(), 2, key.root_id);
  sqlite3_bind_int(job.get(), 3, d.next_step);
  BindText(job.get(), 4, cfg.provider);
  BindText(job.get(), 5, ToString(d.to));
  BindText(job.get(), 6, recipient);
  sqlite3_bind_int64(job.get(), 7, now_ms);
  BindText(job.get(), 8,
           "dlrd-" + key.source + "-" + key.root_id + "-" +
               std::to_string(d.next_step));
  if (sqlite3_step(job.get()) != SQLITE_DONE) return SqliteError(db_, "fallback job");
  if (sqlite3_changes(db_) > 0 && job_created) *job_created = true;
  StmtUse step(Stmt(
      "INSERT OR IGNORE INTO fallback_steps(source, root_id, step, channel,"
      " provider) VALUES (?1, ?2, ?3, ?4, ?5)"));
  if (!step.get()) return SqliteError(db_, "fallback prepare next step");
  BindText(step.get(), 1, key.source);
  BindText(step.get(), 2, key.root_id);
  sqlite3_bind_int(step.get(), 3, d.next_step);
  BindText(step.get(), 4, ToString(d.to));
  BindText(step.get(), 5, cfg.provider);
  if (sqlite3_step(step.get()) != SQLITE_DONE) return SqliteError(db_, "fallback next step");
  return Status::Ok();
}

}  // namespace dlrd
