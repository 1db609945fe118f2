// RateLimiter: one token bucket per key, for 429 on the public listener.
//
// Each bucket holds up to `burst` tokens and refills continuously at
// `per_s` tokens per second; Allow() takes one token or refuses. A client
// that has been quiet for burst/per_s seconds is back to a full bucket,
// which is the same as having no bucket at all. WouldAllow() only looks.
//
// How the webhook listener uses it (webhook_routes.h): the key is the
// client's RateLimitKey (IPv4 /32, IPv6 /64), and a bucket is a budget of
// REFUSALS, not of requests. Only a request refused without a valid
// signature takes a token: 401 (bad or missing signature), 404 (unknown
// path or source), 405, 415, 403 (outside allow_ips), and the 503 asking
// Vonage to resend an unsigned copy signed. Once a client's bucket is
// empty, its requests are still verified (an HMAC costs microseconds) and
// a valid one is stored and answered as usual; only the refusals are
// answered 429, with no log line and no per-source metrics (the unsigned
// Vonage copy keeps its 503: Vonage retries only 5xx, and the copy may be
// genuine). So forged traffic from an address a provider shares with
// others (its egress IPs, a cloud NAT) can never get that provider's signed
// callbacks answered 429, and a flood of forgeries costs one verification
// each, not a log line, metric updates and an analytics row. Signed traffic
// never takes a token, not even a signed but malformed payload (400, which
// only the secret's holder can produce), so it never creates a bucket.
//
// Time comes from the caller (`now_ms`, Unix milliseconds from the Clock
// port), so tests need no sleeping. The wall clock can step: a step back
// refills nothing (and never refuses more), a step forward refills at most
// to `burst`.
//
// Memory is bounded: at most `max_buckets` keys are tracked. When a new key
// arrives and the table is full:
//   1. buckets that have refilled to `burst` are dropped (losslessly: a
//      full bucket behaves exactly like a missing one). This sweep looks at
//      every bucket, so it runs at most once per `sweep_interval_ms` of
//      `now`;
//   2. if the table is still full, the least recently used bucket is
//      dropped. Its client starts again with a full bucket, so under churn
//      of more than `max_buckets` clients the limiter errs on the lenient
//      side; it never refuses a request it would otherwise allow.
// About 200 bytes per bucket: 65536 buckets are ~13 MiB.
//
// Thread-safe: Allow() may be called from any thread (one mutex; the
// critical section is a hash lookup and a little arithmetic).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dlrd {

struct RateLimiterOptions {
  double per_s = 1;            // refill rate; REQUIRES: > 0
  int64_t burst = 1;           // capacity; REQUIRES: >= 1
  size_t max_buckets = 65536;  // REQUIRES: >= 1
  int64_t sweep_interval_ms = 1000;
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimiterOptions& options);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes a token from `key`'s bucket and returns true, or returns false if
  // the bucket is empty. On false, `*retry_after_s` (when not null) is set to
  // the whole seconds until a token is available: at least 1, for a
  // Retry-After header.
  bool Allow(std::string_view key, int64_t now_ms,
             int64_t* retry_after_s = nullptr);

  // True iff Allow() would return true now: `key` has no bucket or at
  // least one token. Takes nothing and creates no bucket.
  bool WouldAllow(std::string_view key, int64_t now_ms) const;

  // Buckets currently tracked.
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    double tokens;
    int64_t last_ms;
  };
  using List = std::list<Entry>;

  void Refill(Entry& e, int64_t now_ms) const;
  void MakeRoom(int64_t now_ms);  // REQUIRES: mu_ held

  const RateLimiterOptions options_;
  mutable std::mutex mu_;
  List lru_;  // most recently used first
  // Keys view the std::string inside each list node (nodes never move).
  std::unordered_map<std::string_view, List::iterator> index_;
  int64_t last_sweep_ms_ = 0;
  bool swept_ = false;
};

}  // namespace dlrd
