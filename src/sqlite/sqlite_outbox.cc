#include "dlrd/sqlite/sqlite_outbox.h"

#include <utility>

#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

OutboxJob ReadJob(sqlite3_stmt* s) {
  OutboxJob j;
  j.id = sqlite3_column_int64(s, 0);
  j.source = ColumnText(s, 1);
  j.root_id = ColumnText(s, 2);
  j.step = sqlite3_column_int(s, 3);
  j.provider = ColumnText(s, 4);
  j.channel = ParseChannel(ColumnText(s, 5)).value_or(Channel::kOther);
  j.recipient = ColumnText(s, 6);
  j.attempts = sqlite3_column_int(s, 7);
  j.idempotency_key = ColumnText(s, 8);
  j.recovered = sqlite3_column_int(s, 9) != 0;
  j.from_channel = ParseChannel(ColumnText(s, 10)).value_or(Channel::kOther);
  return j;
}

// The fence of an outcome (OutboxStore::MarkAccepted): the job is still
// the claim that made this attempt. ?9 is the attempt's number.
constexpr int kFenceAttempts = 9;

constexpr const char* kJobColumns =
    "id, source, root_id, step, provider, channel, recipient, attempts,"
    " idempotency_key, recovered, (SELECT p.channel FROM fallback_steps p"
    " WHERE p.source = outbox.source AND p.root_id = outbox.root_id"
    " AND p.step = outbox.step - 1)";

}  // namespace

SqliteOutbox::SqliteOutbox(SqliteDb db, FallbackRules rules)
    : db_(std::move(db)),
      stats_(db_.get()),
      fallback_(db_.get(), std::move(rules), &stats_),
      cache_(db_.get()) {}

Result<std::unique_ptr<SqliteOutbox>> SqliteOutbox::Open(
    const std::string& path, const SqliteOptions& options) {
  // The outbox role: synchronous=FULL (sqlite_db.cc).
  Result<SqliteDb> db = OpenSqlite(path, SqliteRole::kOutbox,
                                   options.busy_timeout_ms, options.vfs);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteOutbox>(
      new SqliteOutbox(std::move(db).value(), options.fallback));
}

Status SqliteOutbox::Exec(const char* sql) {
  Status s = SqliteExec(db_.get(), sql);
  if (!s.ok()) return Status::Error(std::string(sql) + ": " + s.message());
  return s;
}

sqlite3_stmt* SqliteOutbox::Stmt(const char* sql) { return cache_.Get(sql); }

template <typename Body>
Status SqliteOutbox::InTransaction(Body body) {
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Status s = body();
  if (s.ok()) {
    s = Exec("COMMIT");
    if (s.ok()) return s;
  }
  // A ROLLBACK that fails too is reported with the first error.
  if (Status rb = SqliteRollback(db_.get()); !rb.ok()) {
    return Status::Error(s.code(), s.message() + "; ROLLBACK: " + rb.message());
  }
  return s;
}

