#include "dlrd/core/util/cidr.h"

#include <arpa/inet.h>

#include <charconv>

#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

bool IsMapped(const std::array<uint8_t, 16>& b) {
  for (size_t i = 0; i < 12; ++i) {
    if (b[i] != kMappedPrefix[i]) return false;
  }
  return true;
}

// inet_pton without a zone id or trimming; the literal must be exact.
Result<IpAddress> ParseExact(std::string_view text) {
  // The longest textual IPv6 address (with an embedded IPv4) is 45 chars.
  if (text.empty() || text.size() > 45) {
    return Result<IpAddress>::Error("not an IP address");
  }
  const std::string s(text);
  IpAddress ip;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) != 1) {
      return Result<IpAddress>::Error("not an IP address");
    }
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
    return Result<IpAddress>::Error("not an IP address");
  }
  ip.v6 = true;
  if (IsMapped(ip.bytes)) {
    IpAddress v4;
    for (size_t i = 0; i < 4; ++i) v4.bytes[i] = ip.bytes[12 + i];
    return v4;
  }
  return ip;
}

}  // namespace

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof(buf))) {
    return {};
  }
  return buf;
}

Result<IpAddress> ParseIp(std::string_view text) {
  text = TrimOws(text);
  if (auto pct = text.find('%'); pct != std::string_view::npos &&
                                 text.find(':') != std::string_view::npos) {
    text = text.substr(0, pct);
  }
  return ParseExact(text);
}

Result<Cidr> Cidr::Parse(std::string_view text) {
  std::string_view addr = text;
  std::string_view len;
  const auto slash = text.find('/');
  const bool has_len = slash != std::string_view::npos;
  if (has_len) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
  }
  // Parse the literal as written, so "::ffff:0:0/96" is known to be IPv6
  // text (its prefix counts 128 bits) before mapping turns it into IPv4.
  const std::string s(addr);
  IpAddress ip;
  bool written_v6 = false;
  if (s.find(':') != std::string::npos) {
    written_v6 = true;
    ip.v6 = true;
    if (s.size() > 45 || inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
      return Result<Cidr>::Error("not an IP address or CIDR range");
    }
  } else if (s.empty() || s.size() > 15 ||
             inet_pton(AF_INET, s.c_str(), ip.bytes.data()) != 1) {
    return Result<Cidr>::Error("not an IP address or CIDR range");
  }
  const int max_len = written_v6 ? 128 : 32;
  int prefix = max_len;
  if (has_len) {
    // Plain decimal only: no sign, no spaces, at most 3 digits.
    bool digits = !len.empty() && len.size() <= 3;
    for (char c : len) digits = digits && c >= '0' && c <= '9';
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (!digits || ec != std::errc() || p != len.data() + len.size() ||
        prefix > max_len) {
      return Result<Cidr>::Error("prefix length must be 0-" +
                                 std::to_string(max_len));
    }
  }
  // Host bits must be zero.
  for (int bit = prefix; bit < max_len; ++bit) {
    if (ip.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      Cidr hint;
      hint.network_ = ip;
      hint.prefix_len_ = prefix;
      for (int b = prefix; b < max_len; ++b) {
        hint.network_.bytes[b / 8] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
      }
      return Result<Cidr>::Error("host bits are set (the network is " +
                                 hint.network_.ToString() + "/" +
                                 std::to_string(prefix) + ")");
    }
  }
  Cidr out;
  out.network_ = ip;
  out.prefix_len_ = prefix;
  if (written_v6 && IsMapped(ip.bytes) && prefix >= 96) {
    IpAddress v4;
    for (size_t i = 0; i < 4; ++i) v4.bytes[i] = ip.bytes[12 + i];
    out.network_ = v4;
    out.prefix_len_ = prefix - 96;
  }
  return out;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.v6 != network_.v6) return false;
  const int full = prefix_len_ / 8;
  for (int i = 0; i < full; ++i) {
    if (ip.bytes[i] != network_.bytes[i]) return false;
  }
  const int rest = prefix_len_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[full] & mask) == (network_.bytes[full] & mask);
}

std::string Cidr::ToString() const {
  return network_.ToString() + "/" + std::to_string(prefix_len_);
}

bool CidrSet::Contains(const IpAddress& ip) const {
  for (const Cidr& r : ranges_) {
    if (r.Contains(ip)) return true;
  }
  return false;
}

bool CidrSet::Contains(std::string_view ip) const {
  if (ranges_.empty()) return false;
  auto parsed = ParseIp(ip);
  return parsed.ok() && Contains(parsed.value());
}

}  // namespace dlrd
