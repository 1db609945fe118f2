#include "http/webhook_routes.h"

#include <boost/url/parse.hpp>

namespace dlrd {
namespace {

HttpResponse Json(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.body.push_back('\n');
  r.handler = "webhook";
  return r;
}

}  // namespace

std::string WebhookHandler::SourceFromTarget(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return {};
  auto segs = url->segments();
  if (segs.size() != 2) return {};
  auto it = segs.begin();
  if (*it != "webhooks") return {};
  ++it;
  return std::string(*it);
}

HttpResponse ResponseFor(IngestOutcome outcome) {
  switch (outcome) {
    case IngestOutcome::kAccepted:
      return Json(200, R"({"status":"accepted"})");
    case IngestOutcome::kDuplicate:
      return Json(200, R"({"status":"duplicate"})");
    case IngestOutcome::kUnknownSource:
      return Json(404, R"({"error":"unknown source"})");
    case IngestOutcome::kUnsupportedMediaType:
      return Json(415, R"({"error":"unsupported media type"})");
    case IngestOutcome::kRejectedSignature:
      return Json(401, R"({"error":"invalid signature"})");
    case IngestOutcome::kRejectedMalformed:
      return Json(400, R"({"error":"malformed payload"})");
    case IngestOutcome::kOverloaded:
    case IngestOutcome::kStoreFailed: {
      HttpResponse r = Json(503, R"({"error":"cannot persist now, retry"})");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
  }
  return Json(503, R"({"error":"internal"})");
}

void WebhookHandler::Handle(HttpRequest request, Respond respond) {
  std::string source = SourceFromTarget(request.target);
  if (source.empty()) {
    HttpResponse r = Json(404, R"({"error":"not found"})");
    r.handler = "other";
    return respond(std::move(r));
  }
  if (request.method != "POST") {
    HttpResponse r = Json(405, R"({"error":"method not allowed"})");
    r.headers.emplace_back("Allow", "POST");
    return respond(std::move(r));
  }
  InboundWebhook hook;
  hook.source = std::move(source);
  hook.method = std::move(request.method);
  hook.target = std::move(request.target);
  hook.headers = std::move(request.headers);
  hook.body = std::move(request.body);
  hook.raw_head = std::move(request.raw_head);
  hook.client_ip = std::move(request.peer_ip);
  ingest_.Accept(std::move(hook), clock_.NowMs(),
                 [respond = std::move(respond)](IngestOutcome o) {
                   respond(ResponseFor(o));
                 });
}

}  // namespace dlrd
