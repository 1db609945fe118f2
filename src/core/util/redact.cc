#include "dlrd/core/util/redact.h"

#include <utility>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool IsCredential(std::string_view name, const std::vector<std::string>& keep) {
  bool credential = false;
  for (std::string_view c : kCredentialHeaders) {
    if (EqualsIgnoreCase(name, c)) credential = true;
  }
  if (!credential) return false;
  for (const std::string& k : keep) {
    if (EqualsIgnoreCase(name, k)) return false;
  }
  return true;
}

// [begin, end) of the userinfo in an absolute-form target, or npos.
std::pair<size_t, size_t> UserinfoSpan(std::string_view target) {
  constexpr auto kNone = std::make_pair(std::string_view::npos, size_t{0});
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0 ||
      target.substr(0, scheme_end).find_first_of("/?#") !=
          std::string_view::npos) {
    return kNone;
  }
  const size_t begin = scheme_end + 3;
  size_t end = target.find_first_of("/?#", begin);
  if (end == std::string_view::npos) end = target.size();
  const size_t at = target.substr(begin, end - begin).rfind('@');
  if (at == std::string_view::npos) return kNone;
  return {begin, begin + at};
}

}  // namespace

std::string RedactTarget(std::string_view target) {
  const auto [begin, end] = UserinfoSpan(target);
  if (begin == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, begin));
  out.append(kRedacted);
  out.append(target.substr(end));
  return out;
}

std::string RedactHead(std::string_view head,
                       const std::vector<std::string>& keep) {
  // [pos, next) is one line with its terminator; [pos, content_end) without.
  auto line_at = [head](size_t pos, size_t* content_end) {
    const size_t nl = head.find('\n', pos);
    size_t end = nl == std::string_view::npos ? head.size() : nl;
    const size_t next = nl == std::string_view::npos ? head.size() : nl + 1;
    if (end > pos && head[end - 1] == '\r') --end;
    *content_end = end;
    return next;
  };
  std::string out;
  out.reserve(head.size());
  size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    size_t content_end = 0;
    size_t next = line_at(pos, &content_end);
    const std::string_view line = head.substr(pos, content_end - pos);

    if (first) {
      first = false;
      // METHOD SP target SP version: only the target can carry userinfo.
      const size_t sp1 = line.find(' ');
      const size_t sp2 = line.rfind(' ');
      if (sp1 != std::string_view::npos && sp2 > sp1) {
        out.append(line.substr(0, sp1 + 1));
        out.append(RedactTarget(line.substr(sp1 + 1, sp2 - sp1 - 1)));
        out.append(head.substr(pos + sp2, next - (pos + sp2)));
      } else {
        out.append(head.substr(pos, next - pos));
      }
      pos = next;
      continue;
    }
    const size_t colon = line.find(':');
    if (line.empty() || IsSpace(line.front()) ||
        colon == std::string_view::npos ||
        !IsCredential(line.substr(0, colon), keep)) {
      out.append(head.substr(pos, next - pos));
      pos = next;
      continue;
    }
    // A credential header: keep the name, the colon and the whitespace on
    // both sides; replace what lies between, continuation lines included.
    size_t value_begin = pos + colon + 1;
    while (value_begin < content_end && IsSpace(head[value_begin])) {
      ++value_begin;
    }
    size_t value_end = content_end;
    while (next < head.size() && IsSpace(head[next])) {  // obs-fold
      next = line_at(next, &value_end);
    }
    while (value_end > value_begin && IsSpace(head[value_end - 1])) {
      --value_end;
    }
    out.append(head.substr(pos, value_begin - pos));
    if (value_end > value_begin) out.append(kRedacted);
    out.append(head.substr(value_end, next - value_end));
    pos = next;
  }
  return out;
}

}  // namespace dlrd
