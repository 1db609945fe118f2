#include "postgres/pg_outbox.h"

#include <algorithm>
#include <utility>

#include "postgres/pg_schema.h"

namespace dlrd {
namespace {

// The job columns of a row `o` of outbox, then from_channel.
constexpr const char* kJobColumns =
    "o.id, o.source, o.root_id, o.step, o.provider, o.channel, o.recipient,"
    " o.attempts, o.idempotency_key, o.recovered, (SELECT p.channel FROM"
    " fallback_steps p WHERE p.source = o.source AND p.root_id = o.root_id"
    " AND p.step = o.step - 1)";

OutboxJob ReadJob(const PgResult& r, int i) {
  OutboxJob j;
  j.id = r.Int(i, 0);
  j.source = std::string(r.Text(i, 1));
  j.root_id = std::string(r.Text(i, 2));
  j.step = static_cast<int>(r.Int(i, 3));
  j.provider = std::string(r.Text(i, 4));
  j.channel = ParseChannel(r.Text(i, 5)).value_or(Channel::kOther);
  j.recipient = std::string(r.Text(i, 6));
  j.attempts = static_cast<int>(r.Int(i, 7));
  j.idempotency_key = std::string(r.Text(i, 8));
  j.recovered = r.Int(i, 9) != 0;
  j.from_channel = ParseChannel(r.Text(i, 10)).value_or(Channel::kOther);
  return j;
}

// A PostgreSQL array literal of ids: {1,2,3}.
std::string IdArray(const std::set<int64_t>& ids) {
  std::string out = "{";
  for (int64_t id : ids) {
    if (out.size() > 1) out += ",";
    out += std::to_string(id);
  }
  return out + "}";
}

Status Named(const Status& s, std::string_view what) {
  return Status::Error(s.code(),
                       "outbox " + std::string(what) + ": " + s.message());
}

}  // namespace

Result<std::unique_ptr<OutboxStore>> OpenPgOutbox(
    const PgTarget& target, const PgOutboxOptions& options) {
  Result<std::unique_ptr<PgOutbox>> s = PgOutbox::Open(target, options);
  if (!s.ok()) return s.status();
  return std::unique_ptr<OutboxStore>(std::move(s).value());
}

Result<PgConn> PgOutbox::Connect(const PgTarget& target) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  if (Result<PgResult> set = conn.value().Exec("SET lock_timeout = '5s'");
      !set.ok()) {
    return set.status();
  }
  return conn;
}

Result<std::unique_ptr<PgOutbox>> PgOutbox::Open(
    const PgTarget& target, const PgOutboxOptions& options) {
  Result<PgConn> conn = Connect(target);
  if (!conn.ok()) return Named(conn.status(), "connect");
  Result<int> version = PgSchemaVersion(conn.value());
  if (!version.ok()) return version.status();
  if (version.value() == 0) {
    return Status::Error(
        "outbox: the PostgreSQL database has no dlrd schema yet");
  }
  return std::unique_ptr<PgOutbox>(
      new PgOutbox(target, options, std::move(conn).value()));
}

template <typename Body>
Status PgOutbox::InTxn(const char* what, Body body) {
  if (lost_ || !conn_.connected()) {
    Result<PgConn> conn = Connect(target_);
    if (!conn.ok()) {
      return Status::Error(StatusCode::kUnavailable,
                           "outbox: reconnect: " + conn.status().message());
    }
    conn_ = std::move(conn).value();
    lost_ = false;
  }
  stats_.Clear();
  Status s = conn_.ExecScript("BEGIN");
  if (s.ok()) s = body();
  if (s.ok()) s = stats_.Flush();
  if (s.ok()) {
    Result<PgResult> c = conn_.Exec("COMMIT");
    if (c.ok() && c.value().command() == "COMMIT") return Status::Ok();
    s = c.ok() ? Status::Error("commit: the transaction was rolled back")
               : c.status();
  }
  stats_.Clear();
  if (s.code() == StatusCode::kUnavailable) {
    lost_ = true;
  } else if (Result<PgResult> rb = conn_.Exec("ROLLBACK"); !rb.ok()) {
    lost_ = true;  // left in a transaction, or gone: start afresh
  }
  return Named(s, what);
}

