#include "dlrd/app/dispatch/dispatcher.h"

#include <algorithm>
#include <memory>

#include "dlrd/core/fallback/backoff.h"

namespace dlrd {
namespace {

constexpr int kMaxInFlight = 32;
// Ceiling of the backoff between attempts to write a held job's outcome.
constexpr int64_t kMaxWriteBackoffMs = 5000;

// The class a transport failure counts as, and whether the provider may
// have acted on the request (it was written before the failure).
SendErrorClass ClassOf(TransportError e) {
  switch (e) {
    case TransportError::kTimeout:
      return SendErrorClass::kTimeout;
    case TransportError::kProtocol:
      return SendErrorClass::kServer;
    default:
      return SendErrorClass::kNetwork;
  }
}

}  // namespace

Dispatcher::Dispatcher(OutboxStore& store, OutboundClient& client,
                       const SendAdapters& adapters,
                       const std::map<std::string, ProviderConfig>& providers,
                       const OutboxConfig& config, const Clock& clock,
                       FallbackMetrics* metrics, Logger* log, uint64_t seed)
    : store_(store),
      client_(client),
      adapters_(adapters),
      providers_(providers),
      config_(config),
      clock_(clock),
      metrics_(metrics),
      log_(log),
      rng_(seed) {
  // Metrics count decisions from now on, not the history in the file.
  // Only moves decisions_seen_ to the newest id. Ignored on failure: the
  // cursor stays at 0, so the loop's DecisionsSince() (which retries on
  // every pass) counts the history once.
  if (metrics_) (void)store_.DecisionsSince(&decisions_seen_, 0);
}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  Recover();
  thread_ = std::thread([this] { Loop(); });
}

void Dispatcher::BeginDrain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }
  cv_.notify_all();
}

bool Dispatcher::Drain(std::chrono::steady_clock::time_point deadline) {
  BeginDrain();
  size_t held = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (drained_cv_.wait_until(lock, deadline, [this] {
          return held_count_ == 0 && !claiming_;
        })) {
      return true;
    }
    held = held_count_;
  }
  if (log_) {
    // Left in_flight: reclaimed as unknown outcomes after their lease.
    log_->Warn("outbox_drain_incomplete",
               {{"held_jobs", std::to_string(held)}});
  }
  return false;
}

void Dispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_all();
}

void Dispatcher::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poll_now_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::Recover() { Reclaim(clock_.NowMs()); }

void Dispatcher::Reclaim(int64_t now_ms) {
  std::vector<FallbackNote> notes;
  Result<int> n =
      store_.RecoverInFlight(now_ms, config_.in_flight_lease_ms, held_, &notes);
  if (!n.ok()) return StoreFailed("recover", n.status());
  Note(notes);
  if (n.value() > 0 && log_) {
    log_->Warn("outbox_recovered",
               {{"in_flight_jobs", std::to_string(n.value())}});
  }
}

void Dispatcher::RunOnce() {
  RunTasks();
  Poll();
  RunTasks();
}

void Dispatcher::RunTasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) {
    try {
      t();
    } catch (...) {
      // A task that throws (admin API work catches its own and answers
      // 500) must not end the thread that sends every fallback.
      if (errors_) errors_->Report("dispatcher", std::current_exception());
    }
  }
}

void Dispatcher::Loop() {
  auto next_poll = std::chrono::steady_clock::now();
  for (;;) {
    bool poll_now = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_poll,
                     [this] { return stop_ || poll_now_ || !tasks_.empty(); });
      if (stop_) return;
      poll_now = std::exchange(poll_now_, false);
    }
    RunTasks();
    if (poll_now || std::chrono::steady_clock::now() >= next_poll) {
      try {
        Poll();
      } catch (...) {
        if (errors_) errors_->Report("dispatcher", std::current_exception());
      }
      next_poll = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(config_.poll_ms);
    }
  }
}

