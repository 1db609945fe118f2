// IngestQueue against a FakeEventStore: backpressure, store failures, the
// fatal-error rule and Stop(). The fake's gate holds the writer inside
// CommitBatch() so the queue can be filled deterministically.
#include "dlrd/app/ingest/ingest_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include <stdexcept>

#include "dlrd/app/metrics/internal_errors.h"
#include "testutil/fake_event_store.h"

namespace dlrd {
namespace {

using namespace std::chrono_literals;
using testutil::FakeEventStore;
using SubmitResult = IngestQueue::SubmitResult;

Submission MakeSubmission(const std::string& key) {
  DeliveryEvent e;
  e.source = "src";
  e.provider = "verifynow";
  e.dedupe_key = key;
  e.verification_id = "ver-" + key;
  e.channel = Channel::kSms;
  e.status = DeliveryStatus::kDelivered;
  e.raw_status = "DELIVERED";
  Submission s;
  s.raw.source = "src";
  s.raw.body = "{\"key\":\"" + key + "\"}";
  s.events.push_back(std::move(e));
  return s;
}

// Records every completion by dedupe key; thread-safe.
class Recorder {
 public:
  IngestQueue::Completion Done() {
    return [this](const Submission& s, const CommitOutcome& c) {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string key =
          s.events.empty() ? std::string() : s.events[0].dedupe_key;
      calls_[key]++;
      outcomes_[key] = c;
      total_++;
      cv_.notify_all();
    };
  }
  bool WaitForTotal(int n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return total_ >= n; });
  }
  int calls(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(key);
    return it == calls_.end() ? 0 : it->second;
  }
  CommitOutcome outcome(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_[key];
  }
  int total() {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> calls_;
  std::map<std::string, CommitOutcome> outcomes_;
  int total_ = 0;
};

class IngestQueueTest : public ::testing::Test {
 protected:
  void MakeQueue(size_t capacity, size_t max_batch) {
    IngestQueueOptions o;
    o.capacity = capacity;
    o.max_batch = max_batch;
    queue_ = std::make_unique<IngestQueue>(
        store_, o, /*metrics=*/nullptr, [this](const Status& s) {
          std::lock_guard<std::mutex> lock(fatal_mu_);
          fatal_calls_++;
          fatal_message_ = s.message();
          fatal_cv_.notify_all();
        });
    queue_->Start();
  }
  SubmitResult Submit(const std::string& key) {
    return queue_->Submit(MakeSubmission(key), rec_.Done());
  }
  // Starts one submission and waits until the writer holds it at the gate,
  // so everything submitted afterwards stays queued.
  void ParkWriterOn(const std::string& key) {
    store_.HoldCommits();
    const size_t before = store_.calls();
    ASSERT_EQ(Submit(key), SubmitResult::kQueued);
    ASSERT_TRUE(store_.WaitForCallsAtGate(before + 1));
    ASSERT_EQ(queue_->depth(), 0u);
  }
  bool WaitForFatal(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(fatal_mu_);
    return fatal_cv_.wait_for(lock, timeout, [&] { return fatal_calls_ > 0; });
  }
  int fatal_calls() {
    std::lock_guard<std::mutex> lock(fatal_mu_);
    return fatal_calls_;
  }
  void TearDown() override {
    // A held writer would make the queue's destructor wait forever.
    store_.ReleaseCommits();
    if (queue_) queue_->Stop();
  }

