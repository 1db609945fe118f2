// Dispatcher: drives the outbox. One thread owns the OutboxStore; every
// poll it decides expired deadlines, claims due jobs (committed in_flight
// BEFORE the HTTP call), sends them through the provider's SendAdapter and
// the OutboundClient, and records each outcome:
//
//   accepted              -> accepted; the step's clock starts
//   invalid number        -> dead, root flagged (no retry, no fallback)
//   fraud                 -> dead, root flagged (no retry, no fallback)
//   other 4xx             -> dead, next channel
//   429                   -> retry at max(Retry-After, backoff)
//   5xx, timeout, reset,  -> capped exponential backoff with full jitter,
//   connect/TLS failure      up to outbox.max_attempts, then next channel
//   circuit open          -> dead, next channel (no request made)
//
// Duplicate bound: a timeout or reset AFTER the request was written is an
// unknown outcome. A provider without an idempotency key gets at most one
// such re-send per job; the next unknown outcome escalates instead.
//
// Held jobs: a claimed job is "held" from its claim until its outcome is
// committed. When that write fails (e.g. SQLITE_BUSY) the outcome is kept
// and the write retried on this thread with capped backoff (poll_ms
// doubling up to kMaxWriteBackoffMs), between other work, until it
// commits or the dispatcher stops; each failure logs
// `outbox_store_failed ... failures=N retrying=true`, and the eventual
// success `outbox_write_recovered`. This dispatcher never re-sends the job
// meanwhile. Another replica may: if the write is still failing when the
// lease runs out, the job is reclaimed there (unknown outcome). Outcomes
// are fenced to their claim (OutboxStore::MarkAccepted), so the late write
// then answers kSuperseded and is dropped (`outbox_outcome_superseded`)
// rather than sending the job a third time or escalating its channel.
//
// Lease: a job left in_flight and not held here (a crash, or a shutdown
// whose grace ran out) is reclaimed as an unknown outcome by
// OutboxStore::RecoverInFlight once outbox.in_flight_lease_ms has passed
// since its claim: at Start() and on every poll.
//
// Shutdown: BeginDrain() stops claiming; Drain() then waits, up to a
// deadline, until no job is held (every send answered and its outcome
// committed); Stop() ends the thread. Stop the OutboundClient only after
// Drain(): a send it aborts stays in_flight and is reclaimed (lease) at the
// next start, with the unknown-outcome rule above.
//
// Registration and chain reads for the admin API run on the same thread
// (Post), so the store connection has one owner. Never blocks the ingest
// path: the ingest writer has its own connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/clock.h"
#include "dlrd/core/fallback/circuit_breaker.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/fallback_metrics.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/ports/outbound_client.h"
#include "dlrd/core/outbound/send_adapter.h"
#include "dlrd/core/ports/outbox_store.h"

namespace dlrd {

using SendAdapters = std::map<std::string, std::unique_ptr<SendAdapter>>;

class Dispatcher {
 public:
  // All references must outlive the dispatcher. `metrics` and `log` may be
  // null (tests).
  Dispatcher(OutboxStore& store, OutboundClient& client,
             const SendAdapters& adapters,
             const std::map<std::string, ProviderConfig>& providers,
             const OutboxConfig& config, const Clock& clock,
             FallbackMetrics* metrics, Logger* log, uint64_t seed);
  ~Dispatcher();

  // Reclaims in_flight jobs whose lease ran out, then polls every
  // outbox.poll_ms.
  void Start();
  // Claims no more jobs (thread-safe, returns at once). Sends in progress
  // and held outcomes still complete.
  void BeginDrain();
  // BeginDrain(), then waits until no job is held or `deadline` passes.
  // True when drained. REQUIRES: not called on the dispatcher thread.
  bool Drain(std::chrono::steady_clock::time_point deadline);
  // Stops the thread; tasks still queued (late results) are dropped, and
  // their jobs stay in_flight until their lease runs out.
  void Stop();

  // Runs `task` on the dispatcher thread (or inline in RunOnce mode).
  void Post(std::function<void()> task);
  // Polls now instead of at the next tick: a job was just committed (the
  // ingest writer calls this), so its send does not wait up to poll_ms.
  void Wake();
  // Where the dispatcher thread reports a task or poll that threw (set
  // before Start(); may stay null). The thread goes on with the next one.
  void SetInternalErrors(InternalErrors* errors) { errors_ = errors; }

  // Without Start(): recovery is explicit, and RunOnce() does one poll and
  // runs every posted task (tests with a fake clock and client).
  void Recover();
  void RunOnce();
  int in_flight() const { return in_flight_; }
  // Jobs claimed and not yet recorded (dispatcher thread, or tests).
  size_t held() const { return held_.size(); }

 private:
  void Loop();
  void Poll();
  void SendJob(const OutboxJob& job);
  void OnResult(const OutboxJob& job, int64_t started_ms, ClientResult r);
  void Retry(const OutboxJob& job, SendErrorClass c, int64_t retry_after_ms,
             const std::string& detail, int64_t now_ms,
             bool unknown_outcome = false);
  void Dead(const OutboxJob& job, const std::string& error, bool fraud,
            bool invalid, int64_t now_ms);
  void Note(const std::vector<FallbackNote>& notes);
  // `failures` > 0: a held job's outcome write, kept and retried.
  void StoreFailed(const char* what, const Status& s, int failures = 0);
  // Commits a held job's outcome with `write`; on success runs `then` and
  // releases the job, else keeps both for RetryWrites().
  void Record(int64_t job_id, const char* what, std::function<Status()> write,
              std::function<void()> then);
  void RetryWrites(int64_t now_ms);
  void Release(int64_t job_id);
  // A fenced outcome found the job taken over (kSuperseded): logged and
  // released, never retried.
  void Superseded(int64_t job_id, const Status& s);
  void Reclaim(int64_t now_ms);
  CircuitBreaker& Breaker(const std::string& provider, Channel c);
  void RunTasks();

  OutboxStore& store_;
  OutboundClient& client_;
  const SendAdapters& adapters_;
  const std::map<std::string, ProviderConfig>& providers_;
  OutboxConfig config_;
  const Clock& clock_;
  FallbackMetrics* metrics_;
  Logger* log_;
  std::mt19937_64 rng_;
  std::map<std::pair<std::string, Channel>, CircuitBreaker> breakers_;
  int in_flight_ = 0;  // dispatcher thread only
  // An outcome whose write failed, retried with backoff. Thread only.
  struct PendingWrite {
    int64_t job_id = 0;
    const char* what = "";
    std::function<Status()> write;
    std::function<void()> then;
    int failures = 0;
    int64_t next_try_ms = 0;
  };
  std::deque<PendingWrite> pending_writes_;
  std::set<int64_t> held_;  // claimed, outcome not yet committed; thread only
  int64_t decisions_seen_ = -1;  // fallback_decisions row counted last

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::condition_variable drained_cv_;
  bool stop_ = false;
  bool draining_ = false;   // under mu_
  size_t held_count_ = 0;   // held_.size(), under mu_ (for Drain)
  bool claiming_ = false;   // a claim and its sends are under way; under mu_
  bool poll_now_ = false;   // under mu_
  bool saturated_ = false;  // the last claim hit kMaxInFlight; thread only
  InternalErrors* errors_ = nullptr;
  std::thread thread_;
};

}  // namespace dlrd
