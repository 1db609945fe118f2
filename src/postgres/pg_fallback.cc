#include "postgres/pg_fallback.h"

#include <memory>
#include <utility>

#include "dlrd/core/stats/stats.h"
#include "dlrd/postgres/pg_fallback.h"
#include "postgres/pg_hook_context.h"

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

constexpr const char* kOptOut =
    "INSERT INTO opt_outs(recipient, source, reason, at_ms)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (recipient) DO NOTHING";
constexpr const char* kFindStep =
    "SELECT source, root_id, step FROM fallback_steps"
    " WHERE provider = $1 AND verification_id = $2 LIMIT 1";
constexpr const char* kInsertRoot =
    "INSERT INTO fallback_roots(source, root_id, recipient, country,"
    " created_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
constexpr const char* kInsertStep0 =
    "INSERT INTO fallback_steps(source, root_id, step, channel, provider,"
    " verification_id, sent_at_ms, deadline_at_ms)"
    " VALUES ($1, $2, 0, $3, $4, $2, $5, $6) ON CONFLICT DO NOTHING";
constexpr const char* kLockRoot =
    "SELECT 1 FROM fallback_roots WHERE source = $1 AND root_id = $2"
    " FOR UPDATE";
constexpr const char* kStepRank =
    "SELECT status_rank FROM fallback_steps"
    " WHERE source = $1 AND root_id = $2 AND step = $3";
constexpr const char* kSetStatus =
    "UPDATE fallback_steps SET status = $1, status_rank = $2"
    " WHERE source = $3 AND root_id = $4 AND step = $5 AND status_rank < $2";
constexpr const char* kSetFlags =
    "UPDATE fallback_roots SET fraud = GREATEST(fraud, $3),"
    " invalid_number = GREATEST(invalid_number, $4)"
    " WHERE source = $1 AND root_id = $2";
// Root and step locked together, skipping chains another transaction
// holds (it is deciding on them; the next scan sees what it left).
constexpr const char* kDueSteps =
    "SELECT s.source, s.root_id, s.step FROM fallback_steps s"
    " JOIN fallback_roots r ON r.source = s.source AND r.root_id = s.root_id"
    " WHERE s.deadline_checked = 0 AND s.deadline_at_ms > 0"
    " AND s.deadline_at_ms <= $1 ORDER BY s.deadline_at_ms LIMIT $2"
    " FOR UPDATE OF r, s SKIP LOCKED";
constexpr const char* kMarkChecked =
    "UPDATE fallback_steps SET deadline_checked = 1"
    " WHERE source = $1 AND root_id = $2 AND step = $3"
    " AND deadline_checked = 0";
constexpr const char* kLoadRoot =
    "SELECT recipient, fraud, invalid_number,"
    " EXISTS(SELECT 1 FROM opt_outs o WHERE o.recipient = r.recipient)"
    " FROM fallback_roots r WHERE source = $1 AND root_id = $2";
constexpr const char* kLoadSteps =
    "SELECT step, channel, status, deadline_at_ms FROM fallback_steps"
    " WHERE source = $1 AND root_id = $2 ORDER BY step";
constexpr const char* kLoadCounts =
    "SELECT (SELECT count(*) FROM outbox WHERE recipient = $1"
    "          AND created_at_ms > $2),"
    "       (SELECT count(*) FROM outbox WHERE created_at_ms > $3)";
constexpr const char* kRecord =
    "INSERT INTO fallback_decisions(source, root_id, step, trigger,"
    " from_channel, to_channel, result, reason, wasted, at_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
constexpr const char* kInsertJob =
    "INSERT INTO outbox(source, root_id, step, provider, channel,"
    " recipient, next_attempt_at_ms, idempotency_key, created_at_ms,"
    " updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $7)"
    " ON CONFLICT (source, root_id, step) DO NOTHING RETURNING id";
constexpr const char* kInsertNextStep =
    "INSERT INTO fallback_steps(source, root_id, step, channel, provider)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

