#include "dlrd/core/util/client_ip.h"

namespace dlrd {

std::string ClientIp(std::string_view peer_ip,
                     const std::vector<std::string_view>& xff_values,
                     const CidrSet& trusted) {
  auto peer = ParseIp(peer_ip);
  if (!peer.ok()) return std::string(peer_ip);
  const std::string peer_text = peer.value().ToString();
  if (!trusted.Contains(peer.value())) return peer_text;

  for (auto header = xff_values.rbegin(); header != xff_values.rend();
       ++header) {
    std::string_view list = *header;
    while (true) {
      const auto comma = list.rfind(',');
      const std::string_view entry =
          comma == std::string_view::npos ? list : list.substr(comma + 1);
      auto ip = ParseIp(entry);
      if (!ip.ok()) return peer_text;  // malformed: trust nothing further
      if (!trusted.Contains(ip.value())) return ip.value().ToString();
      if (comma == std::string_view::npos) break;
      list = list.substr(0, comma);
    }
  }
  return peer_text;
}

std::string RateLimitKey(std::string_view client_ip) {
  auto ip = ParseIp(client_ip);
  if (!ip.ok()) return std::string(client_ip);
  IpAddress key = ip.value();
  if (!key.v6) return key.ToString();
  constexpr size_t kPrefixBytes = 8;  // /64
  for (size_t i = kPrefixBytes; i < key.bytes.size(); ++i) key.bytes[i] = 0;
  return key.ToString() + "/64";
}

}  // namespace dlrd
