// ClientIp: X-Forwarded-For is believed only from trusted proxies, and only
// the part they appended (right to left). RateLimitKey: /32 and /64 keys.
#include "dlrd/core/util/client_ip.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace dlrd {
namespace {

CidrSet Set(std::initializer_list<const char*> ranges) {
  CidrSet s;
  for (const char* r : ranges) {
    auto c = Cidr::Parse(r);
    EXPECT_TRUE(c.ok()) << r;
    if (c.ok()) s.Add(c.value());
  }
  return s;
}

TEST(ClientIp, Table) {
  const CidrSet kNginx = Set({"127.0.0.1/32", "::1/128"});
  const CidrSet kChain = Set({"127.0.0.1/32", "10.0.0.0/8"});
  const CidrSet kNone;
  const struct {
    const char* name;
    const char* peer;
    std::vector<std::string_view> xff;
    const CidrSet* trusted;
    const char* want;
  } cases[] = {
      // Untrusted peer: XFF is never read, whatever it says.
      {"no proxies configured",
       "127.0.0.1",
       {"203.0.113.7"},
       &kNone,
       "127.0.0.1"},
      {"untrusted peer spoofs xff",
       "198.51.100.9",
       {"203.0.113.7"},
       &kNginx,
       "198.51.100.9"},
      {"untrusted peer spoofs trusted xff",
       "198.51.100.9",
       {"127.0.0.1"},
       &kNginx,
       "198.51.100.9"},
      {"untrusted peer, no xff", "198.51.100.9", {}, &kNginx, "198.51.100.9"},
      // Trusted peer: the rightmost untrusted entry.
      {"nginx appends client",
       "127.0.0.1",
       {"203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      {"spoofed leftmost ignored",
       "127.0.0.1",
       {"1.1.1.1, 203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      {"spoofed trusted leftmost ignored",
       "127.0.0.1",
       {"127.0.0.1, 203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      {"spoofed garbage leftmost ignored",
       "127.0.0.1",
       {"<script>, unknown, 203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      {"spoofed allowlisted address ignored",
       "127.0.0.1",
       {"203.0.113.7,198.51.100.9"},
       &kNginx,
       "198.51.100.9"},
      {"chain of trusted proxies skipped",
       "127.0.0.1",
       {"203.0.113.7, 10.1.2.3, 10.9.9.9"},
       &kChain,
       "203.0.113.7"},
      {"spoof behind a chain",
       "127.0.0.1",
       {"10.0.0.1, 203.0.113.7, 10.1.2.3"},
       &kChain,
       "203.0.113.7"},
      {"several headers are one list",
       "127.0.0.1",
       {"1.1.1.1", "203.0.113.7, 10.1.2.3"},
       &kChain,
       "203.0.113.7"},
      {"last header read first",
       "127.0.0.1",
       {"203.0.113.7", "198.51.100.9"},
       &kNginx,
       "198.51.100.9"},
      {"no spaces",
       "127.0.0.1",
       {"1.1.1.1,203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      {"ipv6 client", "::1", {"2001:db8::1"}, &kNginx, "2001:db8::1"},
      {"ipv6 client canonicalised",
       "::1",
       {"2001:DB8:0::1"},
       &kNginx,
       "2001:db8::1"},
      {"mapped peer is trusted",
       "::ffff:127.0.0.1",
       {"203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      {"mapped xff entry printed as v4",
       "127.0.0.1",
       {"::ffff:203.0.113.7"},
       &kNginx,
       "203.0.113.7"},
      // Falls back to the peer.
      {"trusted peer, no xff", "127.0.0.1", {}, &kNginx, "127.0.0.1"},
      {"all entries trusted",
       "127.0.0.1",
       {"10.0.0.1, 127.0.0.1"},
       &kChain,
       "127.0.0.1"},
      {"empty header", "127.0.0.1", {""}, &kNginx, "127.0.0.1"},
      {"rightmost malformed",
       "127.0.0.1",
       {"203.0.113.7, unknown"},
       &kNginx,
       "127.0.0.1"},
      {"rightmost has port",
       "127.0.0.1",
       {"203.0.113.7:4711"},
       &kNginx,
       "127.0.0.1"},
      {"bracketed v6", "127.0.0.1", {"[2001:db8::1]"}, &kNginx, "127.0.0.1"},
      {"trailing comma", "127.0.0.1", {"203.0.113.7,"}, &kNginx, "127.0.0.1"},
      {"malformed after trusted hop",
       "127.0.0.1",
       {"203.0.113.7, x, 10.0.0.1"},
       &kChain,
       "127.0.0.1"},
      {"mapped peer canonicalised",
       "::ffff:198.51.100.9",
       {"203.0.113.7"},
       &kNginx,
       "198.51.100.9"},
      // A peer that does not parse is returned as is; XFF ignored.
      {"unparsable peer", "", {"203.0.113.7"}, &kNginx, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ClientIp(c.peer, c.xff, *c.trusted), c.want);
  }
}

TEST(RateLimitKey, Ipv6KeysByItsSlash64) {
  const struct {
    const char* client;
    const char* want;
  } cases[] = {
      // IPv4 is the address itself.
      {"203.0.113.7", "203.0.113.7"},
      {"203.0.113.8", "203.0.113.8"},
      // IPv4-mapped IPv6 is the IPv4 address, not a /64 of ::ffff:0:0.
      {"::ffff:203.0.113.7", "203.0.113.7"},
      {"::FFFF:203.0.113.7", "203.0.113.7"},
      // IPv6: the interface identifier (low 64 bits) is dropped.
      {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
      {"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
      {"2001:DB8:1:2:a:b:c:d", "2001:db8:1:2::/64"},
      {"2001:db8:1:3::1", "2001:db8:1:3::/64"},
      {"::1", "::/64"},
      {"fe80::1%eth0", "fe80::/64"},
      // Not an address: kept as is, so it is still a key of its own.
      {"", ""},
      {"unknown", "unknown"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.client);
    EXPECT_EQ(RateLimitKey(c.client), c.want);
  }
}

TEST(RateLimitKey, AddressHoppingInsideA64SharesAKeyButNeighboursDoNot) {
  const std::string key = RateLimitKey("2001:db8:aa:bb::1");
  for (const char* hop : {"2001:db8:aa:bb::2", "2001:db8:aa:bb:1::",
                          "2001:db8:aa:bb:dead:beef:0:1"}) {
    EXPECT_EQ(RateLimitKey(hop), key) << hop;
  }
  EXPECT_NE(RateLimitKey("2001:db8:aa:bc::1"), key);
  EXPECT_NE(RateLimitKey("2001:db8:ab:bb::1"), key);
  // Neighbouring IPv4 addresses stay apart (/32).
  EXPECT_NE(RateLimitKey("198.51.100.1"), RateLimitKey("198.51.100.2"));
}

}  // namespace
}  // namespace dlrd
