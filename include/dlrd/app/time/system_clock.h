// SystemClock: the Clock port (dlrd/core/ports/clock.h) on the system's
// real-time clock. Reading it is I/O, so it lives in the application layer;
// the composition root (src/cli) makes one and hands it down as a Clock.
#pragma once

#include <cstdint>

#include "dlrd/core/ports/clock.h"

namespace dlrd {

// The system's real-time clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
};

}  // namespace dlrd
