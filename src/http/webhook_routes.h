// WebhookHandler: the public listener's only route, POST /webhooks/{source}.
//
// Translates HttpRequest -> InboundWebhook, calls IngestService::Accept, and
// maps the IngestOutcome to a status code (architecture.md):
//   200 accepted | duplicate, 400 malformed, 401 signature, 404 unknown
//   path or source, 405 other method, 415 media type, 503 + Retry-After.
// Bodies are small JSON objects; a 401 never says why (the reason is in
// metrics and logs only), and nothing secret is ever echoed.
#pragma once

#include "dlrd/core/clock.h"
#include "dlrd/ingest/ingest_service.h"
#include "http/http_types.h"

namespace dlrd {

class WebhookHandler final : public HttpHandler {
 public:
  WebhookHandler(IngestService& ingest, const Clock& clock)
      : ingest_(ingest), clock_(clock) {}
  void Handle(HttpRequest request, Respond respond) override;

  // "/webhooks/{source}[?query]" -> source; empty when the path is anything
  // else. Percent-encoded segments are decoded.
  static std::string SourceFromTarget(std::string_view target);

 private:
  IngestService& ingest_;
  const Clock& clock_;
};

HttpResponse ResponseFor(IngestOutcome outcome);

}  // namespace dlrd
