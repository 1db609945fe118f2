// The SQLite event store's batch hooks (dlrd/core/ports/batch_hook.h):
// the analytics rollups and the fallback engine, each writing on the
// store's connection through the StatsSql / FallbackSql it was given.
// Registered by SqliteEventStore::Open, stats first: the fallback engine
// reports its decisions to the same StatsSql, so the rollup flush before
// COMMIT includes them. Private to dlrd_sqlite.
#pragma once

#include "dlrd/core/ports/batch_hook.h"
#include "dlrd/sqlite/sqlite_fallback.h"
#include "dlrd/sqlite/sqlite_stats.h"

namespace dlrd {

// Per-event rollup changes, deferred and flushed once before COMMIT.
class StatsHook final : public BatchHook {
 public:
  explicit StatsHook(StatsSql* stats) : stats_(stats) {}
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
  StatsSql* stats_;
};

// Fallback decisions for new events of sources with fallback; its rows and
// outbox jobs are written by FallbackSql in the same transaction.
class FallbackHook final : public BatchHook {
 public:
  explicit FallbackHook(std::unique_ptr<FallbackSql> fallback)
      : fallback_(std::move(fallback)) {}
  Status OnEvent(const DeliveryEvent& e, int64_t received_at_ms,
                 SubmissionResult& out) override {
    // The decisions are rows of fallback_decisions, committed with the
    // event; nothing reads them from the result.
    return fallback_->OnEvent(e, received_at_ms, nullptr, &out.job_created);
  }
  void OnSubmissionEnd(bool kept, SubmissionResult& out) override {
    if (!kept) out.job_created = false;
  }
  Status OnBeforeCommit() override { return Status::Ok(); }
  void OnRollback() override {}

 private:
  std::unique_ptr<FallbackSql> fallback_;
};

}  // namespace dlrd
