// PruneAll: runs SqliteRetention on `path` as of `now_ms` until nothing is
// left to prune, as the retention worker does, and returns the rows
// deleted. Every batch must respect `config.batch_rows` (fallback chains
// go whole); a pass that does not finish fails the test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "dlrd/sqlite/sqlite_retention.h"
#include "testutil/status_matchers.h"

namespace dlrd::testutil {

inline int64_t PruneAll(const std::string& path, const RetentionConfig& config,
                        int64_t now_ms) {
  auto r = SqliteRetention::Open(path, 5000, config);
  EXPECT_OK(r.status());
  if (!r.ok()) return 0;
  int64_t total = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string table;
    auto n = r.value()->PruneBatch(now_ms, &table);
    EXPECT_OK(n.status());
    if (!n.ok() || n.value() == 0) return total;
    if (table != "fallback_chains") {
      EXPECT_LE(n.value(), config.batch_rows) << table;
    }
    total += n.value();
  }
  ADD_FAILURE() << "pruning did not finish";
  return total;
}

}  // namespace dlrd::testutil
