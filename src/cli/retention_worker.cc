#include "cli/retention_worker.h"

#include <chrono>
#include <map>
#include <string>

#include "cli/store_factory.h"
#include "dlrd/postgres/pg_retention.h"
#include "dlrd/sqlite/sqlite_retention.h"

namespace dlrd {
namespace {
constexpr int64_t kPauseMs = 20;  // between batches: the writer goes first
}  // namespace

Result<std::unique_ptr<RetentionStore>> OpenRetentionStore(
    const Config& config) {
  const int64_t quarantine_ttl_ms = config.quarantine.ttl_hours * 3'600'000;
  if (config.store.backend == StoreBackend::kSqlite) {
    auto store =
        SqliteRetention::Open(config.store.path, config.store.busy_timeout_ms,
                              config.retention, quarantine_ttl_ms);
    if (!store.ok()) return store.status();
    return std::unique_ptr<RetentionStore>(std::move(store).value());
  }
  return OpenPgRetention(PgTargetOf(config, "retention"), config.retention,
                         quarantine_ttl_ms);
}

Result<std::unique_ptr<RetentionWorker>> RetentionWorker::Build(
    const Config& config, const Clock& clock, Logger& log,
    InternalErrors* errors) {
  // The quarantine's TTL is kept by the same worker, events_days or not.
  if (config.retention.events_days <= 0 && !config.quarantine.enabled) {
    return std::unique_ptr<RetentionWorker>();
  }
  auto pruner = OpenRetentionStore(config);
  if (!pruner.ok()) {
    log.Error("retention_open_failed", {{"error", pruner.status().message()}});
    return pruner.status();
  }
  return std::make_unique<RetentionWorker>(std::move(pruner).value(),
                                           config.retention, clock, log,
                                           errors);
}

void RetentionWorker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void RetentionWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RetentionWorker::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
  return !stop_;
}

void RetentionWorker::Run() {
  do {
    bool go_on = true;
    try {
      go_on = Pass();
    } catch (...) {
      if (errors_) errors_->Report("retention", std::current_exception());
    }
    if (!go_on) return;
  } while (Sleep(config_.interval_s * 1000));
}

bool RetentionWorker::Pass() {
  std::map<std::string, int64_t> deleted;
  const int64_t now = clock_.NowMs();
  while (true) {
    std::string table;
    Result<int64_t> n = store_->PruneBatch(now, &table);
    if (!n.ok()) {
      log_.Warn("retention_failed", {{"error", n.status().message()}});
      break;
    }
    if (n.value() == 0) break;
    deleted[table] += n.value();
    if (!Sleep(kPauseMs)) return false;
  }
  for (const auto& [table, n] : deleted) {
    log_.Info("retention_pruned", {{"table", table}, {"rows", n}});
  }
  return true;
}

}  // namespace dlrd