Result<bool> PgOutbox::Register(const Registration& r, int64_t now_ms) {
  auto rule = options_.rules.find(r.source);
  if (rule == options_.rules.end()) {
    return Result<bool>::Error("source: \"" + r.source +
                               "\" has no fallback configured");
  }
  bool created = false;
  Status s = InTxn("register", [&]() -> Status {
    Result<PgResult> root = conn_.Exec(
        "INSERT INTO fallback_roots(source, root_id, recipient, country,"
        " created_at_ms) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        {r.source, r.verification_id, r.recipient, r.country, now_ms});
    if (!root.ok()) return root.status();
    created = root.value().rows() == 1;
    // The root's lock first (the writers' lock order), then its recipient.
    Result<PgResult> lock = conn_.Exec(
        "SELECT recipient FROM fallback_roots WHERE source = $1"
        " AND root_id = $2 FOR UPDATE",
        {r.source, r.verification_id});
    if (!lock.ok()) return lock.status();
    if (lock.value().rows() != 1) return Status::Error("root vanished");
    if (lock.value().Text(0, 0) != r.recipient) {
      return Status::Error(
          "verification_id: already registered with another recipient");
    }
    // A callback may have created step 0 first (without a deadline when it
    // came from another source): the registration's clock then applies.
    Result<PgResult> step = conn_.Exec(
        "INSERT INTO fallback_steps(source, root_id, step, channel, provider,"
        " verification_id, sent_at_ms, deadline_at_ms, send_time_known)"
        " VALUES ($1, $2, 0, $3, $4, $2, $5, $6, 1)"
        " ON CONFLICT (source, root_id, step) DO UPDATE SET"
        "  sent_at_ms = excluded.sent_at_ms,"
        "  deadline_at_ms = excluded.deadline_at_ms,"
        "  send_time_known = 1"
        " WHERE fallback_steps.deadline_at_ms = 0",
        {r.source, r.verification_id, ToString(r.channel), r.provider,
         r.sent_at_ms, r.sent_at_ms + rule->second.DeadlineFor(r.channel)});
    if (!step.ok()) return step.status();
    return stats_.OnRegistered(r.source, r.verification_id, r.provider,
                               r.channel, r.recipient, r.country,
                               r.sent_at_ms);
  });
  if (!s.ok()) {
    // The recipient conflict is the caller's error, not the store's.
    if (s.message().find("another recipient") != std::string::npos) {
      return Result<bool>::Error(
          "verification_id: already registered with another recipient");
    }
    return s;
  }
  return created;
}

Status PgOutbox::ScanDeadlines(int64_t now_ms,
                               std::vector<FallbackNote>* notes) {
  if (!fallback_.enabled()) return Status::Ok();
  std::vector<FallbackNote> local;
  Status s = InTxn("deadlines", [&]() -> Status {
    local.clear();
    bool created = false;
    return fallback_.ScanDeadlines(now_ms, 256, &local, &created);
  });
  if (s.ok() && notes) notes->insert(notes->end(), local.begin(), local.end());
  return s;
}

Result<std::vector<OutboxJob>> PgOutbox::ClaimDue(int64_t now_ms, int limit) {
  std::vector<OutboxJob> jobs;
  Status s = InTxn("claim", [&]() -> Status {
    jobs.clear();
    static const std::string kClaim =
        "WITH c AS (SELECT id FROM outbox"
        "  WHERE state IN ('pending', 'retry_wait')"
        "  AND next_attempt_at_ms <= $1"
        "  ORDER BY next_attempt_at_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE outbox o SET state = 'in_flight', attempts = o.attempts + 1,"
        " updated_at_ms = $1, claimed_by = $3, lease_until_ms = $4"
        " FROM c WHERE o.id = c.id RETURNING " +
        std::string(kJobColumns) + ", o.next_attempt_at_ms";
    Result<PgResult> r =
        conn_.ExecPrepared("ob_claim", kClaim,
                           {now_ms, limit, options_.replica,
                            now_ms + options_.lease_ms});
    if (!r.ok()) return r.status();
    std::vector<std::pair<int64_t, OutboxJob>> rows;
    for (int i = 0; i < r.value().rows(); ++i) {
      rows.emplace_back(r.value().Int(i, 11), ReadJob(r.value(), i));
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
    });
    for (auto& [at, job] : rows) jobs.push_back(std::move(job));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return jobs;
}

Status PgOutbox::MarkAccepted(const OutboxJob& job, std::string_view ref,
                              int64_t now_ms) {
  auto rule = options_.rules.find(job.source);
  const int64_t deadline = rule == options_.rules.end()
                               ? 0
                               : rule->second.DeadlineFor(job.channel);
  return InTxn("accepted", [&]() -> Status {
    Result<PgResult> up = conn_.ExecPrepared(
        "ob_accepted",
        "UPDATE outbox SET state = 'accepted', provider_ref = $2,"
        " last_error = '', updated_at_ms = $3, lease_until_ms = 0"
        " WHERE id = $1 AND state = 'in_flight' AND claimed_by = $4"
        " AND attempts = $5",
        {job.id, ref, now_ms, options_.replica, job.attempts});
    if (!up.ok()) return up.status();
    if (up.value().affected() == 0) return SupersededOutcome(job, "accepted");
    Result<PgResult> step = conn_.ExecPrepared(
        "ob_step_sent",
        "UPDATE fallback_steps SET verification_id = $4, sent_at_ms = $5,"
        " send_time_known = 1, deadline_at_ms = $6,"
        " status = CASE WHEN status_rank < 2 THEN 'sent' ELSE status END,"
        " status_rank = GREATEST(status_rank, 2)"
        " WHERE source = $1 AND root_id = $2 AND step = $3",
        {job.source, job.root_id, job.step, ref, now_ms,
         deadline ? now_ms + deadline : int64_t{0}});
    return step.ok() ? Status::Ok() : step.status();
  });
}

Status PgOutbox::MarkRetry(const OutboxJob& job, int64_t next_attempt_at_ms,
                           std::string_view error, int64_t now_ms,
                           bool unknown_outcome) {
  return InTxn("retry", [&]() -> Status {
    Result<PgResult> up = conn_.ExecPrepared(
        "ob_retry",
        "UPDATE outbox SET state = 'retry_wait', next_attempt_at_ms = $2,"
        " last_error = $3, updated_at_ms = $4,"
        " recovered = GREATEST(recovered, $5), lease_until_ms = 0"
        " WHERE id = $1 AND state = 'in_flight' AND claimed_by = $6"
        " AND attempts = $7",
        {job.id, next_attempt_at_ms, error, now_ms, unknown_outcome ? 1 : 0,
         options_.replica, job.attempts});
    if (!up.ok()) return up.status();
    if (up.value().affected() == 0) return SupersededOutcome(job, "retry");
    return Status::Ok();
  });
}

Status PgOutbox::Dead(const OutboxJob& job, std::string_view error,
                      bool fraud, bool invalid_number, int64_t now_ms,
                      bool fenced, std::vector<FallbackNote>* notes) {
  // $4 NULL: not fenced.
  Result<PgResult> up = conn_.ExecPrepared(
      "ob_dead",
      "UPDATE outbox SET state = 'dead', last_error = $2, updated_at_ms = $3,"
      " lease_until_ms = 0 WHERE id = $1 AND ($4::text IS NULL OR"
      " (state = 'in_flight' AND claimed_by = $4::text AND attempts = $5))",
      {job.id, error, now_ms, fenced ? PgParam(options_.replica) : PgParam(),
       job.attempts});
  if (!up.ok()) return up.status();
  if (up.value().affected() == 0) return SupersededOutcome(job, "dead");
  bool created = false;
  return fallback_.OnSendFailed(job.source, job.root_id, job.step, fraud,
                                invalid_number, now_ms, notes, &created);
}

Status PgOutbox::MarkDead(const OutboxJob& job, std::string_view error,
                          bool fraud, bool invalid_number, int64_t now_ms,
                          std::vector<FallbackNote>* notes) {
  std::vector<FallbackNote> local;
  Status s = InTxn("dead", [&]() -> Status {
    local.clear();
    return Dead(job, error, fraud, invalid_number, now_ms, /*fenced=*/true,
                &local);
  });
  if (s.ok() && notes) notes->insert(notes->end(), local.begin(), local.end());
  return s;
}

Result<int> PgOutbox::RecoverInFlight(int64_t now_ms, int64_t lease_ms,
                                      const std::set<int64_t>& held,
                                      std::vector<FallbackNote>* notes) {
  std::vector<FallbackNote> local;
  int reclaimed = 0;
  Status s = InTxn("recover", [&]() -> Status {
    local.clear();
    reclaimed = 0;
    static const std::string kSelect =
        "SELECT " + std::string(kJobColumns) +
        " FROM outbox o WHERE o.state = 'in_flight'"
        " AND ((o.lease_until_ms > 0 AND o.lease_until_ms <= $1)"
        "  OR (o.lease_until_ms = 0 AND o.updated_at_ms <= $2))"
        " AND NOT (o.claimed_by = $3 AND o.id = ANY($4::bigint[]))"
        " ORDER BY o.id LIMIT 256 FOR UPDATE OF o SKIP LOCKED";
    Result<PgResult> r = conn_.ExecPrepared(
        "ob_expired", kSelect,
        {now_ms, now_ms - lease_ms, options_.replica, IdArray(held)});
    if (!r.ok()) return r.status();
    for (int i = 0; i < r.value().rows(); ++i) {
      const OutboxJob j = ReadJob(r.value(), i);
      ++reclaimed;
      if (j.recovered) {
        // Re-sent once already and lost again: stop sending on this channel.
        if (Status d = Dead(j, "unknown_outcome", false, false, now_ms,
                            /*fenced=*/false, &local);
            !d.ok()) {
          return d;
        }
        continue;
      }
      Result<PgResult> up = conn_.ExecPrepared(
          "ob_recover",
          "UPDATE outbox SET state = 'retry_wait', recovered = 1,"
          " next_attempt_at_ms = $2, last_error = 'unknown_outcome',"
          " updated_at_ms = $2, lease_until_ms = 0"
          " WHERE id = $1 AND state = 'in_flight'",
          {j.id, now_ms});
      if (!up.ok()) return up.status();
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (notes) notes->insert(notes->end(), local.begin(), local.end());
  return reclaimed;
}

Status PgOutbox::RecordOptOut(std::string_view recipient,
                              std::string_view source, std::string_view reason,
                              int64_t now_ms) {
  return InTxn("opt-out", [&]() -> Status {
    Result<PgResult> r = conn_.ExecPrepared(
        "ob_opt_out",
        "INSERT INTO opt_outs(recipient, source, reason, at_ms)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (recipient) DO NOTHING",
        {recipient, source, reason, now_ms});
    return r.ok() ? Status::Ok() : r.status();
  });
}

Result<OutboxDepth> PgOutbox::Depth(int64_t now_ms) {
  OutboxDepth d;
  Status s = InTxn("depth", [&]() -> Status {
    d = OutboxDepth();
    for (const char* state :
         {"pending", "in_flight", "accepted", "retry_wait", "dead"}) {
      d.by_state[state] = 0;
    }
    Result<PgResult> r =
        conn_.Exec("SELECT state, count(*) FROM outbox GROUP BY state");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r.value().rows(); ++i) {
      d.by_state[std::string(r.value().Text(i, 0))] = r.value().Int(i, 1);
    }
    Result<PgResult> old = conn_.Exec(
        "SELECT min(created_at_ms) FROM outbox"
        " WHERE state IN ('pending', 'retry_wait', 'in_flight')");
    if (!old.ok()) return old.status();
    if (old.value().rows() == 1 && !old.value().IsNull(0, 0)) {
      d.oldest_pending_age_ms =
          std::max<int64_t>(0, now_ms - old.value().Int(0, 0));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return d;
}

Result<std::vector<Decision>> PgOutbox::DecisionsSince(int64_t* after_id,
                                                       int limit) {
  std::vector<Decision> out;
  int64_t cursor = *after_id;
  std::map<int64_t, int64_t> seen = seen_;
  int64_t newest = newest_at_ms_;
  Status s = InTxn("decisions", [&]() -> Status {
    out.clear();
    cursor = *after_id;
    seen = seen_;
    newest = newest_at_ms_;
    if (cursor < 0) {
      // History is not counted: the cursor goes to the newest row, and the
      // rows of the overlap window below it count as seen.
      Result<PgResult> top = conn_.Exec(
          "SELECT coalesce(max(id), 0), coalesce(max(at_ms), -1)"
          " FROM fallback_decisions");
      if (!top.ok()) return top.status();
      cursor = top.value().Int(0, 0);
      newest = top.value().Int(0, 1);
      seen.clear();
      if (newest >= 0) {
        Result<PgResult> w = conn_.Exec(
            "SELECT id, at_ms FROM fallback_decisions"
            " WHERE at_ms >= $1 AND id <= $2",
            {newest - kDecisionOverlapMs, cursor});
        if (!w.ok()) return w.status();
        for (int i = 0; i < w.value().rows(); ++i) {
          seen[w.value().Int(i, 0)] = w.value().Int(i, 1);
        }
      }
      return Status::Ok();
    }
    std::set<int64_t> seen_ids;
    for (const auto& [id, at] : seen) seen_ids.insert(id);
    // Without a window (a cursor this object did not hand out), only the
    // rows above the cursor.
    const int64_t window_from =
        newest >= 0 ? newest - kDecisionOverlapMs : INT64_MAX;
    Result<PgResult> r = conn_.ExecPrepared(
        "ob_decisions",
        "SELECT id, from_channel, to_channel, result, reason, wasted, at_ms"
        " FROM fallback_decisions WHERE id > $1"
        " OR (id <= $1 AND at_ms >= $2 AND NOT (id = ANY($3::bigint[])))"
        " ORDER BY id LIMIT $4",
        {cursor, window_from, IdArray(seen_ids), limit});
    if (!r.ok()) return r.status();
    for (int i = 0; i < r.value().rows(); ++i) {
      const int64_t id = r.value().Int(i, 0);
      const int64_t at = r.value().Int(i, 6);
      cursor = std::max(cursor, id);
      newest = std::max(newest, at);
      seen[id] = at;
      Decision d;
      d.from = ParseChannel(r.value().Text(i, 1)).value_or(Channel::kOther);
      d.to = ParseChannel(r.value().Text(i, 2)).value_or(Channel::kOther);
      const std::string_view result = r.value().Text(i, 3);
      d.result = result == "escalate" ? DecisionResult::kEscalate
                 : result == "skip"   ? DecisionResult::kSkip
                                      : DecisionResult::kNone;
      const std::string_view reason = r.value().Text(i, 4);
      for (SkipReason sr : kAllSkipReasons) {
        if (ToString(sr) == reason) d.reason = sr;
      }
      d.wasted = r.value().Int(i, 5) != 0;
      out.push_back(d);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  // Forget ids that fell out of the window.
  for (auto it = seen.begin(); it != seen.end();) {
    it = it->second < newest - kDecisionOverlapMs ? seen.erase(it)
                                                  : std::next(it);
  }
  seen_ = std::move(seen);
  newest_at_ms_ = newest;
  *after_id = cursor;
  return out;
}

Result<std::optional<ChainView>> PgOutbox::Chain(std::string_view id) {
  using Out = std::optional<ChainView>;
  Out result;
  Status s = InTxn("chain", [&]() -> Status {
    result.reset();
    ChainView v;
    Result<PgResult> root = conn_.Exec(
        "SELECT r.source, r.root_id, r.recipient, r.country, r.fraud,"
        " r.invalid_number, r.created_at_ms,"
        " EXISTS(SELECT 1 FROM opt_outs o WHERE o.recipient = r.recipient)"
        " FROM fallback_roots r WHERE r.root_id = $1 OR EXISTS("
        "  SELECT 1 FROM fallback_steps s WHERE s.source = r.source"
        "  AND s.root_id = r.root_id AND s.verification_id = $1) LIMIT 1",
        {id});
    if (!root.ok()) return root.status();
    if (root.value().rows() == 0) return Status::Ok();
    const PgResult& rr = root.value();
    v.source = std::string(rr.Text(0, 0));
    v.root_id = std::string(rr.Text(0, 1));
    v.recipient = std::string(rr.Text(0, 2));
    v.country = std::string(rr.Text(0, 3));
    v.fraud = rr.Int(0, 4) != 0;
    v.invalid_number = rr.Int(0, 5) != 0;
    v.created_at_ms = rr.Int(0, 6);
    v.opted_out = rr.Text(0, 7) == "t";
    int best_rank = -1;
    bool failed_last = false;
    Result<PgResult> steps = conn_.Exec(
        "SELECT step, channel, provider, verification_id, status,"
        " sent_at_ms, deadline_at_ms, status_rank FROM fallback_steps"
        " WHERE source = $1 AND root_id = $2 ORDER BY step",
        {v.source, v.root_id});
    if (!steps.ok()) return steps.status();
    for (int i = 0; i < steps.value().rows(); ++i) {
      const PgResult& r = steps.value();
      ChainView::Step st;
      st.step = static_cast<int>(r.Int(i, 0));
      st.channel = std::string(r.Text(i, 1));
      st.provider = std::string(r.Text(i, 2));
      st.verification_id = std::string(r.Text(i, 3));
      st.status = std::string(r.Text(i, 4));
      st.sent_at_ms = r.Int(i, 5);
      st.deadline_at_ms = r.Int(i, 6);
      const int rank = static_cast<int>(r.Int(i, 7));
      best_rank = std::max(best_rank, rank);
      failed_last = rank == StatusRank(DeliveryStatus::kFailed);
      v.steps.push_back(std::move(st));
    }
    Result<PgResult> jobs = conn_.Exec(
        "SELECT step, channel, state, last_error, provider_ref, attempts,"
        " created_at_ms, updated_at_ms FROM outbox"
        " WHERE source = $1 AND root_id = $2 ORDER BY step",
        {v.source, v.root_id});
    if (!jobs.ok()) return jobs.status();
    for (int i = 0; i < jobs.value().rows(); ++i) {
      const PgResult& r = jobs.value();
      ChainView::Job j;
      j.step = static_cast<int>(r.Int(i, 0));
      j.channel = std::string(r.Text(i, 1));
      j.state = std::string(r.Text(i, 2));
      j.last_error = std::string(r.Text(i, 3));
      j.provider_ref = std::string(r.Text(i, 4));
      j.attempts = static_cast<int>(r.Int(i, 5));
      j.created_at_ms = r.Int(i, 6);
      j.updated_at_ms = r.Int(i, 7);
      v.jobs.push_back(std::move(j));
    }
    Result<PgResult> decisions = conn_.Exec(
        "SELECT step, trigger, from_channel, to_channel, result, reason,"
        " wasted, at_ms FROM fallback_decisions"
        " WHERE source = $1 AND root_id = $2 ORDER BY id",
        {v.source, v.root_id});
    if (!decisions.ok()) return decisions.status();
    for (int i = 0; i < decisions.value().rows(); ++i) {
      const PgResult& r = decisions.value();
      ChainView::DecisionRow d;
      d.step = static_cast<int>(r.Int(i, 0));
      d.trigger = std::string(r.Text(i, 1));
      d.from = std::string(r.Text(i, 2));
      d.to = std::string(r.Text(i, 3));
      d.result = std::string(r.Text(i, 4));
      d.reason = std::string(r.Text(i, 5));
      d.wasted = r.Int(i, 6) != 0;
      d.at_ms = r.Int(i, 7);
      v.decisions.push_back(std::move(d));
    }
    Result<PgResult> events = conn_.Exec(
        "SELECT e.verification_id, e.channel, e.status, e.raw_status,"
        " e.error_code, e.received_at_ms FROM delivery_events e"
        " JOIN fallback_steps s ON s.verification_id = e.verification_id"
        "  AND s.provider = e.provider"
        " WHERE s.source = $1 AND s.root_id = $2 AND s.verification_id <> ''"
        " ORDER BY e.id",
        {v.source, v.root_id});
    if (!events.ok()) return events.status();
    for (int i = 0; i < events.value().rows(); ++i) {
      const PgResult& r = events.value();
      ChainView::Event e;
      e.verification_id = std::string(r.Text(i, 0));
      e.channel = std::string(r.Text(i, 1));
      e.status = std::string(r.Text(i, 2));
      e.raw_status = std::string(r.Text(i, 3));
      e.error_code = std::string(r.Text(i, 4));
      e.received_at_ms = r.Int(i, 5);
      v.events.push_back(std::move(e));
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
    result = std::move(v);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

}  // namespace dlrd
