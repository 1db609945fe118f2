// Every payload normalizer (include/dlrd/core/normalize/payload_normalizer.h).
//
// Input: byte 0 picks the format (KnownFormats()[b % n]); byte 1 picks the
// Content-Type (JSON, form, none, or an odd one) and whether the signature
// scheme supplied an event id; the rest is the body. Invariants: no crash
// or exception, and every returned event has a non-empty dedupe_key; a
// failure carries a message.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dlrd/core/normalize/payload_normalizer.h"
#include "fuzz_util.h"

namespace {

const std::vector<std::unique_ptr<dlrd::PayloadNormalizer>>& Normalizers() {
  static const auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<dlrd::PayloadNormalizer>>;
    for (std::string_view f : dlrd::KnownFormats()) {
      auto n = dlrd::MakePayloadNormalizer(f);
      if (!n.ok()) dlrd::fuzz::Fail("MakePayloadNormalizer failed", f);
      v->push_back(std::move(n).value());
    }
    return v;
  }();
  return *all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto& all = Normalizers();
  const dlrd::PayloadNormalizer& n = *all[data[0] % all.size()];

  dlrd::InboundWebhook hook;
  hook.source = "fuzz";
  hook.method = "POST";
  hook.target = "/webhooks/fuzz";
  static constexpr const char* kTypes[] = {
      "application/json", "application/x-www-form-urlencoded", nullptr,
      "application/json; charset=utf-8", "text/plain",
      "Application/X-WWW-Form-Urlencoded ; charset=UTF-8"};
  const char* type = kTypes[(data[1] & 0x7f) % 6];
  if (type != nullptr) hook.headers.emplace_back("Content-Type", type);
  hook.body.assign(reinterpret_cast<const char*>(data) + 2, size - 2);

  dlrd::NormalizeContext ctx;
  ctx.source = "fuzz";
  ctx.received_at_ms = 1735689600123;
  if (data[1] & 0x80) ctx.event_id = "msg_2b7Jd9QkzX1c0mVnW4pA";

  (void)n.AcceptsContentType(type != nullptr ? type : "");
  auto r = n.Normalize(hook, ctx);
  if (!r.ok()) {
    DLRD_FUZZ_CHECK(!r.status().message().empty(), n.provider());
    return 0;
  }
  for (const dlrd::DeliveryEvent& e : r.value().events) {
    DLRD_FUZZ_CHECK(!e.dedupe_key.empty(), n.provider());
  }
  return 0;
}
