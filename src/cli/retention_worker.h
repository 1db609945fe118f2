// RetentionWorker: runs SqliteRetention on a thread of its own. Every
// `interval_s` it prunes batch after batch until nothing is left, pausing
// between batches so the ingest writer and the dispatcher get the write
// lock. Stop() returns within one batch.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "dlrd/config/config.h"
#include "dlrd/core/clock.h"
#include "dlrd/log/logger.h"
#include "store/sqlite_retention.h"

namespace dlrd {

class RetentionWorker {
 public:
  RetentionWorker(std::unique_ptr<SqliteRetention> store,
                  const RetentionConfig& config, const Clock& clock,
                  Logger& log)
      : store_(std::move(store)), config_(config), clock_(clock), log_(log) {}
  ~RetentionWorker() { Stop(); }

  void Start();
  void Stop();

 private:
  void Run();
  // Waits up to `ms`; false when stopping.
  bool Sleep(int64_t ms);

  std::unique_ptr<SqliteRetention> store_;
  RetentionConfig config_;
  const Clock& clock_;
  Logger& log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dlrd
