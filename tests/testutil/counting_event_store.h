// CountingEventStore: an EventStore decorator that forwards every
// CommitBatch() to a real store and records how many calls were made and how
// large each batch was. Used to prove group commit (several submissions per
// transaction) against the real SQLite store.
//
// HoldCommits() closes a gate: CommitBatch() calls block after being counted
// (before reaching the inner store) until ReleaseCommits(), so a test can
// pile submissions up behind a commit deterministically instead of relying
// on the disk being slower than the submitters. WaitForCallsAtGate(n) waits
// until the writer is parked there.
//
// Thread-safety: CommitBatch() is called by the one writer thread (as for
// any EventStore); every other member may be called from any thread. A test
// must ReleaseCommits() before stopping a queue whose writer is held.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "dlrd/core/ports/event_store.h"

namespace dlrd::testutil {

class CountingEventStore final : public EventStore {
 public:
  // "*inner" must outlive this object.
  explicit CountingEventStore(EventStore& inner) : inner_(inner) {}

  BatchResult CommitBatch(const std::vector<const Submission*>& batch) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      batch_sizes_.push_back(batch.size());
      calls_.fetch_add(1, std::memory_order_relaxed);
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_; });
    }
    return inner_.CommitBatch(batch);
  }

  void HoldCommits() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void ReleaseCommits() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // True once at least `n` CommitBatch() calls have arrived; false if that
  // did not happen within `timeout`.
  bool WaitForCallsAtGate(
      size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return batch_sizes_.size() >= n; });
  }

  size_t calls() const { return calls_.load(std::memory_order_relaxed); }
  std::vector<size_t> batch_sizes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_;
  }
  size_t max_batch_size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_.empty()
               ? 0
               : *std::max_element(batch_sizes_.begin(), batch_sizes_.end());
  }

 private:
  EventStore& inner_;
  std::atomic<size_t> calls_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  std::vector<size_t> batch_sizes_;
};

}  // namespace dlrd::testutil
