#include "fake_event_store.h"

namespace dlrd::testutil {

BatchResult FakeEventStore::CommitBatch(
    const std::vector<const Submission*>& batch) {
  std::unique_lock<std::mutex> lock(mu_);
  const size_t call_number = ++arrived_;
  batch_sizes_.push_back(batch.size());
  cv_.notify_all();
  cv_.wait(lock, [&] { return !held_; });

  BatchResult result;
  if (auto it = failures_.find(call_number); it != failures_.end()) {
    result.status = Status::Error(it->second.kind, it->second.message);
    result.submissions.resize(batch.size());
    return result;
  }

  // Stage into a copy so a submission's events land together or not at all.
  auto keys = keys_;
  std::vector<Submission> stored;
  result.submissions.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Submission& sub = *batch[i];
    SubmissionResult& out = result.submissions[i];
    out.inserted.assign(sub.events.size(), false);
    if (fail_submission_ && fail_submission_(sub)) {
      out.status = Status::Error("scripted submission failure");
      continue;
    }
    for (size_t j = 0; j < sub.events.size(); ++j) {
      const DeliveryEvent& e = sub.events[j];
      out.inserted[j] = keys.emplace(e.source, e.dedupe_key).second;
    }
    // Quarantine-only submissions: always room (no caps in the fake).
    out.quarantined.assign(sub.quarantine.size(), true);
    bool keep = !sub.signature_failures.empty() ||  // counts-only
                !sub.quarantine.empty();
    for (bool b : out.inserted) keep = keep || b;
    if (keep) stored.push_back(sub);
  }
  keys_ = std::move(keys);
  for (Submission& s : stored) committed_.push_back(std::move(s));
  return result;
}

void FakeEventStore::FailCall(size_t call_number, StatusCode kind,
                              std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_[call_number] = ScriptedFailure{kind, std::move(message)};
}

void FakeEventStore::FailSubmissionsWhere(SubmissionPredicate pred) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_submission_ = std::move(pred);
}

void FakeEventStore::HoldCommits() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = true;
}

void FakeEventStore::ReleaseCommits() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
  }
  cv_.notify_all();
}

bool FakeEventStore::WaitForCallsAtGate(size_t n,
                                        std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return arrived_ >= n; });
}

size_t FakeEventStore::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return arrived_;
}

std::vector<size_t> FakeEventStore::batch_sizes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_sizes_;
}

size_t FakeEventStore::stored_events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.size();
}

bool FakeEventStore::Contains(const std::string& source,
                              const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.count({source, key}) > 0;
}

std::vector<Submission> FakeEventStore::committed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_;
}

void FakeEventStore::GoDown(int attempts) {
  std::lock_guard<std::mutex> lock(mu_);
  attempts_left_ = attempts;
  down_ = true;
}

bool FakeEventStore::available() const { return !down_; }

int64_t FakeEventStore::Reconnect() {
  std::lock_guard<std::mutex> lock(mu_);
  ++reconnects_;
  if (attempts_left_ > 0 && --attempts_left_ == 0) down_ = false;
  return down_ ? 20 : 0;
}

int FakeEventStore::reconnects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reconnects_;
}

}  // namespace dlrd::testutil
