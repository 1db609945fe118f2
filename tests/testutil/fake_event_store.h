// FakeEventStore: an in-memory EventStore with scriptable failures and a
// gate that can hold CommitBatch() so a test can fill the ingest queue behind
// a commit that is "syncing".
//
// Default behaviour follows the EventStore contract: events are deduplicated
// on (source, dedupe_key) across calls and within a batch, a submission is
// all-or-nothing, and a failed batch stores nothing.
//
// Scripting:
// - FailCall(n, kind) makes the n-th CommitBatch() call (1-based, counted
//   since construction, in arrival order) fail as a whole transaction with
//   that error kind; nothing of its batch is stored.
// - FailSubmissionsWhere(pred) makes every matching submission fail alone
//   (SubmissionResult.status not ok) while the rest of its batch commits.
// - HoldCommits() closes the gate: CommitBatch() calls block after being
//   counted until ReleaseCommits(). WaitForCallsAtGate(n) lets the test wait
//   until the writer is parked there.
//
// Thread-safety: CommitBatch() runs on the queue's writer thread; every other
// member may be called from any thread. A test must ReleaseCommits() before
// stopping a queue whose writer is held, or Stop() never returns.
#pragma once

#include <atomic>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/ports/event_store.h"

namespace dlrd::testutil {

class FakeEventStore final : public EventStore {
 public:
  using SubmissionPredicate = std::function<bool(const Submission&)>;

  BatchResult CommitBatch(const std::vector<const Submission*>& batch) override;

  void FailCall(size_t call_number, StatusCode kind,
                std::string message = "scripted store failure");
  void FailSubmissionsWhere(SubmissionPredicate pred);

  // The store "loses its connection": available() is false until
  // Reconnect() has been called `attempts` times (each asks for 20 ms).
  void GoDown(int attempts);
  bool available() const override;
  int64_t Reconnect() override;
  int reconnects() const;

  void HoldCommits();
  void ReleaseCommits();
  // True once at least `n` CommitBatch() calls (counted since construction)
  // have reached the gate; false if that did not happen within `timeout`.
  bool WaitForCallsAtGate(
      size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  size_t calls() const;
  std::vector<size_t> batch_sizes() const;
  // Events stored (new, committed) so far.
  size_t stored_events() const;
  bool Contains(const std::string& source, const std::string& key) const;
  // Copies of every submission stored so far (at least one new event, or a
  // counts-only submission of signature failures), in commit order.
  std::vector<Submission> committed() const;

 private:
  struct ScriptedFailure {
    StatusCode kind;
    std::string message;
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  std::atomic<bool> down_{false};
  int attempts_left_ = 0;
  int reconnects_ = 0;
  size_t arrived_ = 0;
  std::vector<size_t> batch_sizes_;
  std::map<size_t, ScriptedFailure> failures_;  // by call number
  SubmissionPredicate fail_submission_;
  std::set<std::pair<std::string, std::string>> keys_;
  std::vector<Submission> committed_;
};

}  // namespace dlrd::testutil