// Fallback decisions for new events of sources with fallback, in the
// event's transaction (under its submission's savepoint).
class PgFallbackHook final : public BatchHook {
 public:
  explicit PgFallbackHook(std::unique_ptr<PgFallback> fallback)
      : fallback_(std::move(fallback)) {}
  Status OnEvent(const DeliveryEvent& e, int64_t received_at_ms,
                 SubmissionResult& out) override {
    return fallback_->OnEvent(e, received_at_ms, nullptr, &out.job_created);
  }
  void OnSubmissionEnd(bool kept, SubmissionResult& out) override {
    if (!kept) out.job_created = false;
  }
  Status OnBeforeCommit() override { return Status::Ok(); }
  void OnRollback() override {}

 private:
  std::unique_ptr<PgFallback> fallback_;
};

}  // namespace

PgHookFactory MakePgFallbackHook(FallbackRules rules) {
  return [rules = std::move(rules)](
             PgHookContext& ctx) -> Result<std::unique_ptr<BatchHook>> {
    return std::unique_ptr<BatchHook>(std::make_unique<PgFallbackHook>(
        std::make_unique<PgFallback>(ctx.conn, rules, ctx.stats)));
  };
}

Result<bool> PgFallback::LockRoot(const StepKey& key) {
  Result<PgResult> r =
      conn_->ExecPrepared("fb_lock_root", kLockRoot, {key.source, key.root_id});
  if (!r.ok()) return r.status();
  return r.value().rows() == 1;
}

Status PgFallback::SetStatus(const StepKey& key, DeliveryStatus s,
                             int64_t at_ms) {
  Result<PgResult> old = conn_->ExecPrepared(
      "fb_step_rank", kStepRank, {key.source, key.root_id, key.step});
  if (!old.ok()) return old.status();
  const int64_t old_rank = old.value().rows() == 1 ? old.value().Int(0, 0) : 0;
  Result<PgResult> up = conn_->ExecPrepared(
      "fb_set_status", kSetStatus,
      {ToString(s), StatusRank(s), key.source, key.root_id, key.step});
  if (!up.ok()) return up.status();
  constexpr int kDelivered = 4;
  if (stats_ && old_rank < kDelivered && StatusRank(s) >= kDelivered) {
    return stats_->OnStepDelivered(key.source, key.root_id, key.step, at_ms);
  }
  return Status::Ok();
}

Status PgFallback::SetFlags(const StepKey& key, bool fraud, bool invalid) {
  Result<PgResult> r = conn_->ExecPrepared(
      "fb_set_flags", kSetFlags,
      {key.source, key.root_id, fraud ? 1 : 0, invalid ? 1 : 0});
  return r.ok() ? Status::Ok() : r.status();
}

