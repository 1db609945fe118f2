#include "postgres/pg_event_store.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/dedupe_key.h"
#include "postgres/pg_schema.h"

namespace dlrd {
namespace {

constexpr const char* kKnownKey =
    "SELECT EXISTS (SELECT 1 FROM delivery_events"
    "  WHERE source = $1 AND dedupe_key = $2)"
    " OR EXISTS (SELECT 1 FROM dedupe_keys WHERE key_hash = $3)";
constexpr const char* kInsertRaw =
    "INSERT INTO raw_requests(source, received_at_ms, target, head, body)"
    " VALUES ($1, $2, $3, $4, $5) RETURNING id";
// A STOP keeps its first reason; a START lifts only an opt-out the
// recipient sent through the same provider (as in SQLite).
constexpr const char* kOptOut =
    "INSERT INTO opt_outs(recipient, source, reason, at_ms)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (recipient) DO NOTHING";
constexpr const char* kOptIn =
    "DELETE FROM opt_outs WHERE recipient = $1 AND reason = $2";
// RETURNING nothing: a duplicate, possibly one another replica committed
// while this statement waited for it.
constexpr const char* kInsertEvent =
    "INSERT INTO delivery_events(source, provider, dedupe_key,"
    " verification_id, message_id, channel, status, raw_status, error_code,"
    " latency_ms, recipient, country, received_at_ms, raw_request_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    " ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id";
// The caps' totals, locked until COMMIT: a replica adding at the same time
// waits here and then sees this one's row counted (kept by the triggers).
constexpr const char* kLockQuarantineTotals =
    "SELECT rows, bytes FROM quarantine_totals WHERE id = 1 FOR UPDATE";
constexpr const char* kInsertQuarantine =
    "INSERT INTO quarantine(source, received_at_ms, reason, head, body)"
    " VALUES ($1, $2, $3, $4, $5)";

// Rollup changes per event, deferred and flushed once before COMMIT.
class PgStatsHook final : public BatchHook {
 public:
  explicit PgStatsHook(PgStats* stats) : stats_(stats) {}
  Status OnEvent(const DeliveryEvent& e, int64_t, SubmissionResult&) override {
    return stats_->OnEvent(e);
  }
  void OnSubmissionEnd(bool kept, SubmissionResult&) override {
    if (!kept) stats_->DropPending();
    stats_->KeepPending();
  }
  Status OnBeforeCommit() override { return stats_->Flush(); }
  void OnRollback() override { stats_->Clear(); }

