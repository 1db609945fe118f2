// StatsReader: read-only queries over the analytics rollups
// (schema/0003_stats.sql), on a connection of its own (WAL: safe while the
// daemon writes). Internal to the store adapter; StatsSql
// (store/sqlite_stats.h) writes the rollups.
//
// Each query runs in one read transaction, so the tables agree with each
// other.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "dlrd/core/status.h"
#include "dlrd/stats/stats.h"
#include "store/sqlite_handle.h"

namespace dlrd {

class StatsReader final : public StatsSource {
 public:
  static Result<std::unique_ptr<StatsReader>> Open(const std::string& path);
  Result<StatsReport> Query(const StatsQuery& q) override;

 private:
  explicit StatsReader(SqliteDb db) : db_(std::move(db)) {}
  SqliteDb db_;
};

}  // namespace dlrd