Status PgFallback::OnEvent(const DeliveryEvent& e, int64_t now_ms,
                           std::vector<FallbackNote>* notes,
                           bool* job_created) {
  if (!enabled()) return Status::Ok();
  if (!e.recipient.empty() && !e.error_code.empty() &&
      IsOptOutError(e.provider, e.error_code)) {
    Result<PgResult> r = conn_->ExecPrepared(
        "fb_opt_out", kOptOut,
        {e.recipient, e.source, e.provider + " error " + e.error_code, now_ms});
    if (!r.ok()) return r.status();
  }
  if (e.verification_id.empty()) return Status::Ok();

  StepKey key;
  Result<PgResult> found = conn_->ExecPrepared(
      "fb_find_step", kFindStep, {e.provider, e.verification_id});
  if (!found.ok()) return found.status();
  if (found.value().rows() == 1) {
    key.source = std::string(found.value().Text(0, 0));
    key.root_id = std::string(found.value().Text(0, 1));
    key.step = static_cast<int>(found.value().Int(0, 2));
  } else {
    // The first callback of an OTP the app did not register: it becomes a
    // root when its source has fallback and the callback names the number.
    auto rule = rules_.find(e.source);
    if (rule == rules_.end() || e.recipient.empty()) return Status::Ok();
    key = StepKey{e.source, e.verification_id, 0};
    // Waits for a replica creating the same root, then inserts nothing.
    Result<PgResult> root = conn_->ExecPrepared(
        "fb_insert_root", kInsertRoot,
        {key.source, key.root_id, e.recipient, e.country, now_ms});
    if (!root.ok()) return root.status();
  }
  Result<bool> locked = LockRoot(key);
  if (!locked.ok()) return locked.status();
  if (!locked.value()) return Status::Ok();  // pruned meanwhile: finished
  if (found.value().rows() == 0) {
    auto rule = rules_.find(e.source);
    Result<PgResult> step = conn_->ExecPrepared(
        "fb_insert_step0", kInsertStep0,
        {key.source, key.root_id, ToString(e.channel), e.provider,
         e.received_at_ms,
         e.received_at_ms + rule->second.DeadlineFor(e.channel)});
    if (!step.ok()) return step.status();
  }
  if (Status s = SetStatus(key, e.status, e.received_at_ms); !s.ok()) {
    return s;
  }
  const bool fraud =
      !e.error_code.empty() && IsFraudError(e.provider, e.error_code);
  const bool invalid =
      !e.error_code.empty() && IsInvalidNumberError(e.provider, e.error_code);
  if (fraud || invalid) {
    if (Status s = SetFlags(key, fraud, invalid); !s.ok()) return s;
  }
  Trigger t;
  t.kind = TriggerKind::kEvent;
  t.step = key.step;
  t.status = e.status;
  t.provider = e.provider;
  t.error_code = e.error_code;
  return Decide(key, t, "event", now_ms, notes, job_created);
}