Result<bool> SqliteOutbox::Register(const Registration& r, int64_t now_ms) {
  auto rule = fallback_.rules().find(r.source);
  if (rule == fallback_.rules().end()) {
    return Result<bool>::Error("source: \"" + r.source +
                               "\" has no fallback configured");
  }
  bool created = false;
  Status s = InTransaction([&]() -> Status {
    {
      StmtUse st(
          Stmt("SELECT recipient FROM fallback_roots"
               " WHERE source = ?1 AND root_id = ?2"));
      if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
      BindText(st.get(), 1, r.source);
      BindText(st.get(), 2, r.verification_id);
      int rc = sqlite3_step(st.get());
      if (rc == SQLITE_ROW) {
        if (ColumnText(st.get(), 0) != r.recipient) {
          return Status::Error(
              "verification_id: already registered with another recipient");
        }
      } else if (rc != SQLITE_DONE) {
        return SqliteError(db_.get(), "outbox find root");
      }
    }
    StmtUse root(
        Stmt("INSERT OR IGNORE INTO fallback_roots(source, root_id, recipient,"
             " country, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
    if (!root.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(root.get(), 1, r.source);
    BindText(root.get(), 2, r.verification_id);
    BindText(root.get(), 3, r.recipient);
    BindText(root.get(), 4, r.country);
    sqlite3_bind_int64(root.get(), 5, now_ms);
    if (sqlite3_step(root.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox root");
    created = sqlite3_changes(db_.get()) > 0;
    // A callback may have created step 0 first (without a deadline when it
    // came from another source): the registration's clock then applies.
    StmtUse step(Stmt(
        "INSERT INTO fallback_steps(source, root_id, step, channel, provider,"
        " verification_id, sent_at_ms, deadline_at_ms, send_time_known)"
        " VALUES (?1, ?2, 0, ?3, ?4, ?2, ?5, ?6, 1)"
        " ON CONFLICT(source, root_id, step) DO UPDATE SET"
        "  sent_at_ms = excluded.sent_at_ms,"
        "  deadline_at_ms = excluded.deadline_at_ms,"
        "  send_time_known = 1"
        " WHERE deadline_at_ms = 0"));
    if (!step.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(step.get(), 1, r.source);
    BindText(step.get(), 2, r.verification_id);
    BindText(step.get(), 3, ToString(r.channel));
    BindText(step.get(), 4, r.provider);
    sqlite3_bind_int64(step.get(), 5, r.sent_at_ms);
    sqlite3_bind_int64(step.get(), 6,
                       r.sent_at_ms + rule->second.DeadlineFor(r.channel));
    if (sqlite3_step(step.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox step");
    return stats_.OnRegistered(r.source, r.verification_id, r.provider,
                               r.channel, r.recipient, r.country, r.sent_at_ms);
  });
  if (!s.ok()) return s;
  return created;
}

Status SqliteOutbox::ScanDeadlines(int64_t now_ms,
                                   std::vector<FallbackNote>* notes) {
  if (!fallback_.enabled()) return Status::Ok();
  // Cheap check first: no write transaction when nothing is due.
  {
    StmtUse st(
        Stmt("SELECT 1 FROM fallback_steps WHERE deadline_checked = 0"
             " AND deadline_at_ms > 0 AND deadline_at_ms <= ?1"
             " LIMIT 1"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    sqlite3_bind_int64(st.get(), 1, now_ms);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteError(db_.get(), "outbox due");
  }
  std::vector<FallbackNote> local;
  Status s = InTransaction([&]() -> Status {
    bool created = false;
    return fallback_.ScanDeadlines(now_ms, 256, &local, &created);
  });
  if (s.ok() && notes) notes->insert(notes->end(), local.begin(), local.end());
  return s;
}

Result<std::vector<OutboxJob>> SqliteOutbox::ClaimDue(int64_t now_ms,
                                                      int limit) {
  std::vector<OutboxJob> jobs;
  Status s = InTransaction([&]() -> Status {
    static const std::string kSelect =
        std::string("SELECT ") + kJobColumns +
        " FROM outbox WHERE state IN ('pending', 'retry_wait')"
        " AND next_attempt_at_ms <= ?1 ORDER BY next_attempt_at_ms LIMIT ?2";
    StmtUse st(Stmt(kSelect.c_str()));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    sqlite3_bind_int64(st.get(), 1, now_ms);
    sqlite3_bind_int(st.get(), 2, limit);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      jobs.push_back(ReadJob(st.get()));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox claim");
    for (OutboxJob& j : jobs) {
      StmtUse up(
          Stmt("UPDATE outbox SET state = 'in_flight',"
               " attempts = attempts + 1, updated_at_ms = ?2"
               " WHERE id = ?1"));
      if (!up.get()) return SqliteError(db_.get(), "outbox prepare");
      sqlite3_bind_int64(up.get(), 1, j.id);
      sqlite3_bind_int64(up.get(), 2, now_ms);
      if (sqlite3_step(up.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox in_flight");
      ++j.attempts;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return jobs;
}

Status SqliteOutbox::MarkAccepted(const OutboxJob& job, std::string_view ref,
                                  int64_t now_ms) {
  auto rule = fallback_.rules().find(job.source);
  const int64_t deadline = rule == fallback_.rules().end()
                               ? 0
                               : rule->second.DeadlineFor(job.channel);
  return InTransaction([&]() -> Status {
    StmtUse st(
        Stmt("UPDATE outbox SET state = 'accepted', provider_ref = ?2,"
             " last_error = '', updated_at_ms = ?3"
             " WHERE id = ?1 AND state = 'in_flight' AND attempts = ?9"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    sqlite3_bind_int64(st.get(), 1, job.id);
    BindText(st.get(), 2, ref);
    sqlite3_bind_int64(st.get(), 3, now_ms);
    sqlite3_bind_int(st.get(), kFenceAttempts, job.attempts);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox accepted");
    if (sqlite3_changes(db_.get()) == 0) return SupersededOutcome(job, "accepted");
    StmtUse step(
        Stmt("UPDATE fallback_steps SET verification_id = ?4, sent_at_ms = ?5,"
             " send_time_known = 1,"
             " deadline_at_ms = ?6, status = CASE WHEN status_rank < 2"
             " THEN 'sent' ELSE status END, status_rank = MAX(status_rank, 2)"
             " WHERE source = ?1 AND root_id = ?2 AND step = ?3"));
    if (!step.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(step.get(), 1, job.source);
    BindText(step.get(), 2, job.root_id);
    sqlite3_bind_int(step.get(), 3, job.step);
    BindText(step.get(), 4, ref);
    sqlite3_bind_int64(step.get(), 5, now_ms);
    sqlite3_bind_int64(step.get(), 6, deadline ? now_ms + deadline : 0);
    if (sqlite3_step(step.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox step sent");
    return Status::Ok();
  });
}

Status SqliteOutbox::MarkRetry(const OutboxJob& job, int64_t next_attempt_at_ms,
                               std::string_view error, int64_t now_ms,
                               bool unknown_outcome) {
  return InTransaction([&]() -> Status {
    StmtUse st(
        Stmt("UPDATE outbox SET state = 'retry_wait',"
             " next_attempt_at_ms = ?2, last_error = ?3,"
             " updated_at_ms = ?4, recovered = MAX(recovered, ?5)"
             " WHERE id = ?1 AND state = 'in_flight' AND attempts = ?9"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    sqlite3_bind_int64(st.get(), 1, job.id);
    sqlite3_bind_int64(st.get(), 2, next_attempt_at_ms);
    BindText(st.get(), 3, error);
    sqlite3_bind_int64(st.get(), 4, now_ms);
    sqlite3_bind_int(st.get(), 5, unknown_outcome ? 1 : 0);
    sqlite3_bind_int(st.get(), kFenceAttempts, job.attempts);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox retry");
    if (sqlite3_changes(db_.get()) == 0) return SupersededOutcome(job, "retry");
    return Status::Ok();
  });
}

Status SqliteOutbox::MarkDead(const OutboxJob& job, std::string_view error,
                              bool fraud, bool invalid_number, int64_t now_ms,
                              std::vector<FallbackNote>* notes) {
  std::vector<FallbackNote> local;
  Status s = InTransaction([&]() -> Status {
    StmtUse st(
        Stmt("UPDATE outbox SET state = 'dead', last_error = ?2,"
             " updated_at_ms = ?3"
             " WHERE id = ?1 AND state = 'in_flight' AND attempts = ?9"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    sqlite3_bind_int64(st.get(), 1, job.id);
    BindText(st.get(), 2, error);
    sqlite3_bind_int64(st.get(), 3, now_ms);
    sqlite3_bind_int(st.get(), kFenceAttempts, job.attempts);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox dead");
    if (sqlite3_changes(db_.get()) == 0) return SupersededOutcome(job, "dead");
    bool created = false;
    return fallback_.OnSendFailed(job.source, job.root_id, job.step, fraud,
                                  invalid_number, now_ms, &local, &created);
  });
  if (s.ok() && notes) notes->insert(notes->end(), local.begin(), local.end());
  return s;
}

Result<int> SqliteOutbox::RecoverInFlight(int64_t now_ms, int64_t lease_ms,
                                          const std::set<int64_t>& held,
                                          std::vector<FallbackNote>* notes) {
  std::vector<OutboxJob> jobs;
  {
    // updated_at_ms of an in_flight job is its claim time (ClaimDue).
    static const std::string kSelect =
        std::string("SELECT ") + kJobColumns +
        " FROM outbox WHERE state = 'in_flight' AND updated_at_ms <= ?1";
    StmtUse st(Stmt(kSelect.c_str()));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    sqlite3_bind_int64(st.get(), 1, now_ms - lease_ms);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      OutboxJob j = ReadJob(st.get());
      if (held.count(j.id) == 0) jobs.push_back(std::move(j));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox in_flight");
  }
  for (const OutboxJob& j : jobs) {
    if (j.recovered) {
      // Re-sent once already and lost again: stop sending on this channel.
      if (Status s =
              MarkDead(j, "unknown_outcome", false, false, now_ms, notes);
          !s.ok()) {
        return s;
      }
      continue;
    }
    Status s = InTransaction([&]() -> Status {
      StmtUse st(
          Stmt("UPDATE outbox SET state = 'retry_wait', recovered = 1,"
               " next_attempt_at_ms = ?2, last_error = 'unknown_outcome',"
               " updated_at_ms = ?2 WHERE id = ?1 AND state = 'in_flight'"));
      if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
      sqlite3_bind_int64(st.get(), 1, j.id);
      sqlite3_bind_int64(st.get(), 2, now_ms);
      if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox recover");
      return Status::Ok();
    });
    if (!s.ok()) return s;
  }
  return static_cast<int>(jobs.size());
}

Status SqliteOutbox::RecordOptOut(std::string_view recipient,
                                  std::string_view source,
                                  std::string_view reason, int64_t now_ms) {
  return InTransaction([&]() -> Status {
    StmtUse st(
        Stmt("INSERT OR IGNORE INTO opt_outs(recipient, source, reason, at_ms)"
             " VALUES (?1, ?2, ?3, ?4)"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(st.get(), 1, recipient);
    BindText(st.get(), 2, source);
    BindText(st.get(), 3, reason);
    sqlite3_bind_int64(st.get(), 4, now_ms);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_.get(), "outbox opt-out");
    return Status::Ok();
  });
}

Result<OutboxDepth> SqliteOutbox::Depth(int64_t now_ms) {
  OutboxDepth d;
  for (const char* state :
       {"pending", "in_flight", "accepted", "retry_wait", "dead"}) {
    d.by_state[state] = 0;
  }
  StmtUse st(Stmt("SELECT state, count(*) FROM outbox GROUP BY state"));
  if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    d.by_state[ColumnText(st.get(), 0)] = sqlite3_column_int64(st.get(), 1);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox depth");
  StmtUse old(
      Stmt("SELECT min(created_at_ms) FROM outbox"
           " WHERE state IN ('pending', 'retry_wait', 'in_flight')"));
  if (!old.get()) return SqliteError(db_.get(), "outbox prepare");
  if (sqlite3_step(old.get()) == SQLITE_ROW &&
      sqlite3_column_type(old.get(), 0) != SQLITE_NULL) {
    d.oldest_pending_age_ms = now_ms - sqlite3_column_int64(old.get(), 0);
    if (d.oldest_pending_age_ms < 0) d.oldest_pending_age_ms = 0;
  }
  return d;
}

Result<std::vector<Decision>> SqliteOutbox::DecisionsSince(int64_t* after_id,
                                                           int limit) {
  std::vector<Decision> out;
  if (*after_id < 0) {
    StmtUse st(Stmt("SELECT coalesce(max(id), 0) FROM fallback_decisions"));
    if (!st.get() || sqlite3_step(st.get()) != SQLITE_ROW) {
      return SqliteError(db_.get(), "outbox decisions");
    }
    *after_id = sqlite3_column_int64(st.get(), 0);
    return out;
  }
  StmtUse st(
      Stmt("SELECT id, from_channel, to_channel, result, reason, wasted"
           " FROM fallback_decisions WHERE id > ?1 ORDER BY id LIMIT ?2"));
  if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
  sqlite3_bind_int64(st.get(), 1, *after_id);
  sqlite3_bind_int(st.get(), 2, limit);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    *after_id = sqlite3_column_int64(st.get(), 0);
    Decision d;
    d.from = ParseChannel(ColumnText(st.get(), 1)).value_or(Channel::kOther);
    d.to = ParseChannel(ColumnText(st.get(), 2)).value_or(Channel::kOther);
    const std::string result = ColumnText(st.get(), 3);
    d.result = result == "escalate" ? DecisionResult::kEscalate
               : result == "skip"   ? DecisionResult::kSkip
                                    : DecisionResult::kNone;
    const std::string reason = ColumnText(st.get(), 4);
    for (SkipReason r : kAllSkipReasons) {
      if (ToString(r) == reason) d.reason = r;
    }
    d.wasted = sqlite3_column_int(st.get(), 5) != 0;
    out.push_back(d);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox decisions");
  return out;
}

Result<std::optional<ChainView>> SqliteOutbox::Chain(std::string_view id) {
  using Out = std::optional<ChainView>;
  ChainView v;
  {
    StmtUse st(Stmt(
        "SELECT r.source, r.root_id, r.recipient, r.country, r.fraud,"
        " r.invalid_number, r.created_at_ms,"
        " EXISTS(SELECT 1 FROM opt_outs o WHERE o.recipient = r.recipient)"
        " FROM fallback_roots r WHERE r.root_id = ?1 OR EXISTS("
        "  SELECT 1 FROM fallback_steps s WHERE s.source = r.source"
        "  AND s.root_id = r.root_id AND s.verification_id = ?1) LIMIT 1"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(st.get(), 1, id);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return Out();
    if (rc != SQLITE_ROW) return SqliteError(db_.get(), "outbox chain root");
    v.source = ColumnText(st.get(), 0);
    v.root_id = ColumnText(st.get(), 1);
    v.recipient = ColumnText(st.get(), 2);
    v.country = ColumnText(st.get(), 3);
    v.fraud = sqlite3_column_int(st.get(), 4) != 0;
    v.invalid_number = sqlite3_column_int(st.get(), 5) != 0;
    v.created_at_ms = sqlite3_column_int64(st.get(), 6);
    v.opted_out = sqlite3_column_int(st.get(), 7) != 0;
  }
  int best_rank = -1;
  bool failed_last = false;
  {
    StmtUse st(
        Stmt("SELECT step, channel, provider, verification_id, status,"
             " sent_at_ms, deadline_at_ms, status_rank FROM fallback_steps"
             " WHERE source = ?1 AND root_id = ?2 ORDER BY step"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(st.get(), 1, v.source);
    BindText(st.get(), 2, v.root_id);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      ChainView::Step s;
      s.step = sqlite3_column_int(st.get(), 0);
      s.channel = ColumnText(st.get(), 1);
      s.provider = ColumnText(st.get(), 2);
      s.verification_id = ColumnText(st.get(), 3);
      s.status = ColumnText(st.get(), 4);
      s.sent_at_ms = sqlite3_column_int64(st.get(), 5);
      s.deadline_at_ms = sqlite3_column_int64(st.get(), 6);
      const int rank = sqlite3_column_int(st.get(), 7);
      if (rank > best_rank) best_rank = rank;
      failed_last = rank == StatusRank(DeliveryStatus::kFailed);
      v.steps.push_back(std::move(s));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox chain steps");
  }
  {
    StmtUse st(
        Stmt("SELECT step, channel, state, last_error, provider_ref, attempts,"
             " created_at_ms, updated_at_ms FROM outbox"
             " WHERE source = ?1 AND root_id = ?2 ORDER BY step"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(st.get(), 1, v.source);
    BindText(st.get(), 2, v.root_id);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      ChainView::Job j;
      j.step = sqlite3_column_int(st.get(), 0);
      j.channel = ColumnText(st.get(), 1);
      j.state = ColumnText(st.get(), 2);
      j.last_error = ColumnText(st.get(), 3);
      j.provider_ref = ColumnText(st.get(), 4);
      j.attempts = sqlite3_column_int(st.get(), 5);
      j.created_at_ms = sqlite3_column_int64(st.get(), 6);
      j.updated_at_ms = sqlite3_column_int64(st.get(), 7);
      v.jobs.push_back(std::move(j));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox chain jobs");
  }
  {
    StmtUse st(
        Stmt("SELECT step, trigger, from_channel, to_channel, result, reason,"
             " wasted, at_ms FROM fallback_decisions"
             " WHERE source = ?1 AND root_id = ?2 ORDER BY id"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(st.get(), 1, v.source);
    BindText(st.get(), 2, v.root_id);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      ChainView::DecisionRow d;
      d.step = sqlite3_column_int(st.get(), 0);
      d.trigger = ColumnText(st.get(), 1);
      d.from = ColumnText(st.get(), 2);
      d.to = ColumnText(st.get(), 3);
      d.result = ColumnText(st.get(), 4);
      d.reason = ColumnText(st.get(), 5);
      d.wasted = sqlite3_column_int(st.get(), 6) != 0;
      d.at_ms = sqlite3_column_int64(st.get(), 7);
      v.decisions.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox chain decisions");
  }
  {
    StmtUse st(Stmt(
        "SELECT e.verification_id, e.channel, e.status, e.raw_status,"
        " e.error_code, e.received_at_ms FROM delivery_events e"
        " JOIN fallback_steps s ON s.verification_id = e.verification_id"
        "  AND s.provider = e.provider"
        " WHERE s.source = ?1 AND s.root_id = ?2 AND s.verification_id <> ''"
        " ORDER BY e.id"));
    if (!st.get()) return SqliteError(db_.get(), "outbox prepare");
    BindText(st.get(), 1, v.source);
    BindText(st.get(), 2, v.root_id);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      ChainView::Event e;
      e.verification_id = ColumnText(st.get(), 0);
      e.channel = ColumnText(st.get(), 1);
      e.status = ColumnText(st.get(), 2);
      e.raw_status = ColumnText(st.get(), 3);
      e.error_code = ColumnText(st.get(), 4);
      e.received_at_ms = sqlite3_column_int64(st.get(), 5);
      v.events.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "outbox chain events");
  }
  if (best_rank >= StatusRank(DeliveryStatus::kVerified)) {
    v.outcome = "verified";
  } else if (best_rank >= StatusRank(DeliveryStatus::kDelivered)) {
    v.outcome = "delivered";
  } else if (failed_last && v.jobs.size() + 1 >= v.steps.size()) {
    v.outcome = "failed";
  } else {
    v.outcome = "pending";
  }
  return Out(std::move(v));
}

}  // namespace dlrd
