// Group commit end to end: many concurrent submitters feed one IngestQueue
// in front of the real SQLite store (on a file, synchronous=FULL). Every
// submission is committed exactly once, and the store sees far fewer
// transactions than submissions.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dlrd/app/ingest/ingest_queue.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "testutil/counting_event_store.h"
#include "testutil/sqlite_file.h"
#include "testutil/temp_dir.h"

namespace dlrd {
namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 500;
constexpr int kTotal = kThreads * kPerThread;

Submission MakeSubmission(int id) {
  DeliveryEvent e;
  e.source = "src";
  e.provider = "verifynow";
  e.dedupe_key = "key-" + std::to_string(id);
  e.verification_id = "ver-" + std::to_string(id % 97);
  e.channel = Channel::kSms;
  e.status = id % 3 == 0 ? DeliveryStatus::kFailed : DeliveryStatus::kDelivered;
  e.raw_status = std::string(ToString(e.status));
  e.received_at_ms = 1'700'000'000'000 + id;
  Submission s;
  s.raw.source = "src";
  s.raw.target = "/webhooks/src";
  s.raw.head = "POST /webhooks/src HTTP/1.1\r\n\r\n";
  s.raw.body = "{\"id\":" + std::to_string(id) + "}";
  s.raw.received_at_ms = e.received_at_ms;
  s.events.push_back(std::move(e));
  return s;
}

TEST(GroupCommitTest, ConcurrentSubmittersShareTransactions) {
  testutil::TempDir dir;
  const std::string path = dir.File("group.db");
  auto opened = SqliteEventStore::Open(path, SqliteOptions{});
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<SqliteEventStore> sqlite = std::move(opened).value();
  testutil::CountingEventStore counting(*sqlite);

  std::atomic<int> fatal_calls{0};
  IngestQueueOptions options;
  options.capacity = kTotal;  // never full: every Submit must be queued
  options.max_batch = 512;
  IngestQueue queue(counting, options, /*metrics=*/nullptr,
                    [&](const Status&) { fatal_calls++; });
  queue.Start();
  // Park the writer on the first commit so the submitters provably run
  // while a transaction is in progress (rather than hoping the disk is
  // slower than they are: on tmpfs or a loaded machine it may not be).
  counting.HoldCommits();

  std::vector<std::atomic<int>> completions(kTotal);
  std::vector<std::atomic<int>> committed(kTotal);
  std::vector<std::atomic<int>> inserted(kTotal);
  std::atomic<int> not_queued{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        auto r = queue.Submit(
            MakeSubmission(id),
            [&, id](const Submission& s, const CommitOutcome& c) {
              completions[id]++;
              if (c.committed) committed[id]++;
              if (c.inserted == std::vector<bool>{true} &&
                  s.events.size() == 1 &&
                  s.events[0].dedupe_key == "key-" + std::to_string(id)) {
                inserted[id]++;
              }
            });
        if (r != IngestQueue::SubmitResult::kQueued) not_queued++;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const bool parked = counting.WaitForCallsAtGate(1);
  counting.ReleaseCommits();
  queue.Stop();  // commits whatever is still queued, joins the writer
  ASSERT_TRUE(parked) << "the writer never started a commit";

  EXPECT_EQ(not_queued.load(), 0);
  EXPECT_EQ(fatal_calls.load(), 0);
  EXPECT_TRUE(queue.healthy());
  int bad_completion = 0, bad_commit = 0, bad_insert = 0;
  for (int id = 0; id < kTotal; ++id) {
    bad_completion += completions[id].load() != 1;
    bad_commit += committed[id].load() != 1;
    bad_insert += inserted[id].load() != 1;
  }
  EXPECT_EQ(bad_completion, 0) << "submissions not completed exactly once";
  EXPECT_EQ(bad_commit, 0) << "submissions not reported committed";
  EXPECT_EQ(bad_insert, 0) << "submissions without inserted == {true}";

  testutil::SqliteFile db(path);
  EXPECT_EQ(db.Int("SELECT count(*) FROM delivery_events"), kTotal);
  EXPECT_EQ(db.Int("SELECT count(DISTINCT dedupe_key) FROM delivery_events"),
            kTotal);
  EXPECT_EQ(db.Int("SELECT count(*) FROM raw_requests"), kTotal);

  // Batching: everything submitted while the first transaction was held
  // piled up behind it and is committed in full batches of max_batch, so
  // after the held one (of whatever the writer had taken by then) there are
  // only ceil(rest / max_batch) more transactions.
  const size_t calls = counting.calls();
  const std::vector<size_t> sizes = counting.batch_sizes();
  size_t in_batches = 0;
  for (size_t n : sizes) {
    EXPECT_LE(n, options.max_batch);
    in_batches += n;
  }
  EXPECT_EQ(in_batches, static_cast<size_t>(kTotal));
  ASSERT_FALSE(sizes.empty());
  const size_t rest = static_cast<size_t>(kTotal) - sizes[0];
  EXPECT_EQ(calls, 1 + (rest + options.max_batch - 1) / options.max_batch)
      << "expected group commit; max batch " << counting.max_batch_size();
  EXPECT_EQ(counting.max_batch_size(), options.max_batch);
  RecordProperty("commit_batches", static_cast<int>(calls));
  RecordProperty("max_batch", static_cast<int>(counting.max_batch_size()));
}

}  // namespace
}  // namespace dlrd
