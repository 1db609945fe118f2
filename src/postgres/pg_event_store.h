// PgEventStore: the EventStore on PostgreSQL (private; built by
// OpenPgEventStore, include/dlrd/postgres/pg_event_store.h).
//
// One transaction per CommitBatch, 2xx only after COMMIT (synchronous_commit
// = on, set by PgConn::Connect). PostgreSQL aborts the whole transaction on
// any error, so every submission is written under its own SAVEPOINT: a
// failing one is rolled back to it alone and the rest commits. There is no
// savepoint-free fast path as in SQLite: there a savepoint copies pages,
// here it is one extra round trip per submission ("RELEASE SAVEPOINT s;
// SAVEPOINT s" in one message) beside the five or so a submission makes
// anyway, and without savepoints one bad submission would cost the whole
// batch a second run. Measured on the test server (6,368 one-event
// submissions, 32 per batch, alternating runs on a loaded 2-core host):
// 660..990 us per submission with savepoints, 890..1,270 without, i.e. no
// difference above the noise.
//
// Dedupe across replicas: a key already stored, or in dedupe_keys (its
// event was pruned), is a duplicate and writes nothing (like SQLite, a
// request made only of duplicates leaves no raw request). A key another
// replica is storing at this moment is caught by `INSERT ... ON CONFLICT
// (source, dedupe_key) DO NOTHING RETURNING id`, which waits for that
// transaction and then reports the duplicate; if that leaves a request
// with no new event, its savepoint is rolled back so it leaves nothing
// either.
//
// Lock order: two replicas writing batches that touch the same
// verifications must not wait on each other in a cycle. A batch first
// takes a transaction advisory lock per verification it touches, all of
// them, keys ascending, in the statement that begins it (no extra round
// trip; the key is a 64-bit hash of source and verification_id). Whatever
// else a submission locks (its dedupe keys' index entries, the
// verification row, the chain's root) belongs to a verification the batch
// already holds; the rollups are flushed in key order at the end; the
// quarantine totals and signature-count rows, which no verification
// covers, are written first (WriteOrder). Before this order the replica
// test saw 9 deadlocked batches in 6 runs of 900 overlapping events, after
// it 0 in 8 (and 0 in 16 with an earlier per-submission variant). One advisory lock per verification and batch: the cost is
// in the README's PostgreSQL benchmark rows.
//
// Errors: a submission failing with kConstraint or kError is rolled back
// alone; any other class (kUnavailable, kBusy: a deadlock or lock timeout,
// kFull) fails the whole batch with that code (503; the provider or nginx
// retries). A lost connection
// (kUnavailable, at any statement, COMMIT included: its outcome is then
// unknown and dedupe absorbs the provider's retry) drops the connection:
// available() turns false and the store reconnects, with an exponential
// backoff (100 ms doubling to 5 s between attempts), when the writer calls
// Reconnect() or CommitBatch. A BEGIN that finds the connection gone is
// retried once on a fresh connection at once: nothing was sent yet, so an
// idle connection the server dropped costs no 503.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "dlrd/core/ports/batch_hook.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/postgres/pg_event_store.h"
#include "postgres/pg_conn.h"
#include "postgres/pg_hook_context.h"
#include "postgres/pg_stats.h"

namespace dlrd {

class PgEventStore final : public EventStore {
 public:
  static Result<std::unique_ptr<PgEventStore>> Open(
      const PgTarget& target, const PgStoreOptions& options);

  BatchResult CommitBatch(const std::vector<const Submission*>& batch) override;
  bool available() const override {
    return available_.load(std::memory_order_acquire);
  }
  int64_t Reconnect() override;

  static constexpr int64_t kFirstBackoffMs = 100;
  static constexpr int64_t kMaxBackoffMs = 5000;

 private:
  using Clock = std::chrono::steady_clock;
  PgEventStore(PgTarget target, const QuarantineLimits& limits)
      : target_(std::move(target)), limits_(limits) {}

  BatchResult Commit(const std::vector<const Submission*>& batch,
                     bool* retry_begin);
  // Writes one submission; `undo`: nothing of it must stay (every event
  // turned out to be a duplicate), roll its savepoint back.
  Status WriteSubmission(const Submission& sub, SubmissionResult& out,
                         bool* undo);
  Result<bool> KeyIsKnown(const DeliveryEvent& e);
  Result<bool> AddQuarantined(const QuarantinedRequest& q);
  // Ends a failed batch: rolls back (or drops a lost connection) and
  // fails `result` with `why`.
  void Abort(BatchResult& result, const Status& why);
  void ForgetBatch();
  // The connection is gone: close it, mark unavailable, schedule attempts.
  void Drop();

  PgTarget target_;
  QuarantineLimits limits_;
  PgConn conn_;
  PgStats stats_{&conn_, /*deferred=*/true};
  PgHookContext context_{&conn_, &stats_};
  std::vector<std::unique_ptr<BatchHook>> hooks_;
  std::atomic<bool> available_{true};
  // Reconnect attempts: the next one not before next_attempt_; the wait
  // after a failed one (0: none failed since the loss).
  Clock::time_point next_attempt_{};
  int64_t backoff_ms_ = 0;
};

}  // namespace dlrd
