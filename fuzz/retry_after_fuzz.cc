// Retry-After parsing: delta-seconds and the three HTTP-date forms
// (ParseRetryAfterMs in src/core/outbound/send_adapter.cc, public in
// include/dlrd/core/outbound/send_adapter.h), directly and through every send
// adapter's Classify() on a 429 and a 503 carrying it.
//
// Input: byte 0 picks "now"; the rest is the header value. Invariants: the
// result is -1 (absent/unparsable) or >= 0; an all-digit value is its
// seconds (capped) in ms; Classify never reports a retry_after_ms below -1.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "send_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // 1970, 2025, 2100 and the last millisecond of 9999 (unix ms).
  static constexpr int64_t kNows[] = {0, 1735689600123, 4102444800000,
                                      253402300799999};
  const int64_t now = kNows[data[0] % 4];
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);

  const int64_t ms = dlrd::ParseRetryAfterMs(value, now);
  DLRD_FUZZ_CHECK(ms == -1 || ms >= 0, value);
  bool digits = !value.empty();
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    DLRD_FUZZ_CHECK(ms >= 0 && ms % 1000 == 0, value);
    if (value.size() <= 6) {
      DLRD_FUZZ_CHECK(ms <= std::stoll(value) * 1000, value);
    }
  }

  for (const auto& adapter : dlrd::fuzz::SendAdapters()) {
    for (int status : {429, 503}) {
      dlrd::HttpReply reply;
      reply.status = status;
      reply.headers.emplace_back("Retry-After", value);
      dlrd::SendOutcome out = adapter->Classify(reply, now);
      DLRD_FUZZ_CHECK(out.retry_after_ms >= -1, value);
      DLRD_FUZZ_CHECK(!out.accepted(), value);
    }
  }
  return 0;
}
