#include "dlrd/app/ingest/ingest_queue.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "dlrd/app/metrics/metrics.h"

namespace dlrd {

IngestQueue::IngestQueue(EventStore& store, IngestQueueOptions options,
                         Metrics* metrics, FatalHandler on_fatal)
    : store_(store),
      options_(options),
      metrics_(metrics),
      on_fatal_(std::move(on_fatal)) {
  if (metrics_) {
    metrics_->queue_capacity().Set(static_cast<double>(options_.capacity));
  }
}

IngestQueue::~IngestQueue() { Stop(); }

void IngestQueue::Start() {
  writer_ = std::thread([this] { Run(); });
  // Named so top -H, perf and gdb show which thread is the store writer.
  pthread_setname_np(writer_.native_handle(), "dlrd-writer");
}

IngestQueue::SubmitResult IngestQueue::Submit(Submission&& submission,
                                              Completion&& done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || failed_) return SubmitResult::kClosed;
    if (items_.size() >= options_.capacity) return SubmitResult::kFull;
    items_.push_back(Item{std::move(submission), std::move(done)});
    if (metrics_)
      metrics_->queue_depth().Set(static_cast<double>(items_.size()));
  }
  cv_.notify_one();
  return SubmitResult::kQueued;
}

void IngestQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_one();
  // Concurrent Stop() calls all wait for the drain; only one joins.
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (writer_.joinable()) {
    writer_.join();
  } else {
    Run();  // never started: drain here, so every completion still runs
  }
}

size_t IngestQueue::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.size();
}

bool IngestQueue::healthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !failed_ && store_.available();
}

void IngestQueue::Run() {
  std::vector<Item> batch;
  for (;;) {
    bool failed;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto ready = [&] { return !items_.empty() || closed_; };
      // A store that lost its connection (PostgreSQL) is reconnected from
      // here while idle, so /readyz recovers without traffic (a load
      // balancer sends none to a replica that is not ready).
      while (!ready() && !store_.available()) {
        lock.unlock();
        const int64_t wait_ms = store_.Reconnect();
        lock.lock();
        if (!store_.available()) {
          cv_.wait_for(lock,
                       std::chrono::milliseconds(std::max<int64_t>(wait_ms, 10)),
                       ready);
        }
      }
      cv_.wait(lock, ready);
      if (items_.empty()) return;  // closed and drained
      size_t n = std::min(items_.size(), options_.max_batch);
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(items_.front()));
        items_.pop_front();
      }
      if (metrics_) {
        metrics_->queue_depth().Set(static_cast<double>(items_.size()));
      }
      failed = failed_;
    }
    try {
      if (failed) {
        FailAll(batch, StatusCode::kError);
      } else {
        CommitOne(batch);
      }
    } catch (...) {
      // Last barrier of the writer thread: answer whoever is still waiting
      // (503) and keep writing. The store rolls back inside CommitBatch, so
      // no transaction is left open here.
      if (errors_) errors_->Report("ingest_writer", std::current_exception());
      FailAll(batch, StatusCode::kError);
    }
    // Completions may own resources (an HTTP session); release them now,
    // not when the next batch arrives.
    batch.clear();
  }
}

void IngestQueue::FailAll(std::vector<Item>& batch, StatusCode kind) {
  CommitOutcome outcome;
  outcome.error = kind;
  for (Item& item : batch) {
    if (!item.done) continue;  // answered before a throw
    if (metrics_) metrics_->events_dropped("store_failed").Increment();
    try {
      std::exchange(item.done, nullptr)(item.submission, outcome);
    } catch (...) {
      // Called from the writer's own barrier too: nothing may escape.
      if (errors_) errors_->Report("ingest_writer", std::current_exception());
    }
  }
}

void IngestQueue::CommitOne(std::vector<Item>& batch) {
  std::vector<const Submission*> subs;
  subs.reserve(batch.size());
  for (const Item& item : batch) subs.push_back(&item.submission);

  auto start = std::chrono::steady_clock::now();
  BatchResult result = store_.CommitBatch(subs);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  if (metrics_) {
    metrics_->store_commit_duration().Observe(took.count());
    metrics_->store_commit_batch_size().Observe(
        static_cast<double>(batch.size()));
  }

  if (!result.status.ok()) {
    if (metrics_) {
      metrics_->store_error("commit", ToString(result.status.code())).Increment();
    }
    if (IsFatal(result.status.code())) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        failed_ = true;
      }
      if (on_fatal_) on_fatal_(result.status);
    }
    FailAll(batch, result.status.code());
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const SubmissionResult& sr = result.submissions[i];
    CommitOutcome outcome;
    outcome.committed = sr.status.ok();
    if (!sr.status.ok()) {
      outcome.error = StatusCode::kError;
      if (metrics_) {
        metrics_->store_error("write", "other").Increment();
        metrics_->events_dropped("store_failed").Increment();
      }
    }
    if (sr.internal_error && errors_) {
      errors_->Report("ingest_writer", std::string_view("store write threw"));
    }
    outcome.inserted = sr.inserted;
    outcome.quarantined = sr.quarantined;
    std::exchange(batch[i].done, nullptr)(batch[i].submission, outcome);
  }
  if (on_job_) {
    for (const SubmissionResult& sr : result.submissions) {
      if (sr.status.ok() && sr.job_created) {
        on_job_();
        break;
      }
    }
  }
}

}  // namespace dlrd
