// EventStore: the durable home of accepted callbacks (a port).
//
// Contract:
// - CommitBatch() writes every submission it is given in ONE durable
//   transaction and returns only after that transaction committed (or
//   failed). When it returns ok, each submission's events are on disk:
//   an HTTP 2xx may then be sent for them.
// - A submission is all-or-nothing: either all of its new events are stored,
//   or none (its result carries the error) while the rest of the batch
//   still commits.
// - Events are deduplicated on (source, dedupe_key): a duplicate is not an
//   error, it is reported as not inserted.
// - The per-verification status only moves forward (StatusRank).
// - Not thread-safe: exactly one writer thread calls CommitBatch (and
//   Reconnect); only available() may be read from other threads. The
//   implementations are SQLite and PostgreSQL; the interface is free of
//   their types, and both pass the same contract suite
//   (tests/postgres/event_store_contract_test.cc).
// - A networked store that lost its database fails batches with
//   kUnavailable (not fatal: 503 + Retry-After) and reconnects by itself
//   (available(), Reconnect()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/status.h"
#include "dlrd/core/fallback/policy.h"

namespace dlrd {

// The raw request kept beside its events, for re-verification and replay.
struct RawRequest {
  std::string source;
  std::string target;
  // Request line + headers as received (InboundWebhook::Head), with the
  // credentials no signature scheme needs redacted (core/redact.h).
  std::string head;
  std::string body;
  int64_t received_at_ms = 0;
};

// One accepted request: its raw form and the events normalized from it.
// Callbacks refused for their signature in one hour, by source (never
// stored themselves; counted for analytics).
struct SignatureFailureCount {
  int64_t hour_ms = 0;
  std::string source;
  std::string provider;
  int64_t count = 0;
};

// A request refused for its signature, kept in the bounded quarantine
// (schema/0005_quarantine.sql) for `dlrd quarantine replay`. Never an event.
struct QuarantinedRequest {
  std::string source;
  std::string reason;  // RejectReason as a string
  std::string head;    // redacted like RawRequest::head
  std::string body;    // byte-exact
  int64_t received_at_ms = 0;
};

// The quarantine's caps, checked by the writer on each insert. When a new
// request would exceed either, the NEW one is dropped (the oldest are kept:
// they are the callbacks from the moment the secret went wrong).
struct QuarantineLimits {
  int64_t max_rows = 10'000;
  int64_t max_bytes = int64_t{64} << 20;  // head + body bytes
};

struct Submission {
  // Set only on a counts-only submission: no raw request, no events.
  std::vector<SignatureFailureCount> signature_failures;
  // Set only on a quarantine-only submission: no raw request, no events.
  std::vector<QuarantinedRequest> quarantine;
  RawRequest raw;
  std::vector<DeliveryEvent> events;
  std::vector<OptChange> opt_changes;  // applied in order, with the events
};

struct SubmissionResult {
  Status status;               // not ok: nothing of this submission stored
  std::vector<bool> inserted;  // per event: false = duplicate
  bool job_created = false;  // an outbox job was written
  // Per Submission::quarantine entry: stored (false: the quarantine is full).
  std::vector<bool> quarantined;
  // The write threw (a bug or bad_alloc): the submission was rolled back
  // alone and the rest of the batch committed.
  bool internal_error = false;
};

struct BatchResult {
  // Not ok: the transaction did not commit; nothing stored. Its code is
  // the class of the failure (kBusy, kFull, kIo, kCorrupt, ...).
  Status status;
  std::vector<SubmissionResult> submissions;  // same order as the input
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // REQUIRES: called from one thread at a time.
  virtual BatchResult CommitBatch(
      const std::vector<const Submission*>& batch) = 0;

  // Whether the store can take a batch now: false while a networked store
  // has lost its database (CommitBatch then fails with kUnavailable).
  // Thread-safe: /readyz reads it from another thread. An embedded store
  // (SQLite) is always available.
  virtual bool available() const { return true; }
  // Called only by the writer thread: reconnects if disconnected and its
  // backoff allows an attempt now. Returns the milliseconds until it wants
  // to be called again; 0 when connected (or nothing to do).
  virtual int64_t Reconnect() { return 0; }
};

}  // namespace dlrd
