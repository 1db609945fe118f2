// IngestQueue: the bounded queue in front of the single store writer, with
// group commit.
//
// Design: HTTP handlers Submit() a request's events with a completion. One
// writer thread takes everything queued (up to max_batch submissions), hands
// it to EventStore::CommitBatch() as one transaction, and only then runs each
// completion. No batching timer is needed: while one transaction is syncing,
// new submissions pile up and ride the next one, so the batch size grows with
// load and one fsync is shared by the whole batch (docs/reliability.md §2.3).
//
// Invariants:
// - A completion reports `committed` only after the transaction holding that
//   submission committed. Every accepted Submit() gets exactly one
//   completion, including across Stop() (which commits what is queued).
// - Submit() never blocks: a full queue returns kFull at once.
// - After a fatal store error (disk full, I/O error, corruption) the queue
//   refuses new work (kClosed), fails what is queued, and calls on_fatal
//   once; the daemon then exits non-zero and restarts (docs/reliability.md §2.5).
//
// Thread-safety: Submit(), depth() and Stop() may be called from any thread.
// Completions run on the writer thread and must not block.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/ports/event_store.h"

namespace dlrd {

class Metrics;

struct IngestQueueOptions {
  size_t capacity = 8192;
  size_t max_batch = 512;
};

struct CommitOutcome {
  bool committed = false;
  StatusCode error = StatusCode::kOk;
  std::vector<bool> inserted;  // per event, valid iff committed
  // Per Submission::quarantine entry (stored, or dropped at a cap); valid
  // iff committed.
  std::vector<bool> quarantined;
};

class IngestQueue {
 public:
  // Receives the submission back (still owned by the queue) and its outcome.
  using Completion =
      std::function<void(const Submission&, const CommitOutcome&)>;
  using FatalHandler = std::function<void(const Status&)>;
  enum class SubmitResult { kQueued, kFull, kClosed };

  // `metrics` may be null (tests). `store` must outlive the queue.
  IngestQueue(EventStore& store, IngestQueueOptions options, Metrics* metrics,
              FatalHandler on_fatal);
  ~IngestQueue();  // Stop()
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;

  // Called on the writer thread after a commit that wrote an outbox job
  // (the fallback dispatcher wakes up). Set before Start().
  void OnJobCreated(std::function<void()> f) { on_job_ = std::move(f); }
  // Where the writer reports an exception (set before Start(); may stay
  // null). A write that throws fails its own request (503) and the writer
  // goes on with the next batch.
  void SetInternalErrors(InternalErrors* errors) { errors_ = errors; }
  void Start();
  // On kQueued the queue owns both arguments; otherwise neither is touched.
  SubmitResult Submit(Submission&& submission, Completion&& done);
  // Refuses new work, commits everything already queued, joins the writer.
  // Idempotent.
  void Stop();
  size_t depth() const;
  size_t capacity() const { return options_.capacity; }
  // False once a fatal store error happened, and while the store is not
  // available (a lost PostgreSQL connection; the writer reconnects).
  bool healthy() const;

 private:
  struct Item {
    Submission submission;
    Completion done;
  };
  void Run();
  void CommitOne(std::vector<Item>& batch);
  void FailAll(std::vector<Item>& batch, StatusCode kind);

  EventStore& store_;
  const IngestQueueOptions options_;
  Metrics* metrics_;
  std::function<void()> on_job_;
  FatalHandler on_fatal_;
  InternalErrors* errors_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool closed_ = false;
  bool failed_ = false;
  std::mutex stop_mu_;  // serializes the join in Stop()
  std::thread writer_;
};

}  // namespace dlrd