Status PgFallback::ScanDeadlines(int64_t now_ms, int limit,
                                 std::vector<FallbackNote>* notes,
                                 bool* job_created) {
  if (!enabled()) return Status::Ok();
  Result<PgResult> due =
      conn_->ExecPrepared("fb_due_steps", kDueSteps, {now_ms, limit});
  if (!due.ok()) return due.status();
  for (int i = 0; i < due.value().rows(); ++i) {
    StepKey key{std::string(due.value().Text(i, 0)),
                std::string(due.value().Text(i, 1)),
                static_cast<int>(due.value().Int(i, 2))};
    Result<PgResult> checked = conn_->ExecPrepared(
        "fb_mark_checked", kMarkChecked, {key.source, key.root_id, key.step});
    if (!checked.ok()) return checked.status();
    if (checked.value().affected() == 0) continue;  // decided meanwhile
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

Status PgFallback::OnSendFailed(const std::string& source,
                                const std::string& root_id, int step,
                                bool fraud, bool invalid_number,
                                int64_t now_ms,
                                std::vector<FallbackNote>* notes,
                                bool* job_created) {
  StepKey key{source, root_id, step};
  Result<bool> locked = LockRoot(key);
  if (!locked.ok()) return locked.status();
  if (!locked.value()) return Status::Ok();  // pruned: finished
  if (Status s = SetStatus(key, DeliveryStatus::kFailed, now_ms); !s.ok()) {
    return s;
  }
  if (fraud || invalid_number) {
    if (Status s = SetFlags(key, fraud, invalid_number); !s.ok()) return s;
  }
  Trigger t;
  t.kind = TriggerKind::kEvent;
  t.step = step;
  t.status = DeliveryStatus::kFailed;
  return Decide(key, t, "send_failed", now_ms, notes, job_created);
}

Result<RootState> PgFallback::Load(const StepKey& key, int64_t now_ms) {
  RootState state;
  Result<PgResult> root =
      conn_->ExecPrepared("fb_load_root", kLoadRoot, {key.source, key.root_id});
  if (!root.ok()) return root.status();
  if (root.value().rows() != 1) return Status::Error("fallback: no root");
  state.recipient = std::string(root.value().Text(0, 0));
  state.fraud_flagged = root.value().Int(0, 1) != 0;
  state.recipient_invalid = root.value().Int(0, 2) != 0;
  state.opted_out = root.value().Text(0, 3) == "t";
  Result<PgResult> steps = conn_->ExecPrepared("fb_load_steps", kLoadSteps,
                                               {key.source, key.root_id});
  if (!steps.ok()) return steps.status();
  for (int i = 0; i < steps.value().rows(); ++i) {
    StepState s;
    s.step = static_cast<int>(steps.value().Int(i, 0));
    s.channel = ParseChannel(steps.value().Text(i, 1)).value_or(Channel::kOther);
    s.status = ParseDeliveryStatus(steps.value().Text(i, 2))
                   .value_or(DeliveryStatus::kUnknown);
    s.deadline_at_ms = steps.value().Int(i, 3);
    state.steps.push_back(s);
  }
  Result<PgResult> counts = conn_->ExecPrepared(
      "fb_load_counts", kLoadCounts,
      {state.recipient, now_ms - kHourMs, now_ms - kMinuteMs});
  if (!counts.ok()) return counts.status();
  state.recipient_fallbacks_last_hour =
      static_cast<int>(counts.value().Int(0, 0));
  state.fallbacks_last_minute = static_cast<int>(counts.value().Int(0, 1));
  if (state.steps.empty()) return Status::Error("fallback: root has no step");
  return state;
}

Status PgFallback::Decide(const StepKey& key, const Trigger& trigger,
                          const char* trigger_name, int64_t now_ms,
                          std::vector<FallbackNote>* notes,
                          bool* job_created) {
  auto rule = rules_.find(key.source);
  if (rule == rules_.end()) return Status::Ok();
  // Every caller holds the root's lock already; taking it here too keeps
  // the rule local (a lock held is taken again at no cost).
  Result<bool> locked = LockRoot(key);
  if (!locked.ok()) return locked.status();
  if (!locked.value()) return Status::Ok();
  Result<RootState> state = Load(key, now_ms);
  if (!state.ok()) return state.status();
  Decision d = dlrd::Decide(state.value(), trigger, now_ms, rule->second);
  if (d.result == DecisionResult::kNone && !d.wasted) return Status::Ok();
  if (d.result == DecisionResult::kEscalate) {
    Result<bool> created = Escalate(key, d, rule->second,
                                    state.value().recipient, now_ms);
    if (!created.ok()) return created.status();
    if (!created.value()) return Status::Ok();  // already decided
    if (job_created) *job_created = true;
  }
  if (Status s = Record(key, trigger_name, d, now_ms); !s.ok()) return s;
  if (notes) notes->push_back(FallbackNote{key.source, trigger_name, d});
  return Status::Ok();
}

Status PgFallback::Record(const StepKey& key, const char* trigger,
                          const Decision& d, int64_t now_ms) {
  Result<PgResult> r = conn_->ExecPrepared(
      "fb_record", kRecord,
      {key.source, key.root_id, key.step, trigger, ToString(d.from),
       d.result == DecisionResult::kEscalate ? ToString(d.to) : "",
       ResultName(d.result),
       d.result == DecisionResult::kSkip ? ToString(d.reason) : "",
       d.wasted ? 1 : 0, now_ms});
  if (!r.ok()) return r.status();
  if (stats_) {
    return stats_->OnDecision(key.source, key.root_id, key.step, d.from,
                              d.result == DecisionResult::kEscalate, d.wasted,
                              now_ms);
  }
  return Status::Ok();
}

Result<bool> PgFallback::Escalate(const StepKey& key, const Decision& d,
                                  const FallbackConfig& cfg,
                                  const std::string& recipient,
                                  int64_t now_ms) {
  Result<PgResult> job = conn_->ExecPrepared(
      "fb_insert_job", kInsertJob,
      {key.source, key.root_id, d.next_step, cfg.provider, ToString(d.to),
       recipient, now_ms,
       "dlrd-" + key.source + "-" + key.root_id + "-" +
           std::to_string(d.next_step)});
  if (!job.ok()) return job.status();
  if (job.value().rows() == 0) return false;
  Result<PgResult> step = conn_->ExecPrepared(
      "fb_insert_next_step", kInsertNextStep,
      {key.source, key.root_id, d.next_step, ToString(d.to), cfg.provider});
  if (!step.ok()) return step.status();
  return true;
}

}  // namespace dlrd