 private:
  PgStats* stats_;
};

// The order a batch's submissions are written in (pg_event_store.h, "Lock
// order"): quarantine-only submissions, then counts-only ones (the rows
// they lock are behind no verification's lock), then the rest. Stable, so
// the first of two equal keys in the batch is still the one stored.
std::vector<size_t> WriteOrder(const std::vector<const Submission*>& batch) {
  auto rank = [&](size_t i) {
    const Submission& s = *batch[i];
    if (!s.quarantine.empty()) return 0;
    return s.signature_failures.empty() ? 2 : 1;
  };
  std::vector<size_t> order(batch.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank(a) < rank(b); });
  return order;
}

// "SELECT pg_advisory_xact_lock(k1), pg_advisory_xact_lock(k2), ..." over
// every verification the batch touches, keys ascending (a one-row SELECT
// evaluates its list left to right); empty without events. Each key is a
// 64-bit FNV-1a of source NUL verification_id, the same on every replica;
// integer literals, so nothing is spliced.
std::string VerificationLocks(const std::vector<const Submission*>& batch) {
  std::vector<int64_t> keys;
  for (const Submission* sub : batch) {
    for (const DeliveryEvent& e : sub->events) {
      uint64_t h = 14695981039346656037ull;
      auto mix = [&h](std::string_view bytes) {
        for (unsigned char c : bytes) {
          h ^= c;
          h *= 1099511628211ull;
        }
      };
      mix(e.source);
      mix(std::string_view("\0", 1));
      mix(e.verification_id);
      keys.push_back(static_cast<int64_t>(h));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::string sql;
  for (int64_t k : keys) {
    sql += sql.empty() ? "SELECT " : ", ";
    sql += "pg_advisory_xact_lock(" + std::to_string(k) + ")";
  }
  return sql;
}

// A submission's failure that does not concern it alone.
bool FailsWholeBatch(StatusCode c) {
  return c != StatusCode::kConstraint && c != StatusCode::kError;
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenPgEventStore(
    const PgTarget& target, const PgStoreOptions& options) {
  Result<std::unique_ptr<PgEventStore>> s = PgEventStore::Open(target, options);
  if (!s.ok()) return s.status();
  return std::unique_ptr<EventStore>(std::move(s).value());
}

Result<std::unique_ptr<PgEventStore>> PgEventStore::Open(
    const PgTarget& target, const PgStoreOptions& options) {
  Result<PgConn> conn =
      PgConn::Connect(target.uri, target.password, target.application_name);
  if (!conn.ok()) return conn.status();
  if (Result<int> v = PgMigrate(conn.value()); !v.ok()) return v.status();
  std::unique_ptr<PgEventStore> store(
      new PgEventStore(target, options.quarantine));
  store->conn_ = std::move(conn).value();
  store->hooks_.push_back(std::make_unique<PgStatsHook>(&store->stats_));
  for (const PgHookFactory& make : options.hooks) {
    Result<std::unique_ptr<BatchHook>> h = make(store->context_);
    if (!h.ok()) return h.status();
    store->hooks_.push_back(std::move(h).value());
  }
  return store;
}

void PgEventStore::Drop() {
  conn_ = PgConn();
  available_.store(false, std::memory_order_release);
  // The first attempt may follow at once; backoff_ms_ grows only with
  // failed attempts.
  backoff_ms_ = 0;
  next_attempt_ = Clock::now();
}

int64_t PgEventStore::Reconnect() {
  if (conn_.connected()) return 0;
  const Clock::time_point now = Clock::now();
  if (now < next_attempt_) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(next_attempt_ - now);
    return std::max<int64_t>(1, left.count());
  }
  Result<PgConn> c =
      PgConn::Connect(target_.uri, target_.password, target_.application_name);
  if (!c.ok()) {
    conn_ = PgConn();
    available_.store(false, std::memory_order_release);
    backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs
                                   : std::min(backoff_ms_ * 2, kMaxBackoffMs);
    next_attempt_ = Clock::now() + std::chrono::milliseconds(backoff_ms_);
    return backoff_ms_;
  }
  conn_ = std::move(c).value();
  backoff_ms_ = 0;
  available_.store(true, std::memory_order_release);
  return 0;
}

void PgEventStore::ForgetBatch() {
  for (const auto& hook : hooks_) hook->OnRollback();
}

void PgEventStore::Abort(BatchResult& result, const Status& why) {
  ForgetBatch();
  std::string msg = why.message();
  if (why.code() == StatusCode::kUnavailable) {
    Drop();  // the server rolls back a transaction whose session is gone
  } else if (Result<PgResult> rb = conn_.Exec("ROLLBACK"); !rb.ok()) {
    msg += "; rollback: " + rb.status().message();
    // Left in a transaction, or gone: a fresh connection is the safe state.
    Drop();
  }
  result.status = Status::Error(why.code(), std::move(msg));
}

Result<bool> PgEventStore::KeyIsKnown(const DeliveryEvent& e) {
  const std::optional<std::string> hash = DedupeKeyHash(e.source, e.dedupe_key);
  if (!hash) return Status::Error("dedupe key hash failed");
  Result<PgResult> r = conn_.ExecPrepared(
      "known_key", kKnownKey, {e.source, e.dedupe_key, PgParam::Bytes(*hash)});
  if (!r.ok()) return r.status();
  return r.value().rows() == 1 && r.value().Text(0, 0) == "t";
}

Result<bool> PgEventStore::AddQuarantined(const QuarantinedRequest& q) {
  Result<PgResult> totals =
      conn_.ExecPrepared("quarantine_totals", kLockQuarantineTotals, {});
  if (!totals.ok()) return totals.status();
  if (totals.value().rows() != 1) {
    return Status::Error("quarantine_totals has no row");
  }
  const int64_t size = static_cast<int64_t>(q.head.size() + q.body.size());
  if (totals.value().Int(0, 0) + 1 > limits_.max_rows ||
      totals.value().Int(0, 1) + size > limits_.max_bytes) {
    return false;  // the newest is dropped; the oldest stay
  }
  Result<PgResult> ins =
      conn_.ExecPrepared("quarantine_insert", kInsertQuarantine,
                         {q.source, q.received_at_ms, q.reason,
                          PgParam::Bytes(q.head), PgParam::Bytes(q.body)});
  if (!ins.ok()) return ins.status();
  return true;
}

Status PgEventStore::WriteSubmission(const Submission& sub,
                                     SubmissionResult& out, bool* undo) {
  *undo = false;
  if (!sub.signature_failures.empty()) {
    for (const SignatureFailureCount& c : sub.signature_failures) {
      Status s =
          stats_.AddSignatureFailures(c.hour_ms, c.source, c.provider, c.count);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
  if (!sub.quarantine.empty()) {
    for (const QuarantinedRequest& q : sub.quarantine) {
      Result<bool> stored = AddQuarantined(q);
      if (!stored.ok()) return stored.status();
      out.quarantined.push_back(stored.value());
    }
    return Status::Ok();
  }
  // Keys first: a request made only of duplicates writes nothing at all.
  out.inserted.assign(sub.events.size(), false);
  std::vector<bool> known(sub.events.size(), false);
  bool any_new = false;
  for (size_t i = 0; i < sub.events.size(); ++i) {
    Result<bool> k = KeyIsKnown(sub.events[i]);
    if (!k.ok()) return k.status();
    known[i] = k.value();
    any_new = any_new || !known[i];
  }
  if (!any_new && !sub.events.empty()) return Status::Ok();

  Result<PgResult> raw = conn_.ExecPrepared(
      "insert_raw", kInsertRaw,
      {sub.raw.source, sub.raw.received_at_ms, sub.raw.target,
       PgParam::Bytes(sub.raw.head), PgParam::Bytes(sub.raw.body)});
  if (!raw.ok()) return raw.status();
  if (raw.value().rows() != 1) return Status::Error("insert raw: no id");
  const int64_t raw_id = raw.value().Int(0, 0);

  for (const OptChange& c : sub.opt_changes) {
    Result<PgResult> r =
        c.opt_out
            ? conn_.ExecPrepared("opt_out", kOptOut,
                                 {c.recipient, sub.raw.source, c.reason,
                                  sub.raw.received_at_ms})
            : conn_.ExecPrepared("opt_in", kOptIn, {c.recipient, c.lifts});
    if (!r.ok()) return r.status();
  }

  bool stored_any = false;
  for (size_t i = 0; i < sub.events.size(); ++i) {
    if (known[i]) continue;
    const DeliveryEvent& e = sub.events[i];
    Result<PgResult> r = conn_.ExecPrepared(
        "insert_event", kInsertEvent,
        {e.source, e.provider, e.dedupe_key, e.verification_id, e.message_id,
         ToString(e.channel), ToString(e.status), e.raw_status, e.error_code,
         PgParam::Optional(e.latency_ms), e.recipient, e.country,
         e.received_at_ms, raw_id});
    if (!r.ok()) return r.status();
    if (r.value().rows() == 0) continue;  // duplicate
    out.inserted[i] = true;
    stored_any = true;
    for (const auto& hook : hooks_) {
      if (Status hs = hook->OnEvent(e, sub.raw.received_at_ms, out); !hs.ok()) {
        return hs;
      }
    }
  }
  // Every new-looking key was stored meanwhile by another replica: leave
  // nothing, as if the duplicates had been seen up front.
  *undo = !sub.events.empty() && !stored_any;
  return Status::Ok();
}

BatchResult PgEventStore::CommitBatch(
    const std::vector<const Submission*>& batch) {
  if (!conn_.connected() && Reconnect() != 0) {
    BatchResult result;
    result.submissions.resize(batch.size());
    result.status = Status::Error(StatusCode::kUnavailable,
                                  "PostgreSQL unavailable: reconnecting");
    return result;
  }
  bool retry_begin = false;
  BatchResult result = Commit(batch, &retry_begin);
  if (retry_begin && Reconnect() == 0) {
    retry_begin = false;
    result = Commit(batch, &retry_begin);
  }
  return result;
}

BatchResult PgEventStore::Commit(const std::vector<const Submission*>& batch,
                                 bool* retry_begin) {
  BatchResult result;
  result.submissions.resize(batch.size());
  ForgetBatch();
  // The verifications' locks first, all of them, in key order: the same
  // order on every replica (pg_event_store.h, "Lock order").
  const std::string locks = VerificationLocks(batch);
  if (Status s = conn_.ExecScript(
          locks.empty() ? "BEGIN; SAVEPOINT sub"
                        : "BEGIN; " + locks + "; SAVEPOINT sub");
      !s.ok()) {
    // Nothing of the batch was sent: safe to try once more at once.
    *retry_begin = s.code() == StatusCode::kUnavailable;
    Abort(result, Status::Error(s.code(), "begin: " + s.message()));
    return result;
  }
  const std::vector<size_t> order = WriteOrder(batch);
  try {
    for (size_t n = 0; n < order.size(); ++n) {
      const size_t i = order[n];
      if (n > 0) {
        if (Status s = conn_.ExecScript("RELEASE SAVEPOINT sub; SAVEPOINT sub");
            !s.ok()) {
          Abort(result, Status::Error(s.code(), "savepoint: " + s.message()));
          return result;
        }
      }
      SubmissionResult& out = result.submissions[i];
      bool undo = false;
      try {
        out.status = WriteSubmission(*batch[i], out, &undo);
      } catch (...) {
        // Never leave the transaction half-written: rolled back to the
        // savepoint below, like any failed submission.
        out.status = Status::Error("internal error while writing");
        out.internal_error = true;
      }
      if (!out.status.ok() && !out.internal_error &&
          FailsWholeBatch(out.status.code())) {
        Abort(result, out.status);
        return result;
      }
      const bool kept = out.status.ok() && !undo;
      if (!kept) {
        if (Status rb = conn_.ExecScript("ROLLBACK TO SAVEPOINT sub");
            !rb.ok()) {
          // The failed submission could not be undone alone: nothing in
          // this batch commits.
          Abort(result, Status::Error(rb.code(), "rollback to savepoint: " +
                                                     rb.message()));
          return result;
        }
        out.inserted.assign(out.inserted.size(), false);
        if (!out.status.ok()) {
          out.quarantined.assign(out.quarantined.size(), false);
        }
      }
      for (const auto& hook : hooks_) hook->OnSubmissionEnd(kept, out);
    }
    // The hooks' last writes (the rollups, each row once), then COMMIT.
    for (const auto& hook : hooks_) {
      if (Status s = hook->OnBeforeCommit(); !s.ok()) {
        Abort(result, s);
        return result;
      }
    }
  } catch (...) {
    // A throw outside a submission (the rollup merge allocates): never
    // leave the transaction open. The writer's barrier answers 503.
    ForgetBatch();
    if (!conn_.Exec("ROLLBACK").ok()) Drop();
    throw;
  }
  ForgetBatch();
  Result<PgResult> c = conn_.Exec("COMMIT");
  if (!c.ok()) {
    // Unavailable: the outcome is unknown (a 503; the retry is deduped).
    const Status s = c.status();
    if (s.code() == StatusCode::kUnavailable) {
      Drop();
    } else if (!conn_.Exec("ROLLBACK").ok()) {
      Drop();
    }
    result.status = Status::Error(s.code(), "commit: " + s.message());
    return result;
  }
  if (c.value().command() != "COMMIT") {
    result.status = Status::Error("commit: the transaction was rolled back (" +
                                  std::string(c.value().command()) + ")");
  }
  return result;
}

}  // namespace dlrd
