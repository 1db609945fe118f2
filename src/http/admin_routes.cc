#include "dlrd/http/admin_routes.h"

#include <prometheus/text_serializer.h>

namespace dlrd {

HttpResponse PlainResponse(unsigned status, std::string handler) {
  HttpResponse r;
  r.status = status;
  r.handler = std::move(handler);
  switch (status) {
    case 200:
      r.body = "ok\n";
      break;
    case 400:
      r.body = "bad request\n";
      break;
    case 404:
      r.body = "not found\n";
      break;
    case 405:
      r.body = "method not allowed\n";
      break;
    case 411:
      r.body = "length required\n";
      break;
    case 413:
      r.body = "payload too large\n";
      break;
    case 431:
      r.body = "request header fields too large\n";
      break;
    case 503:
      r.body = "unavailable\n";
      break;
    default:
      r.body = "error\n";
      break;
  }
  return r;
}

void AdminHandler::Handle(HttpRequest request, Respond respond) {
  std::string_view path = request.target;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    path = path.substr(0, q);
  }
  if (stats_ && path == "/v1/stats") {
    return stats_->Handle(std::move(request), std::move(respond));
  }
  if (api_ && path.substr(0, 4) == "/v1/") {
    return api_->Handle(std::move(request), std::move(respond));
  }
  std::string handler;
  if (path == "/metrics") handler = "metrics";
  if (path == "/healthz") handler = "healthz";
  if (path == "/readyz") handler = "readyz";
  if (handler.empty()) return respond(PlainResponse(404, "other"));
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = PlainResponse(405, "other");
    r.headers.emplace_back("Allow", "GET");
    return respond(std::move(r));
  }
  if (handler == "healthz") return respond(PlainResponse(200, handler));
  if (handler == "readyz") {
    return respond(PlainResponse(ready_() ? 200 : 503, handler));
  }
  std::vector<prometheus::MetricFamily> families;
  for (const auto& src : sources_) {
    auto f = src->Collect();
    families.insert(families.end(), std::make_move_iterator(f.begin()),
                    std::make_move_iterator(f.end()));
  }
  HttpResponse r;
  r.handler = handler;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = prometheus::TextSerializer().Serialize(families);
  respond(std::move(r));
}

}  // namespace dlrd
