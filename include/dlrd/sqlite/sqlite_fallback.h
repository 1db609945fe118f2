// FallbackSql: the fallback engine's reads and writes on one SQLite
// connection, inside a transaction the CALLER owns. Internal to the store
// adapter; the decisions themselves come from the pure policy
// (fallback/policy.h), this class only loads its inputs and writes its
// outputs.
//
// Invariant (transactional outbox): an outbox job is inserted in the same
// transaction as the event, deadline or failed send that caused it, and at
// most one job exists per (source, root, step) — UNIQUE plus INSERT OR
// IGNORE — so a duplicate callback or a deadline racing a failure callback
// can never send twice.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/status.h"
#include "dlrd/core/fallback/policy.h"
#include "dlrd/sqlite/sqlite_handle.h"
#include "dlrd/sqlite/sqlite_stats.h"

namespace dlrd {

// FallbackRules: dlrd/core/fallback/policy.h.
class FallbackSql {
 public:
  // `stats` (may be null) is told of decisions and delivered steps.
  FallbackSql(sqlite3* db, FallbackRules rules, StatsSql* stats = nullptr);

  bool enabled() const { return !rules_.empty(); }
  const FallbackRules& rules() const { return rules_; }

  // A newly stored event: records opt-outs and fraud/invalid flags, moves
  // its step's status forward, creates the root on the first callback of a
  // source with fallback (when it names the recipient), and decides.
  // `*job_created` is set when an outbox job was inserted.
  Status OnEvent(const DeliveryEvent& e, int64_t now_ms,
                 std::vector<FallbackNote>* notes, bool* job_created);

  // Steps whose deadline passed (at most `limit`): each is decided once.
  Status ScanDeadlines(int64_t now_ms, int limit,
                       std::vector<FallbackNote>* notes, bool* job_created);

  // A send that will not be retried: marks the step failed (and the root
  // fraud/invalid when `fraud`/`invalid_number`), then decides as for a
  // failure callback, so the next channel is tried.
  Status OnSendFailed(const std::string& source, const std::string& root_id,
                      int step, bool fraud, bool invalid_number, int64_t now_ms,
                      std::vector<FallbackNote>* notes, bool* job_created);

 private:
  struct StepKey {
    std::string source;
    std::string root_id;
    int step = 0;
  };
  Status Decide(const StepKey& key, const Trigger& trigger,
                const char* trigger_name, int64_t now_ms,
                std::vector<FallbackNote>* notes, bool* job_created);
  Result<RootState> Load(const StepKey& key, int64_t now_ms);
  Status Record(const StepKey& key, const char* trigger, const Decision& d,
                int64_t now_ms);
  Status Escalate(const StepKey& key, const Decision& d,
                  const FallbackConfig& cfg, const std::string& recipient,
                  int64_t now_ms, bool* job_created);
  Status SetStatus(const StepKey& key, DeliveryStatus s, int64_t at_ms);
  // A cached prepared statement for `sql` (a string literal).
  sqlite3_stmt* Stmt(const char* sql);

  sqlite3* db_;
  FallbackRules rules_;
  StatsSql* stats_;
  StmtCache cache_;
};

}  // namespace dlrd
