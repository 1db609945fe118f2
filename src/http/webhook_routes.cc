#include "dlrd/http/webhook_routes.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <vector>

#include "dlrd/core/util/client_ip.h"
#include "dlrd/app/ingest/ingest_outcome.h"
#include "dlrd/core/util/strings.h"

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

WebhookGuards MakeWebhookGuards(const Config& config,
                                RateLimiter* rate_limiter) {
  WebhookGuards g;
  g.trusted_proxies = config.trusted_proxies;
  for (const auto& [name, source] : config.sources) {
    if (!source.allow_ips.empty()) g.allow_ips.emplace(name, source.allow_ips);
  }
  g.rate_limiter = rate_limiter;
  return g;
}

HttpResponse RateLimitedResponse(int64_t retry_after_s) {
  HttpResponse r = Json(429, R"({"error":"rate limited"})");
  r.headers.emplace_back("Retry-After",
                         std::to_string(std::max<int64_t>(1, retry_after_s)));
  return r;
}

HttpResponse ForbiddenResponse() {
  return Json(403, R"({"error":"forbidden"})");
}

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

HttpResponse ResponseFor(IngestOutcome outcome,
                         const std::optional<WebhookReply>& reply) {
  if (reply && (outcome == IngestOutcome::kAccepted ||
                outcome == IngestOutcome::kDuplicate)) {
    HttpResponse r;
    r.status = 200;
    r.content_type = reply->content_type;
    r.body = reply->body;
    r.handler = "webhook";
    return r;
  }
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
    case IngestOutcome::kUnsignedRetry: {
      HttpResponse r = Json(503, R"({"error":"unsigned callback, retry"})");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case IngestOutcome::kOverloaded:
    case IngestOutcome::kStoreFailed: {
      HttpResponse r = Json(503, R"({"error":"cannot persist now, retry"})");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
  }
  return Json(503, R"({"error":"internal"})");
}

void WebhookHandler::CountLimited(std::string_view reason) {
  if (metrics_) metrics_->requests_limited(reason).Increment();
}

bool WebhookHandler::TakeRefusalToken(const std::string& key, int64_t now_ms,
                                      int64_t* retry_after_s) {
  return !guards_.rate_limiter ||
         guards_.rate_limiter->Allow(key, now_ms, retry_after_s);
}

HttpResponse WebhookHandler::Limited(const std::string& key,
                                     int64_t retry_after_s) {
  CountLimited("rate_limit");
  if (log_) log_->Debug("rate_limited", {{"client", key}});
  return RateLimitedResponse(retry_after_s);
}

HttpResponse WebhookHandler::Refuse(const std::string& key, int64_t now_ms,
                                    HttpResponse refusal) {
  int64_t retry_after_s = 1;
  if (!TakeRefusalToken(key, now_ms, &retry_after_s)) {
    return Limited(key, retry_after_s);
  }
  return refusal;
}

bool IsChargedRefusal(IngestOutcome outcome) {
  switch (outcome) {
    case IngestOutcome::kUnknownSource:
    case IngestOutcome::kUnsupportedMediaType:
    case IngestOutcome::kRejectedSignature:
    case IngestOutcome::kUnsignedRetry:
      return true;
    case IngestOutcome::kAccepted:
    case IngestOutcome::kDuplicate:
    case IngestOutcome::kRejectedMalformed:  // signed: the provider's own
    case IngestOutcome::kOverloaded:
    case IngestOutcome::kStoreFailed:
      return false;
  }
  return false;
}

void WebhookHandler::Handle(HttpRequest request, Respond respond) {
  const int64_t now_ms = clock_.NowMs();
  std::vector<std::string_view> xff;  // only read behind a trusted proxy
  if (!guards_.trusted_proxies.empty()) {
    for (const auto& [name, value] : request.headers) {
      if (EqualsIgnoreCase(name, "X-Forwarded-For")) xff.push_back(value);
    }
  }
  std::string client_ip =
      ClientIp(request.peer_ip, xff, guards_.trusted_proxies);
  std::string limit_key = RateLimitKey(client_ip);

  std::string source = SourceFromTarget(request.target);
  if (source.empty()) {
    HttpResponse r = Json(404, R"({"error":"not found"})");
    r.handler = "other";
    return respond(Refuse(limit_key, now_ms, std::move(r)));
  }
  if (auto allow = guards_.allow_ips.find(source);
      allow != guards_.allow_ips.end() &&
      !allow->second.Contains(std::string_view(client_ip))) {
    int64_t retry_after_s = 1;
    if (!TakeRefusalToken(limit_key, now_ms, &retry_after_s)) {
      return respond(Limited(limit_key, retry_after_s));
    }
    CountLimited("ip_not_allowed");
    if (log_) {
      log_->Warn("ip_not_allowed", {{"source", source}, {"client", client_ip}});
    }
    return respond(ForbiddenResponse());
  }
  if (request.method != "POST") {
    HttpResponse r = Json(405, R"({"error":"method not allowed"})");
    r.headers.emplace_back("Allow", "POST");
    return respond(Refuse(limit_key, now_ms, std::move(r)));
  }
  const bool over_limit =
      guards_.rate_limiter && !guards_.rate_limiter->WouldAllow(limit_key,
                                                                now_ms);
  InboundWebhook hook;
  hook.source = std::move(source);
  hook.method = std::move(request.method);
  hook.target = std::move(request.target);
  hook.headers = std::move(request.headers);
  hook.body = std::move(request.body);
  hook.raw_head = std::move(request.raw_head);
  hook.client_ip = std::move(client_ip);
  // A refusal is reported synchronously, inside Accept, so `this` is only
  // used while Handle runs; a stored request completes on the writer thread
  // and touches only `respond`. The token taken here decides 429 or not;
  // `over_limit` only decides whether Accept reports the refusal, so under
  // concurrent requests from one client a refusal may rarely be both
  // reported and answered 429 (or neither reported nor 429).
  ingest_.Accept(
      std::move(hook), now_ms,
      [this, now_ms, limit_key = std::move(limit_key),
       respond = std::move(respond)](IngestOutcome o,
                                     std::optional<WebhookReply> reply) {
        if (IsChargedRefusal(o)) {
          int64_t retry_after_s = 1;
          // An unsigned Vonage copy keeps its 503 (see the header comment).
          if (!TakeRefusalToken(limit_key, now_ms, &retry_after_s) &&
              o != IngestOutcome::kUnsignedRetry) {
            return respond(Limited(limit_key, retry_after_s));
          }
        }
        respond(ResponseFor(o, reply));
      },
      over_limit ? IngestService::Refusals::kQuiet
                 : IngestService::Refusals::kReport);
}

}  // namespace dlrd
