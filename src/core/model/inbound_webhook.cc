#include "dlrd/core/model/inbound_webhook.h"

#include "dlrd/core/util/strings.h"

namespace dlrd {

std::optional<std::string_view> InboundWebhook::Header(
    std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string InboundWebhook::Head() const {
  if (!raw_head.empty()) return raw_head;
  std::string out = method + " " + target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out;
}

int InboundWebhook::HeaderCount(std::string_view name) const {
  int n = 0;
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) ++n;
  }
  return n;
}

}  // namespace dlrd
