// OutboxStore: the fallback engine's port to durable state, used by the
// outbox dispatcher (one thread). Every method is one short transaction.
//
// Job states: pending -> in_flight -> accepted | retry_wait | dead.
// A job is marked in_flight (and committed) BEFORE its HTTP call, so after a
// crash an in_flight job means "outcome unknown", never "not sent"
// (docs/reliability.md §5.3); RecoverInFlight() decides what becomes of it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/status.h"
#include "dlrd/core/fallback/policy.h"

namespace dlrd {

struct OutboxJob {
  int64_t id = 0;
  std::string source;
  std::string root_id;
  int step = 0;
  std::string provider;
  Channel channel = Channel::kSms;
  Channel from_channel = Channel::kSms;  // the step that failed or stalled
  std::string recipient;
  int attempts = 0;  // including the one being made
  std::string idempotency_key;
  bool recovered = false;  // re-sent after a crash left it in_flight
};

// POST /v1/verifications: the app's own send, which starts the clock.
struct Registration {
  std::string verification_id;
  std::string source;
  std::string provider;   // the source's provider
  std::string recipient;  // E.164
  std::string country;
  Channel channel = Channel::kSms;
  int64_t sent_at_ms = 0;
};

struct OutboxDepth {
  std::map<std::string, int64_t> by_state;  // pending, in_flight, ...
  int64_t oldest_pending_age_ms = 0;        // 0 when none is pending
};

// GET /v1/verifications/{id}: everything known about one root.
struct ChainView {
  struct Step {
    int step = 0;
    std::string channel, provider, verification_id, status;
    int64_t sent_at_ms = 0, deadline_at_ms = 0;
  };
  struct Job {
    int step = 0;
    std::string channel, state, last_error, provider_ref;
    int attempts = 0;
    int64_t created_at_ms = 0, updated_at_ms = 0;
  };
  struct DecisionRow {
    int step = 0;
    std::string trigger, from, to, result, reason;
    bool wasted = false;
    int64_t at_ms = 0;
  };
  struct Event {
    std::string verification_id, channel, status, raw_status, error_code;
    int64_t received_at_ms = 0;
  };
  std::string source, root_id, recipient, country;
  bool fraud = false, invalid_number = false, opted_out = false;
  int64_t created_at_ms = 0;
  std::vector<Step> steps;
  std::vector<Job> jobs;
  std::vector<DecisionRow> decisions;
  std::vector<Event> events;
  // verified | delivered | failed | pending (from the steps' statuses).
  std::string outcome;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  // Creates the root and its step 0 (deadline = sent_at + the channel's
  // deadline). False when it already existed (a repeated registration).
  // An error names the problem (unknown source, no fallback, conflict).
  virtual Result<bool> Register(const Registration& r, int64_t now_ms) = 0;
  // Decides every step whose deadline passed.
  virtual Status ScanDeadlines(int64_t now_ms,
                               std::vector<FallbackNote>* notes) = 0;
  // Due jobs (pending, or retry_wait whose time came), marked in_flight.
  virtual Result<std::vector<OutboxJob>> ClaimDue(int64_t now_ms,
                                                  int limit) = 0;
  // The three outcomes below are fenced: each applies only while `job` is
  // still the caller's claim (in_flight, the same attempt, and on
  // PostgreSQL claimed by this replica). If the job was taken over
  // meanwhile (its lease ran out, RecoverInFlight reclaimed it, and it may
  // have been claimed again), nothing is written and the answer is
  // kSuperseded: the new claim owns the job, and writing a stale outcome
  // would send it again or escalate a channel another sender now owns.
  //
  // The provider took it: the step gets the provider's id and its deadline.
  virtual Status MarkAccepted(const OutboxJob& job, std::string_view ref,
                              int64_t now_ms) = 0;
  // `unknown_outcome`: the provider may have taken the failed attempt and
  // has no idempotency key; the job is marked `recovered`, so the next
  // unknown outcome escalates instead of sending again.
  virtual Status MarkRetry(const OutboxJob& job, int64_t next_attempt_at_ms,
                           std::string_view error, int64_t now_ms,
                           bool unknown_outcome) = 0;
  // No more attempts: dead, the root flagged when fraud/invalid, and the
  // next channel decided on as for a failure.
  virtual Status MarkDead(const OutboxJob& job, std::string_view error,
                          bool fraud, bool invalid_number, int64_t now_ms,
                          std::vector<FallbackNote>* notes) = 0;
  // Reclaims in_flight jobs whose lease ran out (claimed at or before
  // now_ms - lease_ms) and whose id is not in `held` (the caller's own
  // sends, still waiting for a reply or for their result to be written).
  // Such a job's outcome is unknown: it is re-sent once (same idempotency
  // key); one reclaimed again after that is dead and escalates. Returns
  // how many were reclaimed.
  virtual Result<int> RecoverInFlight(int64_t now_ms, int64_t lease_ms,
                                      const std::set<int64_t>& held,
                                      std::vector<FallbackNote>* notes) = 0;
  // The recipient asked not to be contacted (a send error such as Twilio
  // 21610): no fallback is sent to the number again.
  virtual Status RecordOptOut(std::string_view recipient,
                              std::string_view source, std::string_view reason,
                              int64_t now_ms) = 0;
  virtual Result<OutboxDepth> Depth(int64_t now_ms) = 0;
  // Decisions recorded after row `*after_id` (by either writer), oldest
  // first, at most `limit`; advances `*after_id`. With *after_id < 0 it
  // only sets it to the newest row, so history is not counted again.
  virtual Result<std::vector<Decision>> DecisionsSince(int64_t* after_id,
                                                       int limit) = 0;
  // By root id or by any step's provider id; nullopt when unknown.
  virtual Result<std::optional<ChainView>> Chain(std::string_view id) = 0;
};

// The kSuperseded answer of a fenced outcome, naming the job and attempt.
inline Status SupersededOutcome(const OutboxJob& job, std::string_view what) {
  return Status::Error(StatusCode::kSuperseded,
                       "outbox " + std::string(what) + ": job " +
                           std::to_string(job.id) + " attempt " +
                           std::to_string(job.attempts) +
                           " was taken over by a newer claim");
}

}  // namespace dlrd
