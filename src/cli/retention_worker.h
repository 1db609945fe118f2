// RetentionWorker: runs a RetentionStore (SqliteRetention, or the
// PostgreSQL one for a postgresql:// database) on a thread of its own. Every
// `interval_s` it prunes batch after batch until nothing is left, pausing
// between batches so the ingest writer and the dispatcher get the write
// lock. Stop() returns within one batch. A pass that throws is reported
// (InternalErrors, "retention") and retried at the next interval.
//
// Build() gives the retention module of `dlrd serve`: null when nothing is
// pruned (no events_days and no quarantine, whose TTL the same worker keeps);
// a connection that does not open is logged (retention_open_failed) and
// returned. OpenRetentionStore picks the backend from config.store.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/clock.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/ports/retention_store.h"

namespace dlrd {

// The store the worker prunes: SqliteRetention for a SQLite file, the
// PostgreSQL retention (application_name "dlrd retention <host>") for a
// postgresql:// database.
Result<std::unique_ptr<RetentionStore>> OpenRetentionStore(
    const Config& config);

class RetentionWorker {
 public:
  static Result<std::unique_ptr<RetentionWorker>> Build(
      const Config& config, const Clock& clock, Logger& log,
      InternalErrors* errors);

  RetentionWorker(std::unique_ptr<RetentionStore> store,
                  const RetentionConfig& config, const Clock& clock,
                  Logger& log, InternalErrors* errors = nullptr)
      : store_(std::move(store)),
        config_(config),
        clock_(clock),
        log_(log),
        errors_(errors) {}
  ~RetentionWorker() { Stop(); }

  void Start();
  void Stop();

 private:
  void Run();
  // One pass: batch after batch until nothing is left. False when stopping.
  bool Pass();
  // Waits up to `ms`; false when stopping.
  bool Sleep(int64_t ms);

  std::unique_ptr<RetentionStore> store_;
  RetentionConfig config_;
  const Clock& clock_;
  Logger& log_;
  InternalErrors* errors_;  // may be null
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dlrd
