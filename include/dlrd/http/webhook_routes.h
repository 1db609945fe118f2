// WebhookHandler: the public listener's only route, POST /webhooks/{source}.
//
// Per request, in this order:
//   1. the client IP is resolved from the TCP peer and X-Forwarded-For
//      through `trusted_proxies` (core/client_ip.h) and becomes
//      InboundWebhook::client_ip, so logs and limits see the real client;
//      its RateLimitKey (IPv4 /32, IPv6 /64) names its rate-limit bucket;
//   2. the path: anything but /webhooks/{source} is 404;
//   3. a known source with allow_ips: a client outside them gets 403
//      (an unknown source is still 404, from the ingest service);
//   4. the method: not POST is 405;
//   5. IngestService::Accept, whose IngestOutcome maps to a status code
//      (docs/design.md): 200 accepted | duplicate, 400 malformed, 401
//      signature, 404 unknown source, 415 media type, 503 + Retry-After.
// The rate limit, if configured, is a per-client budget of refusals
// (rate_limiter.h): every refusal at 2-5 made without a valid signature
// (404, 403, 405, 415, 401, and the unsigned-Vonage 503) takes a token,
// and once the bucket is empty those refusals are answered 429 +
// Retry-After (whole seconds, >= 1) instead, without the ingest service's
// log line or metrics (IngestService::Refusals::kQuiet). The unsigned
// Vonage 503 is never replaced: Vonage retries only 5xx. A request with a
// valid signature is never answered 429 and takes no token, however empty
// its client's bucket.
// 429s and 403s are counted in dlrd_webhook_requests_limited_total (reason
// rate_limit | ip_not_allowed).
// Bodies are small JSON objects; a 401 never says why (the reason is in
// metrics and logs only), and nothing secret is ever echoed.
#pragma once

#include <map>
#include <string>

#include "dlrd/core/config/config.h"
#include "dlrd/core/util/cidr.h"
#include "dlrd/core/ports/clock.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/app/ingest/rate_limiter.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/metrics.h"
#include "dlrd/http/http_types.h"

namespace dlrd {

// What is checked before a request reaches the ingest service.
struct WebhookGuards {
  CidrSet trusted_proxies;  // empty: X-Forwarded-For is ignored
  // Source name -> allowed client ranges; a source not listed allows any.
  std::map<std::string, CidrSet, std::less<>> allow_ips;
  RateLimiter* rate_limiter = nullptr;  // null: no rate limit
};

// trusted_proxies and each source's non-empty allow_ips from `config`.
WebhookGuards MakeWebhookGuards(const Config& config,
                                RateLimiter* rate_limiter);

class WebhookHandler final : public HttpHandler {
 public:
  // References and pointers must outlive the handler; `metrics` and `log`
  // may be null (nothing is counted or logged then).
  WebhookHandler(IngestService& ingest, const Clock& clock,
                 WebhookGuards guards = {}, Metrics* metrics = nullptr,
                 Logger* log = nullptr)
      : ingest_(ingest),
        clock_(clock),
        guards_(std::move(guards)),
        metrics_(metrics),
        log_(log) {}
  void Handle(HttpRequest request, Respond respond) override;

  // "/webhooks/{source}[?query]" -> source; empty when the path is anything
  // else. Percent-encoded segments are decoded.
  static std::string SourceFromTarget(std::string_view target);

 private:
  void CountLimited(std::string_view reason);
  // Charges one refusal to `key`; false when its budget is spent (then
  // `*retry_after_s` is set). Always true without a rate limit.
  bool TakeRefusalToken(const std::string& key, int64_t now_ms,
                        int64_t* retry_after_s);
  // The 429 for `key`, counted and logged (debug).
  HttpResponse Limited(const std::string& key, int64_t retry_after_s);
  // `refusal`, or a 429 when `key`'s refusal budget is spent.
  HttpResponse Refuse(const std::string& key, int64_t now_ms,
                      HttpResponse refusal);

  IngestService& ingest_;
  const Clock& clock_;
  const WebhookGuards guards_;
  Metrics* metrics_;
  Logger* log_;
};

// The answer to an ingest outcome: the format's reply when it has one and
// the request was stored, else dlrd's own status JSON.
HttpResponse ResponseFor(
    IngestOutcome outcome,
    const std::optional<WebhookReply>& reply = std::nullopt);
// True for the outcomes that take a rate-limit token: refusals made
// without a valid signature (not 400, which needs one, nor 503 overload).
bool IsChargedRefusal(IngestOutcome outcome);
// 429 {"error":"rate limited"} with Retry-After: `retry_after_s` (>= 1).
HttpResponse RateLimitedResponse(int64_t retry_after_s);
// 403 {"error":"forbidden"}.
HttpResponse ForbiddenResponse();

}  // namespace dlrd
