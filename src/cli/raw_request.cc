#include "cli/raw_request.h"

#include <charconv>

#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

// OWS on the left; OWS and the CR of a CRLF line ending on the right.
std::string_view TrimLine(std::string_view s) {
  return TrimRight(TrimLeft(s, kOws), " \t\r");
}

}  // namespace

Result<InboundWebhook> ParseRawRequest(std::string_view text) {
  using R = Result<InboundWebhook>;
  size_t head_end = text.find("\r\n\r\n");
  size_t body_start = head_end + 4;
  if (head_end == std::string_view::npos) {
    head_end = text.find("\n\n");
    body_start = head_end + 2;
  }
  if (head_end == std::string_view::npos) {
    return R::Error("request: no blank line between headers and body");
  }
  std::string_view head = text.substr(0, head_end);
  InboundWebhook hook;
  hook.raw_head = std::string(text.substr(0, body_start));
  hook.body = std::string(text.substr(body_start));

  bool first = true;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = TrimLine(head.substr(0, nl));
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (first) {
      first = false;
      size_t sp1 = line.find(' ');
      size_t sp2 = line.rfind(' ');
      if (sp1 == std::string_view::npos || sp2 == sp1) {
        return R::Error("request: first line must be METHOD TARGET HTTP/1.1");
      }
      hook.method = std::string(line.substr(0, sp1));
      hook.target = std::string(TrimLine(line.substr(sp1 + 1, sp2 - sp1 - 1)));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return R::Error("request: header line without a colon");
    }
    hook.headers.emplace_back(std::string(line.substr(0, colon)),
                              std::string(TrimLine(line.substr(colon + 1))));
  }
  if (auto cl = hook.Header("Content-Length")) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (ec != std::errc() || p != cl->data() + cl->size()) {
      return R::Error("request: invalid Content-Length");
    }
    if (n > hook.body.size()) {
      return R::Error("request: body shorter than Content-Length");
    }
    hook.body.resize(n);
  }
  // The {source} path segment, if the target is a webhook path.
  constexpr std::string_view kPrefix = "/webhooks/";
  if (hook.target.rfind(kPrefix, 0) == 0) {
    std::string_view rest = std::string_view(hook.target).substr(kPrefix.size());
    hook.source = std::string(rest.substr(0, rest.find_first_of("/?")));
  }
  return hook;
}

}  // namespace dlrd
