// CountingEventStore: an EventStore decorator that forwards every
// CommitBatch() to a real store and records how many calls were made and how
// large each batch was. Used to prove group commit (several submissions per
// transaction) against the real SQLite store.
//
// Thread-safety: CommitBatch() is called by the one writer thread (as for
// any EventStore); the accessors may be read from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

#include "dlrd/store/event_store.h"

namespace dlrd::testutil {

class CountingEventStore final : public EventStore {
 public:
  // "*inner" must outlive this object.
  explicit CountingEventStore(EventStore& inner) : inner_(inner) {}

  BatchResult CommitBatch(const std::vector<const Submission*>& batch) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch_sizes_.push_back(batch.size());
    }
    calls_.fetch_add(1, std::memory_order_relaxed);
    return inner_.CommitBatch(batch);
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
  std::vector<size_t> batch_sizes_;
};

}  // namespace dlrd::testutil
