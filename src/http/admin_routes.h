// AdminHandler: the admin listener (loopback by default).
//   GET /metrics  the registry and process metrics, Prometheus text 0.0.4
//   GET /healthz  200 while the process serves HTTP
//   GET /readyz   200 iff `ready()` (store open, migrated, writer healthy,
//                 not draining); 503 otherwise
// Other paths 404, other methods 405.
#pragma once

#include <functional>
#include <memory>

#include <prometheus/collectable.h>

#include "http/http_types.h"

namespace dlrd {

class AdminHandler final : public HttpHandler {
 public:
  // Collectables are serialized in order into one exposition; no metric
  // name may appear in two of them.
  AdminHandler(std::vector<std::shared_ptr<prometheus::Collectable>> sources,
               std::function<bool()> ready)
      : sources_(std::move(sources)), ready_(std::move(ready)) {}
  void Handle(HttpRequest request, Respond respond) override;

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> sources_;
  std::function<bool()> ready_;
};

}  // namespace dlrd
