// Redaction of credentials in a request before it is stored at rest.
//
// raw_requests keeps each accepted request so that `dlrd verify` can check
// its signature again, byte for byte. It must not also keep credentials no
// signature scheme needs: Basic auth that a provider sends because the
// callback URL had `user:pass@` in it, a session cookie, an API key header.
//
// RedactHead() replaces the VALUE of each credential header (the names in
// kCredentialHeaders, any case) with "[redacted]", unless the header is
// named in `keep`: the headers the source's signature scheme reads
// (SignatureVerifier::HeadersRead), such as Vonage's `Authorization: Bearer
// <JWT>` or Sinch's `Authorization: Application <key>:<signature>`.
// Everything else stays byte for byte: the request line (but see below),
// header names and their spelling, the whitespace around a value, every
// other header, the line endings and the blank line. A value folded onto
// continuation lines (obs-fold) is redacted with them.
//
// Userinfo in an absolute-form request target
// ("POST http://user:pass@host/path HTTP/1.1") is replaced the same way,
// in the request line and by RedactTarget(); no scheme signs the target's
// userinfo as received (Twilio signs the configured public_url).
//
// Pure: no I/O, no clock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dlrd {

inline constexpr std::string_view kRedacted = "[redacted]";

// Header names (compared ignoring case) whose values are credentials.
inline constexpr std::string_view kCredentialHeaders[] = {
    "Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key",
    "X-Auth-Token"};

// `head`: the request line and header lines as received, usually through
// the blank line (CRLF or bare LF line ends). `keep`: header names never
// redacted, compared ignoring case.
std::string RedactHead(std::string_view head,
                       const std::vector<std::string>& keep);

// `target` with any userinfo ("user:pass@") of an absolute-form target
// replaced by "[redacted]@"; an origin-form target is returned unchanged.
std::string RedactTarget(std::string_view target);

}  // namespace dlrd
