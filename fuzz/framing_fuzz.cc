// ScanHeaderBlock and CheckFields (src/http/framing.h) on raw request bytes.
//
// Input: byte 0 picks the header limit and the HTTP version; the rest is
// what a client sent. Invariants:
//   - kComplete: length <= min(size, limit) and the block ends in CRLFCRLF;
//     scanning exactly that block gives the same answer;
//   - kTooLarge only when at least `limit` bytes were seen; kNeedMore only
//     when fewer; kBad always has a reason;
//   - CheckFields answers 0, 400, 411 or 413, with a reason unless 0.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "http/framing.h"

using dlrd::HeaderScan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t ctl = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  static constexpr size_t kLimits[] = {16, 64, 256, 1024, 8192, 65536};
  const size_t limit = kLimits[ctl % 6];
  const unsigned version = (ctl & 0x80) ? 10 : 11;

  HeaderScan scan = dlrd::ScanHeaderBlock(bytes, limit);
  switch (scan.kind) {
    case HeaderScan::kComplete: {
      DLRD_FUZZ_CHECK(scan.length >= 4 && scan.length <= bytes.size() &&
                          scan.length <= limit,
                      bytes);
      DLRD_FUZZ_CHECK(bytes.substr(scan.length - 4, 4) == "\r\n\r\n", bytes);
      HeaderScan again =
          dlrd::ScanHeaderBlock(bytes.substr(0, scan.length), limit);
      DLRD_FUZZ_CHECK(again.kind == HeaderScan::kComplete &&
                          again.length == scan.length,
                      bytes);
      break;
    }
    case HeaderScan::kTooLarge:
      DLRD_FUZZ_CHECK(bytes.size() >= limit, bytes);
      break;
    case HeaderScan::kNeedMore:
      DLRD_FUZZ_CHECK(bytes.size() < limit, bytes);
      break;
    case HeaderScan::kBad:
      DLRD_FUZZ_CHECK(!scan.reason.empty(), bytes);
      break;
  }

  // CheckFields over the header lines, split the way a lenient parser
  // would (the scanner's verdict is ignored, so odd fields get through).
  std::string_view block = scan.kind == HeaderScan::kComplete
                               ? bytes.substr(0, scan.length)
                               : bytes;
  std::string_view method;
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  bool first = true;
  while (!block.empty()) {
    size_t nl = block.find('\n');
    std::string_view line = block.substr(0, nl);
    block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      method = line.substr(0, line.find(' '));
      first = false;
      continue;
    }
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields.emplace_back(line.substr(0, colon),
                        dlrd::fuzz::Trim(line.substr(colon + 1)));
  }
  dlrd::FieldCheck check =
      dlrd::CheckFields(version, method, fields, /*max_body_bytes=*/limit);
  DLRD_FUZZ_CHECK(check.status == 0 || check.status == 400 ||
                      check.status == 411 || check.status == 413,
                  bytes);
  DLRD_FUZZ_CHECK(check.status == 0 || !check.reason.empty(), bytes);
  return 0;
}
