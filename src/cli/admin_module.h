// AdminModule: the admin half of `dlrd serve` (docs/api.md): /metrics (the
// registry, process metrics and, with the quarantine on, its size),
// /healthz and /readyz, the stats API (with an admin_token) and the
// verification API when fallback is on, all behind one exception barrier on
// the admin listener.
//
// Invariant: the admin listener stays up while the public one drains, so
// /readyz answers 503 (`ready` turns false when shutdown starts) and
// /metrics can still be scraped; the daemon stops it only after the ingest
// queue has stopped (the shutdown order in Daemon).
//
// Lifecycle: Build() opens the stats reader and the quarantine reader and
// binds the port (a failure is logged, stats_open_failed,
// quarantine_open_failed or listen_failed, and returned); Start() accepts;
// Stop() stops accepting and closes the connections (thread-safe). `ready`
// and `verifications` (may be null) must outlive the module, as must the
// references passed to Build().
#pragma once

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>

#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/clock.h"
#include "dlrd/core/util/shared_string.h"
#include "dlrd/http/admin_routes.h"
#include "dlrd/http/guarded_handler.h"
#include "dlrd/http/http_listener.h"
#include "dlrd/http/stats_routes.h"

namespace dlrd {

class AdminModule {
 public:
  static Result<std::unique_ptr<AdminModule>> Build(
      const Config& config, boost::asio::io_context& ioc,
      std::shared_ptr<prometheus::Registry> registry, Metrics& metrics,
      InternalErrors& errors, const Clock& clock, Logger& log,
      std::shared_ptr<const SharedString> admin_token,
      std::function<bool()> ready, HttpHandler* verifications);

  void Start();
  void Stop();
  uint16_t port() const;

 private:
  AdminModule() = default;

  // Declared in build order; destroyed listener first.
  std::unique_ptr<StatsApi> stats_;  // null without admin_token
  std::unique_ptr<AdminHandler> handler_;
  std::unique_ptr<GuardedHandler> guarded_;
  std::shared_ptr<HttpListener> listener_;
};

}  // namespace dlrd
