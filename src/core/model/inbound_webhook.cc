#include "dlrd/core/model/inbound_webhook.h"

namespace dlrd {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

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
