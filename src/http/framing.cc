#include "http/framing.h"

#include <algorithm>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

bool IsCtl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

HeaderScan Bad(std::string reason) {
  HeaderScan s;
  s.kind = HeaderScan::kBad;
  s.reason = std::move(reason);
  return s;
}

// Checks one header line (without its CRLF). `first` is the request line.
bool LineOk(std::string_view line, bool first, std::string* reason) {
  for (unsigned char c : line) {
    if (IsCtl(c)) {
      *reason = "control character in header";
      return false;
    }
  }
  if (first) return true;
  if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
    *reason = "obs-fold";
    return false;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    *reason = "header line without field name";
    return false;
  }
  for (size_t i = 0; i < colon; ++i) {
    if (line[i] == ' ' || line[i] == '\t') {
      *reason = "whitespace before colon";
      return false;
    }
  }
  return true;
}

}  // namespace

HeaderScan ScanHeaderBlock(std::string_view bytes, size_t max_header_bytes) {
  size_t line_start = 0;
  bool first = true;
  const size_t limit = std::min(bytes.size(), max_header_bytes);
  for (size_t i = 0; i < limit; ++i) {
    if (bytes[i] != '\n') continue;
    if (i == 0 || bytes[i - 1] != '\r') return Bad("bare LF");
    std::string_view line = bytes.substr(line_start, i - 1 - line_start);
    if (line.empty()) {
      if (first) return Bad("empty request line");
      HeaderScan done;
      done.kind = HeaderScan::kComplete;
      done.length = i + 1;
      return done;
    }
    std::string reason;
    if (!LineOk(line, first, &reason)) return Bad(reason);
    first = false;
    line_start = i + 1;
  }
  HeaderScan more;
  more.kind = bytes.size() >= max_header_bytes ? HeaderScan::kTooLarge
                                               : HeaderScan::kNeedMore;
  return more;
}

FieldCheck CheckFields(
    unsigned version, std::string_view method,
    const std::vector<std::pair<std::string_view, std::string_view>>& fields,
    size_t max_body_bytes) {
  int cl_count = 0, te_count = 0, host_count = 0;
  std::string_view cl, te;
  for (const auto& [name, value] : fields) {
    if (EqualsIgnoreCase(name, "Content-Length")) {
      ++cl_count;
      cl = TrimOws(value);
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      ++te_count;
      te = TrimOws(value);
    } else if (EqualsIgnoreCase(name, "Host")) {
      ++host_count;
    }
  }
  auto bad = [](unsigned status, const char* reason) {
    return FieldCheck{status, reason};
  };
  if (cl_count > 1) return bad(400, "duplicate Content-Length");
  if (cl_count == 1 &&
      (cl.empty() || cl.size() > 18 ||
       !std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
    return bad(400, "invalid Content-Length");
  }
  if (te_count > 0) {
    if (cl_count > 0) return bad(400, "Content-Length with Transfer-Encoding");
    if (version < 11) return bad(400, "Transfer-Encoding on HTTP/1.0");
    if (te_count > 1 || !EqualsIgnoreCase(te, "chunked")) {
      return bad(400, "unsupported Transfer-Encoding");
    }
  }
  if (version >= 11 && host_count != 1) {
    return bad(400, host_count == 0 ? "missing Host" : "duplicate Host");
  }
  const bool wants_body =
      method == "POST" || method == "PUT" || method == "PATCH";
  if (wants_body && cl_count == 0 && te_count == 0) {
    return bad(411, "length required");
  }
  if (cl_count == 1 && std::stoull(std::string(cl)) > max_body_bytes) {
    return bad(413, "body too large");
  }
  return FieldCheck{};
}

}  // namespace dlrd
