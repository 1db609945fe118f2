// Every send adapter's parsing of provider replies
// (include/dlrd/core/outbound/send_adapter.h MakeSendAdapter + Classify).
//
// Input: byte 0 picks the provider; the rest is a reply as text
// (fuzz_util.h) whose first line is the status code (0-999; anything else
// is 200), then headers, a blank line and the body. Invariants: exactly one
// outcome; an accepted one has a printable provider id of at most 128
// bytes, except Sinch's 409 duplicate-reference answer; retry_after_ms is
// never below -1; a failure has a detail.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "send_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& adapters = dlrd::fuzz::SendAdapters();
  const dlrd::SendAdapter& adapter = *adapters[data[0] % adapters.size()];
  dlrd::fuzz::TextMessage m = dlrd::fuzz::ParseTextMessage(
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  dlrd::HttpReply reply;
  reply.status = 200;
  std::string_view s = dlrd::fuzz::Trim(m.first_line);
  int status = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), status);
  if (ec == std::errc() && p == s.data() + s.size() && status >= 0 &&
      status <= 999) {
    reply.status = status;
  }
  reply.headers = std::move(m.headers);
  reply.body = std::move(m.body);

  dlrd::SendOutcome out = adapter.Classify(reply, 1735689600123);
  DLRD_FUZZ_CHECK(out.retry_after_ms >= -1, reply.body);
  if (out.accepted()) {
    if (out.provider_ref.empty()) {
      DLRD_FUZZ_CHECK(adapter.provider() == "sinch" && reply.status == 409,
                      reply.body);
    }
    DLRD_FUZZ_CHECK(out.provider_ref.size() <= 128, out.provider_ref);
    for (char c : out.provider_ref) {
      DLRD_FUZZ_CHECK(c > 0x20 && c < 0x7f, out.provider_ref);
    }
  } else {
    DLRD_FUZZ_CHECK(!out.detail.empty(), reply.body);
  }
  return 0;
}
