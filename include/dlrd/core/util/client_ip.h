// ClientIp: who sent a request, when reverse proxies may sit in between.
//
// X-Forwarded-For is written by whoever sends the request, so only the part
// appended by proxies we trust means anything (docs/reliability.md §4.3: allowlists
// spoofed through XFF). The rule, the one nginx's realip module applies with
// `real_ip_recursive on`:
//   - the TCP peer is not in `trusted`: the peer is the client, and every
//     X-Forwarded-For header is ignored;
//   - otherwise walk the X-Forwarded-For entries from right (added by the
//     proxy nearest to us) to left, skipping entries in `trusted`; the first
//     untrusted entry is the client. Entries left of it are whatever the
//     client chose to send and are never read;
//   - if every entry is trusted, there is no X-Forwarded-For, or an entry
//     is reached that is not a plain IP literal (empty, "unknown", a port,
//     brackets, an obfuscated identifier), the answer is the peer.
//
// `xff_values` holds the value of every X-Forwarded-For header in received
// order; several headers are one list, as if joined by commas (RFC 9110
// §5.3). Pure: no I/O, no clock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/util/cidr.h"

namespace dlrd {

// Returns the client address in canonical text (IPv4-mapped IPv6 printed as
// IPv4). If `peer_ip` itself does not parse, it is returned unchanged and
// X-Forwarded-For is ignored.
std::string ClientIp(std::string_view peer_ip,
                     const std::vector<std::string_view>& xff_values,
                     const CidrSet& trusted);

// The rate-limit key for a client address (a ClientIp() result): IPv4 keys
// by the address (/32), IPv6 by its /64 ("2001:db8:1:2::/64"), since one
// host or customer normally gets a whole /64 and can hop addresses inside
// it at will. An IPv4-mapped IPv6 address is its IPv4 address. Text that
// does not parse as an address is returned unchanged (its own key).
std::string RateLimitKey(std::string_view client_ip);

}  // namespace dlrd
