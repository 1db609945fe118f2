// Domain-side HTTP request and response, and the handler interface.
//
// These are the only HTTP types that leave http_session.cc: routes and
// handlers see plain structs, never Beast types (docs/design.md §5.3). The body and
// target are the exact received bytes.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dlrd {

struct HttpRequest {
  std::string method;
  std::string target;
  unsigned version = 11;  // 10 or 11
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string raw_head;  // request line + headers, byte-exact
  std::string peer_ip;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  bool close = false;            // force Connection: close
  std::string handler = "other";  // metric label: the route that answered
};

// Handles one complete request. `respond` must be called exactly once, from
// any thread; the session hops back onto its own executor.
class HttpHandler {
 public:
  using Respond = std::function<void(HttpResponse)>;
  virtual ~HttpHandler() = default;
  virtual void Handle(HttpRequest request, Respond respond) = 0;
};

// A short plain-text response with the reason phrase as body.
HttpResponse PlainResponse(unsigned status, std::string handler);

}  // namespace dlrd
