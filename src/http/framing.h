// Request framing checks, pure and Beast-free, run before any handler.
//
// Why: Beast (every release before 1.92) accepts several ambiguous framings
// that a proxy in front may read differently, which is how requests get
// smuggled (docs/reliability.md §4.2). dlrd therefore scans the raw header bytes
// itself and checks the parsed fields, and answers any doubt with 400 and a
// closed connection. The matrix is T9 in docs/reliability.md.
//
// ScanHeaderBlock() looks at raw bytes from the start of a request:
//   - a LF not preceded by CR (bare LF)              -> kBad
//   - a header line starting with SP/HT (obs-fold)   -> kBad
//   - SP/HT between a field name and its colon       -> kBad
//   - a header line without a colon, or a CTL byte   -> kBad
//   - no CRLFCRLF within `max_header_bytes`          -> kTooLarge (431)
//   - otherwise kComplete with the header length, or kNeedMore.
//
// CheckFields() looks at the parsed request line and fields:
//   - more than one Content-Length, or one that is not 1*DIGIT (a list
//     such as "5, 5" included)                         -> 400
//   - Transfer-Encoding with Content-Length (any order) -> 400
//   - Transfer-Encoding on HTTP/1.0                     -> 400
//   - Transfer-Encoding other than exactly "chunked"    -> 400
//   - HTTP/1.1 without exactly one Host                 -> 400
//   - a body-carrying method without either framing    -> 411
//   - Content-Length above `max_body_bytes`             -> 413
// All of these also close the connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd {

struct HeaderScan {
  enum Kind { kNeedMore, kComplete, kTooLarge, kBad } kind = kNeedMore;
  size_t length = 0;   // kComplete: bytes up to and including CRLFCRLF
  std::string reason;  // kBad: for logs
};

HeaderScan ScanHeaderBlock(std::string_view bytes, size_t max_header_bytes);

struct FieldCheck {
  unsigned status = 0;  // 0 = acceptable; else 400, 411 or 413
  std::string reason;   // for logs
};

FieldCheck CheckFields(
    unsigned version, std::string_view method,
    const std::vector<std::pair<std::string_view, std::string_view>>& fields,
    size_t max_body_bytes);

}  // namespace dlrd