void Dispatcher::Poll() {
  const int64_t now = clock_.NowMs();
  RetryWrites(now);
  std::vector<FallbackNote> notes;
  if (Status s = store_.ScanDeadlines(now, &notes); !s.ok()) {
    StoreFailed("deadlines", s);
  }
  Note(notes);
  Reclaim(now);
  bool claim = false;
  {
    // Drain() waits while a claim is under way: a job claimed after it
    // looked would otherwise be sent with nobody waiting for its result.
    std::lock_guard<std::mutex> lock(mu_);
    claim = !draining_ && in_flight_ < kMaxInFlight;
    claiming_ = claim;
  }
  if (claim) {
    const int limit = kMaxInFlight - in_flight_;
    auto jobs = store_.ClaimDue(now, limit);
    if (!jobs.ok()) {
      StoreFailed("claim", jobs.status());
    } else {
      // More may be due: claim again as soon as a send finishes.
      saturated_ = static_cast<int>(jobs.value().size()) == limit;
      for (const OutboxJob& job : jobs.value()) {
        held_.insert(job.id);
        const int in_flight_before = in_flight_;
        try {
          SendJob(job);
        } catch (...) {
          // A bug while building or starting the send: the job stays
          // in_flight in the store, no longer held, so it is reclaimed
          // after its lease under the unknown-outcome rule.
          in_flight_ = in_flight_before;
          held_.erase(job.id);
          if (errors_) errors_->Report("dispatcher", std::current_exception());
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_count_ = held_.size();
      claiming_ = false;
    }
    drained_cv_.notify_all();
  }
  if (metrics_) {
    // Every decision, from this thread or the ingest writer, is a row.
    auto decisions = store_.DecisionsSince(&decisions_seen_, 1000);
    if (decisions.ok()) {
      for (const Decision& d : decisions.value()) metrics_->Decided(d);
    }
    auto depth = store_.Depth(now);
    if (depth.ok()) {
      for (const auto& [state, n] : depth.value().by_state) {
        metrics_->OutboxState(state, static_cast<double>(n));
      }
      metrics_->OldestPendingAge(
          static_cast<double>(depth.value().oldest_pending_age_ms) / 1000.0);
    }
    for (auto& [key, breaker] : breakers_) {
      metrics_->Breaker(key.first, key.second,
                        BreakerGaugeValue(breaker.state(now)));
    }
  }
}

CircuitBreaker& Dispatcher::Breaker(const std::string& provider, Channel c) {
  auto key = std::make_pair(provider, c);
  auto it = breakers_.find(key);
  if (it == breakers_.end()) {
    BreakerOptions o;
    o.failure_threshold = config_.breaker_failures;
    o.cooldown_ms = config_.breaker_cooldown_ms;
    it = breakers_.emplace(key, CircuitBreaker(o)).first;
  }
  return it->second;
}

void Dispatcher::SendJob(const OutboxJob& job) {
  const int64_t now = clock_.NowMs();
  auto adapter = adapters_.find(job.provider);
  auto provider = providers_.find(job.provider);
  if (adapter == adapters_.end() || provider == providers_.end()) {
    return Dead(job, "provider not configured", false, false, now);
  }
  if (!Breaker(job.provider, job.channel).Allow(now)) {
    return Dead(job, "circuit_open", false, false, now);
  }
  SendRequest req;
  req.root_id = job.root_id;
  req.step = job.step;
  req.channel = job.channel;
  req.recipient = job.recipient;
  req.idempotency_key = job.idempotency_key;
  Result<HttpCall> call = adapter->second->Build(req);
  if (!call.ok()) return Dead(job, call.status().message(), false, false, now);
  CallOptions opts;
  opts.ca_file = provider->second.ca_file;
  opts.connect_timeout_ms = provider->second.connect_timeout_ms;
  opts.request_timeout_ms = provider->second.request_timeout_ms;
  ++in_flight_;
  client_.Send(std::move(call).value(), opts, [this, job, now](ClientResult r) {
    Post([this, job, now, r = std::move(r)]() mutable {
      OnResult(job, now, std::move(r));
    });
  });
}

void Dispatcher::OnResult(const OutboxJob& job, int64_t started_ms,
                          ClientResult r) {
  --in_flight_;
  if (saturated_) {
    saturated_ = false;
    std::lock_guard<std::mutex> lock(mu_);
    poll_now_ = true;
  }
  const int64_t now = clock_.NowMs();
  const SendAdapter& adapter = *adapters_.at(job.provider);
  SendOutcome out;
  bool ambiguous = false;
  if (r.error == TransportError::kNone) {
    out = adapter.Classify(r.reply, now);
    // A 5xx other than 503 came after the provider took the request: it
    // may have sent the code (docs/reliability.md §5.3), as a timeout would.
    // 503 means it was turned away before that.
    ambiguous = out.error == SendErrorClass::kServer && r.reply.status != 503;
  } else {
    out.error = ClassOf(r.error);
    out.detail = r.detail;
    ambiguous = r.request_written;
  }
  if (metrics_) {
    metrics_->RequestDone(job.provider, job.channel,
                          static_cast<double>(now - started_ms) / 1000.0,
                          out.error);
  }
  CircuitBreaker& breaker = Breaker(job.provider, job.channel);
  if (!out.provider_code.empty() &&
      IsOptOutError(job.provider, out.provider_code)) {
    // The send itself says the number unsubscribed: stored before the
    // decision below, so the policy skips every later channel (TCPA).
    Status s =
        store_.RecordOptOut(job.recipient, job.source,
                            job.provider + " error " + out.provider_code, now);
    if (!s.ok()) StoreFailed("opt_out", s);
  }
  switch (out.error) {
    case SendErrorClass::kNone: {
      breaker.OnSuccess(now);
      return Record(
          job.id, "accepted",
          [this, job, ref = out.provider_ref, now] {
            return store_.MarkAccepted(job, ref, now);
          },
          [this, job] {
            if (metrics_) metrics_->Sent(job.from_channel, job.channel, true);
            if (log_) {
              log_->Info("fallback_sent", {{"source", job.source},
                                           {"provider", job.provider},
                                           {"channel", ToString(job.channel)},
                                           {"step", std::to_string(job.step)}});
            }
          });
    }
    case SendErrorClass::kInvalidNumber:
      breaker.OnSuccess(now);  // the provider answered sanely
      return Dead(job, out.detail, false, true, now);
    case SendErrorClass::kFraud:
      breaker.OnSuccess(now);
      return Dead(job, out.detail, true, false, now);
    case SendErrorClass::kRejected:
      breaker.OnFailure(now);
      return Dead(job, out.detail, false, false, now);
    case SendErrorClass::kRateLimited:
      return Retry(job, out.error, out.retry_after_ms, out.detail, now);
    case SendErrorClass::kServer:
    case SendErrorClass::kTimeout:
    case SendErrorClass::kNetwork: {
      breaker.OnFailure(now);
      const bool unknown = ambiguous && !adapter.supports_idempotency_key();
      if (unknown && job.recovered) {
        // A second unknown outcome: the user may already have two codes.
        return Dead(job, "unknown_outcome: " + out.detail, false, false, now);
      }
      return Retry(job, out.error, out.retry_after_ms, out.detail, now,
                   unknown);
    }
  }
}

void Dispatcher::Retry(const OutboxJob& job, SendErrorClass c,
                       int64_t retry_after_ms, const std::string& detail,
                       int64_t now_ms, bool unknown_outcome) {
  const std::string error = std::string(ToString(c)) + ": " + detail;
  if (job.attempts >= config_.max_attempts) {
    return Dead(job, error, false, false, now_ms);
  }
  RetryPolicy p;
  p.base_ms = config_.backoff_base_ms;
  p.cap_ms = config_.backoff_cap_ms;
  p.ceiling_ms = config_.retry_ceiling_ms;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int64_t delay =
      RetryDelayMs(job.attempts, retry_after_ms, p, unit(rng_));
  Record(
      job.id, "retry",
      [this, job, next = now_ms + delay, error, now_ms, unknown_outcome] {
        return store_.MarkRetry(job, next, error, now_ms, unknown_outcome);
      },
      [] {});
}

void Dispatcher::Dead(const OutboxJob& job, const std::string& error,
                      bool fraud, bool invalid, int64_t now_ms) {
  auto notes = std::make_shared<std::vector<FallbackNote>>();
  Record(
      job.id, "dead",
      [this, job, error, fraud, invalid, now_ms, notes] {
        notes->clear();
        return store_.MarkDead(job, error, fraud, invalid, now_ms, notes.get());
      },
      [this, job, error, notes] {
        if (metrics_) metrics_->Sent(job.from_channel, job.channel, false);
        if (log_) {
          log_->Warn("fallback_send_dead", {{"source", job.source},
                                            {"provider", job.provider},
                                            {"channel", ToString(job.channel)},
                                            {"step", std::to_string(job.step)},
                                            {"error", error}});
        }
        Note(*notes);
      });
}

void Dispatcher::Record(int64_t job_id, const char* what,
                        std::function<Status()> write,
                        std::function<void()> then) {
  if (Status s = write(); !s.ok()) {
    if (s.code() == StatusCode::kSuperseded) return Superseded(job_id, s);
    StoreFailed(what, s, 1);
    const int64_t now = clock_.NowMs();
    pending_writes_.push_back(PendingWrite{job_id, what, std::move(write),
                                           std::move(then), 1,
                                           now + config_.poll_ms});
    return;
  }
  then();
  Release(job_id);
}

void Dispatcher::RetryWrites(int64_t now_ms) {
  while (!pending_writes_.empty() &&
         pending_writes_.front().next_try_ms <= now_ms) {
    PendingWrite& w = pending_writes_.front();
    if (Status s = w.write(); !s.ok()) {
      if (s.code() == StatusCode::kSuperseded) {
        const int64_t job_id = w.job_id;
        pending_writes_.pop_front();
        Superseded(job_id, s);
        continue;
      }
      // The store is still failing: leave the rest for a later poll, so a
      // long busy timeout is paid once per poll, not once per job.
      ++w.failures;
      const int shift = std::min(w.failures - 1, 20);
      w.next_try_ms =
          now_ms + std::min(config_.poll_ms << shift, kMaxWriteBackoffMs);
      StoreFailed(w.what, s, w.failures);
      // Keep the order of outcomes: retry this one first next time.
      return;
    }
    if (log_) {
      log_->Info("outbox_write_recovered",
                 {{"op", w.what}, {"failures", std::to_string(w.failures)}});
    }
    PendingWrite done = std::move(w);
    pending_writes_.pop_front();
    done.then();
    Release(done.job_id);
  }
}

void Dispatcher::Superseded(int64_t job_id, const Status& s) {
  // Another claim owns the job now (this send outlived its lease, e.g.
  // while the database was out of reach, and the job was reclaimed): its
  // sender writes the outcome. Ours is dropped, not retried.
  if (log_) log_->Warn("outbox_outcome_superseded", {{"error", s.message()}});
  Release(job_id);
}

void Dispatcher::Release(int64_t job_id) {
  held_.erase(job_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_count_ = held_.size();
  }
  drained_cv_.notify_all();
}

void Dispatcher::Note(const std::vector<FallbackNote>& notes) {
  for (const FallbackNote& n : notes) {
    if (log_ && n.decision.result != DecisionResult::kNone) {
      log_->Info("fallback_decision",
                 {{"source", n.source},
                  {"trigger", n.trigger},
                  {"from", ToString(n.decision.from)},
                  {"to", ToString(n.decision.to)},
                  {"result", n.decision.result == DecisionResult::kEscalate
                                 ? "escalate"
                                 : "skip"},
                  {"reason", n.decision.result == DecisionResult::kSkip
                                 ? ToString(n.decision.reason)
                                 : ""}});
    }
  }
}

void Dispatcher::StoreFailed(const char* what, const Status& s, int failures) {
  if (!log_) return;
  if (failures == 0) {
    log_->Error("outbox_store_failed", {{"op", what}, {"error", s.message()}});
    return;
  }
  log_->Error("outbox_store_failed", {{"op", what},
                                      {"error", s.message()},
                                      {"failures", std::to_string(failures)},
                                      {"retrying", "true"}});
}

}  // namespace dlrd
