// AdminHandler: the admin listener (loopback by default).
//   GET /metrics  the registry and process metrics, Prometheus text 0.0.4
//   GET /healthz  200 while the process serves HTTP
//   GET /readyz   200 iff `ready()` (store open, migrated, writer healthy,
//                 not draining); 503 otherwise
//   /v1/stats     delivery analytics (http/stats_routes.h), when
//                 admin_token is configured
//   /v1/...       the verification API (http/verification_routes.h), when
//                 fallback and admin_token are configured
// Other paths 404, other methods 405.
#pragma once

#include <prometheus/collectable.h>

#include <functional>
#include <memory>

#include "dlrd/http/http_types.h"

namespace dlrd {

class AdminHandler final : public HttpHandler {
 public:
  // Collectables are serialized in order into one exposition; no metric
  // name may appear in two of them.
  // `api` (may be null) serves /v1/... (VerificationApi).
  AdminHandler(std::vector<std::shared_ptr<prometheus::Collectable>> sources,
               std::function<bool()> ready, HttpHandler* api = nullptr,
               HttpHandler* stats = nullptr)
      : sources_(std::move(sources)),
        ready_(std::move(ready)),
        api_(api),
        stats_(stats) {}
  void Handle(HttpRequest request, Respond respond) override;

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> sources_;
  std::function<bool()> ready_;
  HttpHandler* api_;
  HttpHandler* stats_;
};

}  // namespace dlrd