  FakeEventStore store_;
  Recorder rec_;
  std::unique_ptr<IngestQueue> queue_;
  std::mutex fatal_mu_;
  std::condition_variable fatal_cv_;
  int fatal_calls_ = 0;
  std::string fatal_message_;
};

TEST_F(IngestQueueTest, CommitsAndReportsInsertedFlags) {
  MakeQueue(16, 16);
  ASSERT_EQ(Submit("a"), SubmitResult::kQueued);
  ASSERT_TRUE(rec_.WaitForTotal(1));
  ASSERT_EQ(Submit("a"), SubmitResult::kQueued);  // duplicate
  ASSERT_TRUE(rec_.WaitForTotal(2));
  queue_->Stop();
  EXPECT_EQ(rec_.calls("a"), 2);
  CommitOutcome dup = rec_.outcome("a");
  EXPECT_TRUE(dup.committed);
  EXPECT_EQ(dup.inserted, std::vector<bool>{false});
  EXPECT_EQ(store_.stored_events(), 1u);
}

TEST_F(IngestQueueTest, FullQueueReturnsFullImmediately) {
  MakeQueue(/*capacity=*/3, /*max_batch=*/8);
  ParkWriterOn("in-flight");
  for (const char* k : {"q1", "q2", "q3"}) {
    ASSERT_EQ(Submit(k), SubmitResult::kQueued) << k;
  }
  ASSERT_EQ(queue_->depth(), 3u);

  // Run the over-capacity Submit on another thread so a Submit that blocked
  // (instead of returning kFull) fails the test rather than hanging it.
  std::atomic<bool> rejected_completion_called{false};
  Submission extra = MakeSubmission("overflow");
  auto fut = std::async(std::launch::async, [&] {
    auto start = std::chrono::steady_clock::now();
    SubmitResult r = queue_->Submit(
        std::move(extra), [&](const Submission&, const CommitOutcome&) {
          rejected_completion_called = true;
        });
    return std::make_pair(r, std::chrono::steady_clock::now() - start);
  });
  if (fut.wait_for(2s) != std::future_status::ready) {
    store_.ReleaseCommits();
    FAIL() << "Submit blocked on a full queue";
  }
  auto [result, took] = fut.get();
  EXPECT_EQ(result, SubmitResult::kFull);
  EXPECT_LT(took, 500ms);
  // On kFull the queue did not take the submission.
  ASSERT_EQ(extra.events.size(), 1u);
  EXPECT_EQ(extra.events[0].dedupe_key, "overflow");
  EXPECT_EQ(queue_->depth(), 3u);

  store_.ReleaseCommits();
  ASSERT_TRUE(rec_.WaitForTotal(4));
  queue_->Stop();
  for (const char* k : {"in-flight", "q1", "q2", "q3"}) {
    EXPECT_EQ(rec_.calls(k), 1) << k;
    EXPECT_TRUE(rec_.outcome(k).committed) << k;
  }
  EXPECT_EQ(rec_.total(), 4);
  EXPECT_FALSE(rejected_completion_called.load());
  EXPECT_FALSE(store_.Contains("src", "overflow"));
  // The three queued ones rode one transaction behind the held one.
  EXPECT_EQ(store_.batch_sizes(), (std::vector<size_t>{1, 3}));
}

TEST_F(IngestQueueTest, BusyBatchFailsEveryMemberAndQueueStaysHealthy) {
  MakeQueue(16, 16);
  store_.FailCall(2, StatusCode::kBusy, "database is locked");
  ParkWriterOn("first");  // call 1
  for (const char* k : {"b1", "b2", "b3"}) {
    ASSERT_EQ(Submit(k), SubmitResult::kQueued);
  }
  store_.ReleaseCommits();  // call 2 = {b1, b2, b3}, busy
  ASSERT_TRUE(rec_.WaitForTotal(4));
  ASSERT_EQ(store_.batch_sizes(), (std::vector<size_t>{1, 3}));

  EXPECT_TRUE(rec_.outcome("first").committed);
  for (const char* k : {"b1", "b2", "b3"}) {
    EXPECT_EQ(rec_.calls(k), 1) << k;
    EXPECT_FALSE(rec_.outcome(k).committed) << k;
    EXPECT_EQ(rec_.outcome(k).error, StatusCode::kBusy) << k;
    EXPECT_FALSE(store_.Contains("src", k)) << k;
  }
  EXPECT_EQ(fatal_calls(), 0);
  EXPECT_TRUE(queue_->healthy());

  // Busy is not fatal: the next submission commits normally.
  ASSERT_EQ(Submit("after"), SubmitResult::kQueued);
  ASSERT_TRUE(rec_.WaitForTotal(5));
  EXPECT_TRUE(rec_.outcome("after").committed);
  EXPECT_EQ(rec_.outcome("after").inserted, std::vector<bool>{true});
  EXPECT_TRUE(queue_->healthy());
}

TEST_F(IngestQueueTest, DiskFullFailsTheBatchButIsNotFatal) {
  MakeQueue(16, 16);
  store_.FailCall(2, StatusCode::kFull, "database or disk is full");
  ParkWriterOn("first");  // call 1
  ASSERT_EQ(Submit("full"), SubmitResult::kQueued);
  store_.ReleaseCommits();  // call 2: disk full
  ASSERT_TRUE(rec_.WaitForTotal(2));
  EXPECT_FALSE(rec_.outcome("full").committed);
  EXPECT_EQ(rec_.outcome("full").error, StatusCode::kFull);
  EXPECT_EQ(fatal_calls(), 0);
  EXPECT_TRUE(queue_->healthy());
  // Space is back: the next submission commits, no restart needed.
  ASSERT_EQ(Submit("after"), SubmitResult::kQueued);
  ASSERT_TRUE(rec_.WaitForTotal(3));
  EXPECT_TRUE(rec_.outcome("after").committed);
}

// A networked store that lost its connection: the batch is answered with
// the unavailable class (503), nothing is fatal, /readyz (healthy) is false
// while it is down, and the idle writer reconnects by itself, with no
// traffic to trigger it (a load balancer sends none to an unready replica).
TEST_F(IngestQueueTest, LostConnectionIsNotFatalAndTheIdleWriterReconnects) {
  MakeQueue(16, 16);
  store_.FailCall(1, StatusCode::kUnavailable, "connection lost");
  ASSERT_EQ(Submit("lost"), SubmitResult::kQueued);
  ASSERT_TRUE(rec_.WaitForTotal(1));
  EXPECT_FALSE(rec_.outcome("lost").committed);
  EXPECT_EQ(rec_.outcome("lost").error, StatusCode::kUnavailable);
  EXPECT_EQ(fatal_calls(), 0);

  store_.GoDown(3);
  EXPECT_FALSE(queue_->healthy());
  // Wake the writer once so it notices (a real adapter goes down inside a
  // CommitBatch); it then keeps reconnecting while idle.
  ASSERT_EQ(Submit("during"), SubmitResult::kQueued);
  ASSERT_TRUE(rec_.WaitForTotal(2));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!queue_->healthy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(queue_->healthy());
  EXPECT_GE(store_.reconnects(), 3);
  ASSERT_EQ(Submit("after"), SubmitResult::kQueued);
  ASSERT_TRUE(rec_.WaitForTotal(3));
  EXPECT_TRUE(rec_.outcome("after").committed);
}

TEST_F(IngestQueueTest, SubmissionFailureFailsOnlyThatSubmission) {
  MakeQueue(16, 16);
  store_.FailSubmissionsWhere([](const Submission& s) {
    return s.events[0].dedupe_key == "bad";
  });
  ParkWriterOn("first");
  for (const char* k : {"ok1", "bad", "ok2"}) {
    ASSERT_EQ(Submit(k), SubmitResult::kQueued);
  }
  store_.ReleaseCommits();
  ASSERT_TRUE(rec_.WaitForTotal(4));
  ASSERT_EQ(store_.batch_sizes(), (std::vector<size_t>{1, 3}));
  EXPECT_TRUE(rec_.outcome("ok1").committed);
  EXPECT_TRUE(rec_.outcome("ok2").committed);
  EXPECT_FALSE(rec_.outcome("bad").committed);
  EXPECT_NE(rec_.outcome("bad").error, StatusCode::kOk);
  EXPECT_FALSE(store_.Contains("src", "bad"));
  EXPECT_EQ(fatal_calls(), 0);
  EXPECT_TRUE(queue_->healthy());
}

class FatalStoreErrorTest
    : public IngestQueueTest,
      public ::testing::WithParamInterface<StatusCode> {};

TEST_P(FatalStoreErrorTest, ClosesQueueAndFailsEverythingBehindIt) {
  // max_batch 1: the submissions behind the failing one are separate
  // batches, so a second on_fatal (or a commit attempt) would show.
  MakeQueue(16, /*max_batch=*/1);
  store_.FailCall(1, GetParam(), "disk I/O error");
  ParkWriterOn("doomed");
  for (const char* k : {"behind1", "behind2", "behind3"}) {
    ASSERT_EQ(Submit(k), SubmitResult::kQueued);
  }
  store_.ReleaseCommits();
  ASSERT_TRUE(WaitForFatal());
  ASSERT_TRUE(rec_.WaitForTotal(4));

  EXPECT_FALSE(queue_->healthy());
  {
    std::lock_guard<std::mutex> lock(fatal_mu_);
    EXPECT_EQ(fatal_message_, "disk I/O error");
  }
  bool late_completion_called = false;
  EXPECT_EQ(queue_->Submit(MakeSubmission("late"),
                           [&](const Submission&, const CommitOutcome&) {
                             late_completion_called = true;
                           }),
            SubmitResult::kClosed);

  EXPECT_FALSE(rec_.outcome("doomed").committed);
  EXPECT_EQ(rec_.outcome("doomed").error, GetParam());
  for (const char* k : {"doomed", "behind1", "behind2", "behind3"}) {
    EXPECT_EQ(rec_.calls(k), 1) << k;
    EXPECT_FALSE(rec_.outcome(k).committed) << k;
    EXPECT_TRUE(rec_.outcome(k).inserted.empty()) << k;
  }
  // Nothing behind the fatal error reached the store.
  EXPECT_EQ(store_.calls(), 1u);
  EXPECT_EQ(store_.stored_events(), 0u);

  queue_->Stop();
  EXPECT_EQ(fatal_calls(), 1);
  EXPECT_EQ(rec_.total(), 4);
  EXPECT_FALSE(late_completion_called);
  EXPECT_EQ(Submit("after-stop"), SubmitResult::kClosed);
}

INSTANTIATE_TEST_SUITE_P(Kinds, FatalStoreErrorTest,
                         ::testing::Values(StatusCode::kIo,
                                           StatusCode::kCorrupt),
                         [](const auto& info) {
                           return std::string(ToString(info.param));
                         });

TEST_F(IngestQueueTest, StopCommitsEverythingQueuedExactlyOnce) {
  MakeQueue(/*capacity=*/1024, /*max_batch=*/2);
  ParkWriterOn("p0");
  std::vector<std::string> keys = {"p0"};
  for (int i = 1; i <= 6; ++i) {
    keys.push_back("k" + std::to_string(i));
    ASSERT_EQ(Submit(keys.back()), SubmitResult::kQueued);
  }

  // Stop() while the writer is held and six submissions are queued. It
  // blocks (joining the writer), so run it aside and probe until the queue
  // reports closed; every probe it accepted before that must commit too.
  std::thread stopper([&] { queue_->Stop(); });
  SubmitResult probe_result = SubmitResult::kQueued;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    std::string key = "probe" + std::to_string(i);
    probe_result = Submit(key);
    if (probe_result != SubmitResult::kQueued) break;
    keys.push_back(key);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(probe_result, SubmitResult::kClosed);

  store_.ReleaseCommits();
  stopper.join();

  EXPECT_EQ(rec_.total(), static_cast<int>(keys.size()));
  for (const std::string& k : keys) {
    EXPECT_EQ(rec_.calls(k), 1) << k;
    EXPECT_TRUE(rec_.outcome(k).committed) << k;
    EXPECT_TRUE(store_.Contains("src", k)) << k;
  }
  for (size_t n : store_.batch_sizes()) EXPECT_LE(n, 2u);
  EXPECT_EQ(queue_->depth(), 0u);
  EXPECT_EQ(Submit("after-stop"), SubmitResult::kClosed);
  EXPECT_EQ(rec_.calls("after-stop"), 0);
  queue_->Stop();  // idempotent
  EXPECT_EQ(rec_.total(), static_cast<int>(keys.size()));
}

// The header allows Stop() from any thread and calls it idempotent, so two
// callers at once (e.g. a signal and a fatal store error handled on two I/O
// threads) must both return, without error, only after the writer finished.
//
// Known bug (reported): Stop() calls writer_.join() from both callers, and
// the second join of the same std::thread hangs (glibc) or throws. The test
// fails instead of hanging: on a hang it leaks the queue and the stuck
// thread's state so the stuck thread never touches freed memory.
TEST_F(IngestQueueTest, ConcurrentStopCallsBothWaitForTheWriter) {
  struct Shared {
    Recorder rec;
    std::atomic<int> returned{0};
    std::atomic<int> errors{0};
    std::atomic<int> returned_early{0};
  };
  auto* shared = new Shared;
  auto* queue = new IngestQueue(store_, IngestQueueOptions{16, 16},
                                /*metrics=*/nullptr, /*on_fatal=*/nullptr);
  queue->Start();
  store_.HoldCommits();
  ASSERT_EQ(queue->Submit(MakeSubmission("held"), shared->rec.Done()),
            SubmitResult::kQueued);
  ASSERT_TRUE(store_.WaitForCallsAtGate(1));
  ASSERT_EQ(queue->Submit(MakeSubmission("queued"), shared->rec.Done()),
            SubmitResult::kQueued);

  auto stop = [shared, queue] {
    try {
      queue->Stop();
    } catch (const std::exception&) {
      shared->errors++;
    }
    if (shared->rec.total() != 2) shared->returned_early++;
    shared->returned++;
  };
  std::thread a(stop);
  std::thread b(stop);
  std::this_thread::sleep_for(50ms);  // let both reach Stop()
  EXPECT_EQ(shared->returned.load(), 0)
      << "Stop() returned while the writer was still held";
  store_.ReleaseCommits();

  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (shared->returned.load() < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  if (shared->returned.load() < 2) {
    a.detach();
    b.detach();  // `queue` and `shared` are leaked on purpose
    FAIL() << "concurrent Stop() did not return within 2 s ("
           << shared->returned.load() << " of 2 returned)";
  }
  a.join();
  b.join();
  EXPECT_EQ(shared->errors.load(), 0) << "Stop() threw";
  EXPECT_EQ(shared->returned_early.load(), 0)
      << "Stop() returned before the queued work was committed";
  EXPECT_EQ(shared->rec.calls("held"), 1);
  EXPECT_EQ(shared->rec.calls("queued"), 1);
  delete queue;
  delete shared;
}

TEST_F(IngestQueueTest, StopOnIdleQueueReturnsAndClosesIt) {
  MakeQueue(4, 4);
  queue_->Stop();
  EXPECT_EQ(Submit("x"), SubmitResult::kClosed);
  EXPECT_TRUE(queue_->healthy());
  EXPECT_EQ(store_.calls(), 0u);
}

// A store whose CommitBatch throws on its first call, then works.
class ThrowingOnceStore final : public EventStore {
 public:
  BatchResult CommitBatch(
      const std::vector<const Submission*>& batch) override {
    if (!thrown_.exchange(true)) throw std::runtime_error("store bug");
    return inner_.CommitBatch(batch);
  }
  FakeEventStore inner_;

 private:
  std::atomic<bool> thrown_{false};
};

TEST(IngestQueueBarrierTest, AThrowingCommitFailsItsBatchAndTheWriterGoesOn) {
  ThrowingOnceStore store;
  prometheus::Registry registry;
  InternalErrors errors(registry, nullptr);
  IngestQueue queue(store, {16, 16}, nullptr, [](const Status&) {});
  queue.SetInternalErrors(&errors);
  Recorder rec;
  queue.Start();
  ASSERT_EQ(queue.Submit(MakeSubmission("thrown"), rec.Done()),
            SubmitResult::kQueued);
  ASSERT_TRUE(rec.WaitForTotal(1));
  EXPECT_EQ(rec.calls("thrown"), 1);
  EXPECT_FALSE(rec.outcome("thrown").committed);
  EXPECT_EQ(errors.count("ingest_writer"), 1);

  ASSERT_EQ(queue.Submit(MakeSubmission("next"), rec.Done()),
            SubmitResult::kQueued);
  ASSERT_TRUE(rec.WaitForTotal(2));
  EXPECT_TRUE(rec.outcome("next").committed);
  EXPECT_TRUE(store.inner_.Contains("src", "next"));
  EXPECT_TRUE(queue.healthy());
  queue.Stop();
  EXPECT_EQ(rec.calls("thrown"), 1);  // answered once, never again
}

}  // namespace
}  // namespace dlrd
