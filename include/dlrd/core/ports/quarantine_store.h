// QuarantineStore: the read-and-remove side of the quarantine, the
// requests the daemon kept because their signature failed (a port).
//
// The daemon's writer adds rows inside its ingest transaction (EventStore,
// Submission::quarantine) and enforces the caps there; this port is what
// `dlrd quarantine list|replay` and the dlrd_quarantine_* gauges need. One
// implementation per backend (SqliteQuarantine, OpenPgQuarantine); both
// pass the same contract tests (tests/postgres/event_store_contract_test.cc).
//
// Contract of every implementation:
// - It has a connection of its own and is safe beside a running daemon
//   (and, on PostgreSQL, beside other replicas): List never blocks the
//   writer, Delete waits for row locks like any writer.
// - Totals() is exact: rows and head + body bytes of the rows stored now,
//   the figures the caps (QuarantineLimits) are checked against.
// - Delete of a row that is already gone (another replay, retention) is
//   not an error.
// - A networked store that lost its server answers kUnavailable and
//   reconnects on a later call; nothing here is fatal.
// - Not thread-safe: callers serialize (the gauge collector holds a mutex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dlrd/core/util/status.h"

namespace dlrd {

struct QuarantineRow {
  int64_t id = 0;
  std::string source;
  int64_t received_at_ms = 0;
  std::string reason;
  int64_t head_bytes = 0;
  int64_t body_bytes = 0;
  std::string head, body;  // filled only by List(..., with_content=true)
};

struct QuarantineTotals {
  int64_t rows = 0;
  int64_t bytes = 0;
};

class QuarantineStore {
 public:
  virtual ~QuarantineStore() = default;
  // Rows received at or after `since_ms`, of `source` when set, oldest
  // first (by receive time, then id). Heads and bodies only when
  // `with_content`.
  virtual Result<std::vector<QuarantineRow>> List(
      const std::optional<std::string>& source, int64_t since_ms,
      bool with_content) = 0;
  virtual Status Delete(int64_t id) = 0;
  virtual Result<QuarantineTotals> Totals() = 0;
};

}  // namespace dlrd
