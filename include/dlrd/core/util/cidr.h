// IP addresses and CIDR ranges, for trusted proxies and per-source
// allowlists. Pure: parsing uses libc inet_pton/inet_ntop (no I/O, no
// resolver); nothing here reads a clock or the network.
//
// IPv4 and IPv6 are kept apart, except that an IPv4-mapped IPv6 address
// ("::ffff:203.0.113.7", what a dual-stack socket reports for an IPv4 peer)
// is the IPv4 address: it parses to, prints as, and matches ranges as
// "203.0.113.7". Likewise a range written as "::ffff:a.b.c.d/N" with
// N >= 96 is the IPv4 range "a.b.c.d/(N-96)". So "::/0" matches every IPv6
// address and no IPv4 address; use "0.0.0.0/0" for those.
//
// Ranges are strict: the prefix is 0-32 (IPv4) or 0-128 (IPv6) in plain
// decimal, and no host bit may be set ("10.0.0.1/8" is refused, because it
// is usually a typo for a host or for another network). A bare address is a
// single host (/32 or /128). Zone ids ("fe80::1%eth0") are not accepted in
// ranges; ParseIp ignores one on an address, since only the TCP peer can
// carry one.
//
// All types are plain values, safe to share between threads once built.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/util/status.h"

namespace dlrd {

struct IpAddress {
  bool v6 = false;
  // Network byte order; an IPv4 address uses the first 4 bytes.
  std::array<uint8_t, 16> bytes{};

  // Canonical text: dotted quad, or RFC 5952 IPv6 (as inet_ntop prints it).
  std::string ToString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Parses an IPv4 or IPv6 literal (no brackets, no port); IPv4-mapped IPv6
// becomes IPv4. Surrounding spaces/tabs are ignored; so is a "%zone" suffix
// on an IPv6 address.
Result<IpAddress> ParseIp(std::string_view text);

class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address. Errors say what is
  // wrong with the text (the caller prefixes the key path).
  static Result<Cidr> Parse(std::string_view text);

  bool Contains(const IpAddress& ip) const;
  // "network/prefix" in canonical form.
  std::string ToString() const;

  const IpAddress& network() const { return network_; }
  int prefix_len() const { return prefix_len_; }
  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  IpAddress network_;
  int prefix_len_ = 0;
};

// A list of ranges; an address is in the set if any range contains it.
class CidrSet {
 public:
  CidrSet() = default;
  explicit CidrSet(std::vector<Cidr> ranges) : ranges_(std::move(ranges)) {}

  void Add(Cidr range) { ranges_.push_back(std::move(range)); }
  bool Contains(const IpAddress& ip) const;
  // False when `ip` does not parse.
  bool Contains(std::string_view ip) const;

  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }
  const std::vector<Cidr>& ranges() const { return ranges_; }

 private:
  std::vector<Cidr> ranges_;
};

}  // namespace dlrd
