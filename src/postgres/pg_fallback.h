// PgFallback: the fallback engine's reads and writes on PostgreSQL, inside
// a transaction the CALLER owns: the twin of FallbackSql (include/dlrd/
// sqlite/sqlite_fallback.h), same inputs to the same pure policy
// (dlrd/core/fallback/policy.h), same rows out. Private to dlrd_postgres.
//
// Invariants:
// - Transactional outbox: a job is inserted in the same transaction as the
//   event, deadline or failed send that caused it.
// - Exactly one decision per trigger across replicas. Several replicas may
//   store callbacks of one chain, scan its deadline or record its failed
//   send at the same moment. Every decision first locks the chain's root
//   (`SELECT ... FROM fallback_roots ... FOR UPDATE`, held until COMMIT),
//   so decisions on one chain are taken one at a time, each seeing the
//   steps and jobs the previous one committed (READ COMMITTED reads the
//   newest rows after the lock). A missing root is a chain retention
//   finished (pg_retention.h): nothing is decided.
// - At most one job per (source, root, step): the UNIQUE key backs the
//   lock up. The job is inserted with ON CONFLICT DO NOTHING *before* the
//   decision is logged; a conflict means another writer already escalated
//   this step, and this decision is dropped (no row, no note, no count).
// - Lock order, the same for every writer: root, then its steps, then its
//   outbox rows, then (at COMMIT, in key order) the rollups. Deadline scans
//   take root and step together with SKIP LOCKED, so they never wait on a
//   chain another replica is deciding.
// Limits across replicas: the rate caps (per recipient per hour, global
// per minute) count the committed jobs; two replicas deciding on
// different chains at once may each see the other's job missing, so a cap
// can be overshot by (replicas - 1) jobs.
//
// Statements are prepared per connection (PgConn keeps the names), under
// names starting "fb_"; nothing is cached here across reconnects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dlrd/core/fallback/policy.h"
#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/status.h"
#include "postgres/pg_conn.h"
#include "postgres/pg_stats.h"

namespace dlrd {

class PgFallback {
 public:
  // `conn` and `stats` (may be null) outlive this object; the connection
  // may be replaced in place (reconnect).
  PgFallback(PgConn* conn, FallbackRules rules, PgStats* stats)
      : conn_(conn), rules_(std::move(rules)), stats_(stats) {}

  bool enabled() const { return !rules_.empty(); }
  const FallbackRules& rules() const { return rules_; }

  // A newly stored event (FallbackSql::OnEvent).
  [[nodiscard]] Status OnEvent(const DeliveryEvent& e, int64_t now_ms,
                               std::vector<FallbackNote>* notes,
                               bool* job_created);
  // Up to `limit` steps whose deadline passed and that no other
  // transaction holds: each is marked checked and decided, once.
  [[nodiscard]] Status ScanDeadlines(int64_t now_ms, int limit,
                                     std::vector<FallbackNote>* notes,
                                     bool* job_created);
  // A send that will not be retried (FallbackSql::OnSendFailed).
  [[nodiscard]] Status OnSendFailed(const std::string& source,
                                    const std::string& root_id, int step,
                                    bool fraud, bool invalid_number,
                                    int64_t now_ms,
                                    std::vector<FallbackNote>* notes,
                                    bool* job_created);

 private:
  struct StepKey {
    std::string source;
    std::string root_id;
    int step = 0;
  };
  // Locks the root until COMMIT; false when it does not exist.
  Result<bool> LockRoot(const StepKey& key);
  Status Decide(const StepKey& key, const Trigger& trigger,
                const char* trigger_name, int64_t now_ms,
                std::vector<FallbackNote>* notes, bool* job_created);
  Result<RootState> Load(const StepKey& key, int64_t now_ms);
  Status Record(const StepKey& key, const char* trigger, const Decision& d,
                int64_t now_ms);
  // Inserts the next step's job; false when it existed (already decided).
  Result<bool> Escalate(const StepKey& key, const Decision& d,
                        const FallbackConfig& cfg,
                        const std::string& recipient, int64_t now_ms);
  Status SetStatus(const StepKey& key, DeliveryStatus s, int64_t at_ms);
  Status SetFlags(const StepKey& key, bool fraud, bool invalid);

  PgConn* conn_;
  FallbackRules rules_;
  PgStats* stats_;
};

}  // namespace dlrd
