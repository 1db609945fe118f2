// RetentionStore: what the retention worker (src/cli/retention_worker.h)
// needs of a store, so one worker drives either backend (SqliteRetention,
// or the PostgreSQL one from dlrd/postgres/pg_retention.h).
//
// Contract of every implementation: PruneBatch deletes one bounded batch
// (at most RetentionConfig::batch_rows rows of one table, in one
// transaction; a fallback chain goes whole) from the first table that has
// prunable rows as of `now_ms`, and names the table in `*table`; 0 means
// nothing is left to prune. What a batch keeps is the same on every store:
// opt-outs, fallback chains with a job still to send, the dedupe keys of
// pruned events (moved to dedupe_keys in the same transaction), daily
// rollups equal to the hourly ones summed by day. Not thread-safe: one
// worker thread calls it.
#pragma once

#include <cstdint>
#include <string>

#include "dlrd/core/util/status.h"

namespace dlrd {

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;
  virtual Result<int64_t> PruneBatch(int64_t now_ms, std::string* table) = 0;
};

}  // namespace dlrd
