// BatchHook: work an event store does for each newly stored event, inside
// the batch's transaction (a port; docs/design.md §5.4).
//
// Invariant: whatever a hook writes commits or rolls back with the events
// that caused it. The store calls OnEvent() for each new event, then, per
// submission written with a savepoint, OnSubmissionEnd(); OnBeforeCommit()
// runs inside the transaction just before COMMIT (a failure rolls the
// batch back), and OnRollback() whenever the transaction is rolled back or
// a new one begins, so a hook never keeps state from a batch that did not
// commit. Hooks run in registration order, on the store's one writer
// thread.
//
// The interface is free of storage types: a hook that writes reaches its
// connection through what its adapter gave it at construction, so another
// store (PostgreSQL) can register hooks with the same contract.
#pragma once

#include <cstdint>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

class BatchHook {
 public:
  virtual ~BatchHook() = default;
  // `e` was just stored for the submission whose result is `out`, received
  // at `received_at_ms`. An error fails that submission.
  virtual Status OnEvent(const DeliveryEvent& e, int64_t received_at_ms,
                         SubmissionResult& out) = 0;
  // A submission written under its own savepoint ended: `kept`, or rolled
  // back to the savepoint (forget what OnEvent did for it; `out` is
  // cleared of it).
  virtual void OnSubmissionEnd(bool kept, SubmissionResult& out) = 0;
  // Inside the transaction, just before COMMIT.
  virtual Status OnBeforeCommit() = 0;
  // The transaction rolled back, or a new one begins: forget the batch.
  virtual void OnRollback() = 0;
};

}  // namespace dlrd
