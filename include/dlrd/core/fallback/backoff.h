// Retry delays for outbound sends: capped exponential backoff with full
// jitter, and Retry-After (docs/reliability.md §5.4).
//
// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
// the delay is drawn uniformly from [0, min(cap, base * 2^(attempt-1))), so
// clients that failed together do not retry together. A server's
// Retry-After is a floor, never shortened by jitter, and every delay is
// clamped to a ceiling so a hostile or broken Retry-After cannot park a
// job for days.
//
// Pure: no clock and no random source. The caller passes `unit`, a uniform
// random value in [0, 1); tests pass fixed values. Out-of-range input is
// clamped rather than rejected: unit < 0 or NaN acts as 0, unit >= 1 as the
// largest value below 1; attempt < 1 acts as 1; negative policy values act
// as 0. Nothing here overflows, whatever the attempt number.
#pragma once

#include <cstdint>

namespace dlrd {

struct RetryPolicy {
  // First backoff window. The window doubles per attempt up to cap_ms.
  int64_t base_ms = 1000;
  // Largest backoff window: with the defaults it is reached at attempt 7
  // (1 s, 2 s, 4 s, ... 64 s capped to 60 s).
  int64_t cap_ms = 60000;
  // Largest delay of all, Retry-After included (15 min, docs/reliability.md
  // §5.4). A longer Retry-After is cut to this.
  int64_t ceiling_ms = 900000;
  // Attempts per job, the first included. The dispatcher stops retrying
  // (and escalates to the next channel) after this many failed attempts;
  // the functions below do not read it.
  int max_attempts = 5;
};

// The full-jitter backoff before retry number `attempt` (1-based: the
// delay after the first failure is attempt 1):
//   floor(unit * min(cap_ms, base_ms * 2^(attempt-1))),
// in [0, window) for a positive window, 0 otherwise.
int64_t FullJitterBackoffMs(int attempt, const RetryPolicy& policy,
                            double unit);

// The delay before retry number `attempt`:
//   clamp(max(retry_after_ms, FullJitterBackoffMs(...)), 0, ceiling_ms).
// `retry_after_ms` is the server's Retry-After in ms from now, or -1 when
// there is none (see ParseRetryAfterMs in dlrd/outbound/send_adapter.h).
int64_t RetryDelayMs(int attempt, int64_t retry_after_ms,
                     const RetryPolicy& policy, double unit);

}  // namespace dlrd
