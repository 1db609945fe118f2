#include "dlrd/app/ingest/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace dlrd {
namespace {

// Refills are summed in floating point, so ten 100 ms refills at 1/s come
// to 0.999...; treat a shortfall this small as a whole token.
constexpr double kEpsilon = 1e-9;

}  // namespace

RateLimiter::RateLimiter(const RateLimiterOptions& options)
    : options_(options) {
  index_.reserve(std::min<size_t>(options_.max_buckets, 1024));
}

void RateLimiter::Refill(Entry& e, int64_t now_ms) const {
  if (now_ms > e.last_ms) {
    const double added =
        static_cast<double>(now_ms - e.last_ms) * options_.per_s / 1000.0;
    e.tokens = std::min(static_cast<double>(options_.burst), e.tokens + added);
  }
  e.last_ms = now_ms;
}

void RateLimiter::MakeRoom(int64_t now_ms) {
  const bool sweep_due = !swept_ || now_ms < last_sweep_ms_ ||
                         now_ms - last_sweep_ms_ >= options_.sweep_interval_ms;
  if (sweep_due) {
    swept_ = true;
    last_sweep_ms_ = now_ms;
    const double full = static_cast<double>(options_.burst);
    for (auto it = lru_.begin(); it != lru_.end();) {
      Refill(*it, now_ms);
      if (it->tokens + kEpsilon >= full) {
        index_.erase(it->key);
        it = lru_.erase(it);
      } else {
        ++it;
      }
    }
  }
  while (!lru_.empty() && index_.size() >= options_.max_buckets) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

bool RateLimiter::Allow(std::string_view key, int64_t now_ms,
                        int64_t* retry_after_s) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = index_.find(key);
  List::iterator it;
  if (found == index_.end()) {
    if (index_.size() >= options_.max_buckets) MakeRoom(now_ms);
    lru_.push_front(
        Entry{std::string(key), static_cast<double>(options_.burst), now_ms});
    it = lru_.begin();
    index_.emplace(it->key, it);
  } else {
    it = found->second;
    lru_.splice(lru_.begin(), lru_, it);  // iterators stay valid
    Refill(*it, now_ms);
  }
  if (it->tokens + kEpsilon >= 1.0) {
    it->tokens -= 1.0;
    return true;
  }
  if (retry_after_s) {
    const double wait_s = (1.0 - it->tokens) / options_.per_s;
    constexpr double kMaxRetryAfterS = 86'400;
    *retry_after_s = static_cast<int64_t>(
        std::clamp(std::ceil(wait_s), 1.0, kMaxRetryAfterS));
  }
  return false;
}

bool RateLimiter::WouldAllow(std::string_view key, int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return true;
  Entry e = *found->second;  // a copy: looking must not move `last_ms`
  Refill(e, now_ms);
  return e.tokens + kEpsilon >= 1.0;
}

size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}

}  // namespace dlrd
