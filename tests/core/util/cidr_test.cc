// CIDR parsing and matching: IPv4, IPv6, IPv4-mapped IPv6, strict prefixes.
#include "dlrd/core/util/cidr.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

TEST(ParseIp, Forms) {
  const struct {
    const char* text;
    bool ok;
    const char* canonical;
    bool v6;
  } cases[] = {
      {"203.0.113.7", true, "203.0.113.7", false},
      {" 203.0.113.7\t", true, "203.0.113.7", false},
      {"0.0.0.0", true, "0.0.0.0", false},
      {"255.255.255.255", true, "255.255.255.255", false},
      {"::1", true, "::1", true},
      {"2001:DB8:0:0:0:0:0:1", true, "2001:db8::1", true},
      {"::ffff:203.0.113.7", true, "203.0.113.7", false},  // mapped -> v4
      {"::FFFF:cb00:7107", true, "203.0.113.7", false},
      {"fe80::1%eth0", true, "fe80::1", true},  // zone id dropped
      {"::", true, "::", true},
      {"", false, "", false},
      {"   ", false, "", false},
      {"256.0.0.1", false, "", false},
      {"1.2.3", false, "", false},
      {"01.2.3.4", false, "", false},  // no octal-looking forms
      {"1.2.3.4:80", false, "", false},
      {"[::1]", false, "", false},
      {"[::1]:80", false, "", false},
      {"1.2.3.4%eth0", false, "", false},
      {"unknown", false, "", false},
      {"_hidden", false, "", false},
      {"2001:db8::1::2", false, "", false},
      {"localhost", false, "", false},
      {"0x7f.0.0.1", false, "", false},
      {"1.2.3.4 5", false, "", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto ip = ParseIp(c.text);
    ASSERT_EQ(ip.ok(), c.ok) << ip.status().message();
    if (!c.ok) continue;
    EXPECT_EQ(ip.value().ToString(), c.canonical);
    EXPECT_EQ(ip.value().v6, c.v6);
  }
}

TEST(Cidr, ParseValid) {
  const struct {
    const char* text;
    const char* canonical;
  } cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"203.0.113.7", "203.0.113.7/32"},  // bare address = /32
      {"203.0.113.7/32", "203.0.113.7/32"},
      {"::1/128", "::1/128"},
      {"::1", "::1/128"},  // bare address = /128
      {"::/0", "::/0"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:DB8:0::/48", "2001:db8::/48"},
      {"::ffff:203.0.113.0/120", "203.0.113.0/24"},  // mapped range -> v4
      {"::ffff:0.0.0.0/96", "0.0.0.0/0"},
      {"::ffff:203.0.113.7", "203.0.113.7/32"},
      {"172.16.0.0/12", "172.16.0.0/12"},
      {"192.168.1.128/25", "192.168.1.128/25"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = Cidr::Parse(c.text);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value().ToString(), c.canonical);
  }
}

TEST(Cidr, ParseErrors) {
  const struct {
    const char* text;
    const char* message_has;
  } cases[] = {
      {"10.0.0.0/33", "prefix length must be 0-32"},
      {"::/129", "prefix length must be 0-128"},
      {"10.0.0.0/-1", "prefix length"},
      {"10.0.0.0/+8", "prefix length"},
      {"10.0.0.0/ 8", "prefix length"},
      {"10.0.0.0/08x", "prefix length"},
      {"10.0.0.0/0008", "prefix length"},
      {"10.0.0.0/", "prefix length"},
      {"10.0.0.1/8", "host bits are set (the network is 10.0.0.0/8)"},
      {"2001:db8::1/32", "host bits are set (the network is 2001:db8::/32)"},
      {"/8", "not an IP address"},
      {"", "not an IP address"},
      {"10.0.0/8", "not an IP address"},
      {"example.com/24", "not an IP address"},
      {" 10.0.0.0/8", "not an IP address"},
      {"fe80::%eth0/64", "not an IP address"},
      {"10.0.0.0/8/8", "prefix length"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = Cidr::Parse(c.text);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(c.message_has), std::string::npos)
        << r.status().message();
  }
}

bool Matches(const char* cidr, const char* ip) {
  auto r = Cidr::Parse(cidr);
  EXPECT_TRUE(r.ok()) << cidr << ": " << r.status().message();
  auto a = ParseIp(ip);
  EXPECT_TRUE(a.ok()) << ip;
  return r.ok() && a.ok() && r.value().Contains(a.value());
}

TEST(Cidr, Contains) {
  const struct {
    const char* cidr;
    const char* ip;
    bool in;
  } cases[] = {
      {"10.0.0.0/8", "10.0.0.0", true},
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"203.0.113.0/24", "203.0.113.7", true},
      {"203.0.113.0/24", "203.0.114.7", false},
      {"192.168.1.128/25", "192.168.1.127", false},
      {"192.168.1.128/25", "192.168.1.128", true},
      {"192.168.1.128/25", "192.168.1.255", true},
      {"172.16.0.0/12", "172.31.255.255", true},
      {"172.16.0.0/12", "172.32.0.0", false},
      {"0.0.0.0/0", "198.51.100.9", true},
      {"203.0.113.7", "203.0.113.7", true},
      {"203.0.113.7", "203.0.113.8", false},
      // IPv4-mapped IPv6 addresses match IPv4 ranges...
      {"203.0.113.0/24", "::ffff:203.0.113.7", true},
      {"127.0.0.1/32", "::ffff:127.0.0.1", true},
      // ...and mapped ranges match plain IPv4.
      {"::ffff:203.0.113.0/120", "203.0.113.7", true},
      // IPv6 ranges never match IPv4 and vice versa.
      {"::/0", "203.0.113.7", false},
      {"::/0", "::ffff:203.0.113.7", false},
      {"0.0.0.0/0", "::1", false},
      {"0.0.0.0/0", "2001:db8::1", false},
      {"::1/128", "::1", true},
      {"::1/128", "::2", false},
      {"::/0", "2001:db8::1", true},
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"2001:db8::/33", "2001:db8:7fff::1", true},
      {"2001:db8::/33", "2001:db8:8000::1", false},
      {"::1/128", "::ffff:0.0.0.1", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.cidr) + " ∋ " + c.ip);
    EXPECT_EQ(Matches(c.cidr, c.ip), c.in);
  }
}

TEST(CidrSet, AnyRangeMatches) {
  CidrSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.Contains("127.0.0.1"));  // empty set contains nothing
  set.Add(Cidr::Parse("127.0.0.1/32").value());
  set.Add(Cidr::Parse("::1/128").value());
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.Contains("127.0.0.1"));
  EXPECT_TRUE(set.Contains("::ffff:127.0.0.1"));
  EXPECT_TRUE(set.Contains("::1"));
  EXPECT_FALSE(set.Contains("127.0.0.2"));
  EXPECT_FALSE(set.Contains("not an ip"));
  EXPECT_FALSE(set.Contains(""));
}

}  // namespace
}  // namespace dlrd
