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
// such re-send per job; the next unknown outcome escalates instead. After a
// crash, RecoverInFlight() applies the same rule to in_flight jobs.
//
// Registration and chain reads for the admin API run on the same thread
// (Post), so the store connection has one owner. Never blocks the ingest
// path: the ingest writer has its own connection.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dlrd/config/config.h"
#include "dlrd/core/clock.h"
#include "dlrd/fallback/circuit_breaker.h"
#include "dlrd/log/logger.h"
#include "dlrd/metrics/fallback_metrics.h"
#include "dlrd/outbound/outbound_client.h"
#include "dlrd/outbound/send_adapter.h"
#include "dlrd/store/outbox_store.h"

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

  // Recovers in_flight jobs, then polls every outbox.poll_ms.
  void Start();
  // Stops polling; sends still in flight complete into the void (their
  // jobs stay in_flight and are recovered at the next start).
  void Stop();

  // Runs `task` on the dispatcher thread (or inline in RunOnce mode).
  void Post(std::function<void()> task);
  // Polls now instead of at the next tick: a job was just committed (the
  // ingest writer calls this), so its send does not wait up to poll_ms.
  void Wake();

  // Without Start(): recovery is explicit, and RunOnce() does one poll and
  // runs every posted task (tests with a fake clock and client).
  void Recover();
  void RunOnce();
  int in_flight() const { return in_flight_; }

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
  void StoreFailed(const char* what, const Status& s);
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
  int in_flight_ = 0;            // dispatcher thread only
  int64_t decisions_seen_ = -1;  // fallback_decisions row counted last

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  bool poll_now_ = false;   // under mu_
  bool saturated_ = false;  // the last claim hit kMaxInFlight; thread only
  std::thread thread_;
};

}  // namespace dlrd
