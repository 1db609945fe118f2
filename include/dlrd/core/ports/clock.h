// Clock: the one way the application reads wall time (a port).
// Pure code never reads a clock; it takes `now` from a caller that owns a
// Clock. Tests use a fake with a settable time.
#pragma once

#include <cstdint>

namespace dlrd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual int64_t NowMs() const = 0;
};

// The system's real-time clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
};

}  // namespace dlrd
