// InboundWebhook: a received callback as the core sees it.
//
// The HTTP adapter fills it from the wire without re-encoding anything: the
// body and the request target are the exact bytes received, because every
// signature scheme hashes raw bytes (docs/signatures.md §1 rule 1). Header names
// keep their received spelling; lookups are case-insensitive.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd {

struct InboundWebhook {
  std::string source;  // the {source} path segment
  std::string method;
  std::string target;  // request-target, byte-exact (path + query)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;       // raw bytes
  // Request line and header block exactly as received, through the blank
  // line. Empty when the hook was not read off the wire (tests, tools).
  std::string raw_head;
  std::string client_ip;  // after trusted_proxies / X-Forwarded-For

  // First header whose name equals `name` ignoring ASCII case.
  std::optional<std::string_view> Header(std::string_view name) const;
  // Number of headers with that name.
  int HeaderCount(std::string_view name) const;
  // raw_head when known, else a CRLF rendering of method, target and
  // headers: together with `body` it is a request `dlrd verify` reads.
  std::string Head() const;
};

}  // namespace dlrd
