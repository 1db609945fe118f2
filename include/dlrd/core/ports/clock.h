// Clock: the one way the application reads wall time (a port).
// Pure code never reads a clock; it takes `now` from a caller that owns a
// Clock. The real clock is SystemClock (dlrd/app/time/system_clock.h);
// tests use a fake with a settable time.
#pragma once

#include <cstdint>

namespace dlrd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual int64_t NowMs() const = 0;
};

}  // namespace dlrd
