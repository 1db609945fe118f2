// IngestModule: the receiving half of `dlrd serve`: the event store (it
// migrates the database, so it is built before every other module), the
// ingest queue and its writer thread, the ingest service, the webhook
// handler behind its exception barrier, and the public listener.
//
// Invariant: a request the listener accepted is answered only after its
// commit (docs/design.md §3.4, §3.5), so the order is fixed: BeginStop()
// stops accepting and drains the listener; Stop() comes only once it has
// drained (or the grace period ended) and commits everything still queued.
//
// Lifecycle: Build() opens the store and binds the port (a failure is
// logged, store_open_failed or listen_failed, and returned); OnJobCreated()
// before Start(); Start() starts the writer, then accepts; BeginStop() and
// open_connections() are thread-safe; Stop() is idempotent. A store error
// the writer cannot recover from goes to `on_fatal` (on the writer thread).
// References passed to Build() must outlive the module.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>

#include "dlrd/app/ingest/ingest_queue.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/app/ingest/rate_limiter.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/config/config.h"
#include "dlrd/core/ports/clock.h"
#include "dlrd/http/guarded_handler.h"
#include "dlrd/http/http_listener.h"
#include "dlrd/http/webhook_routes.h"
#include "dlrd/core/ports/event_store.h"

namespace dlrd {

class IngestModule {
 public:
  static Result<std::unique_ptr<IngestModule>> Build(
      const Config& config, std::shared_ptr<const SourceMap> sources,
      boost::asio::io_context& ioc, Metrics& metrics, InternalErrors& errors,
      const Clock& clock, Logger& log,
      std::function<void(const Status&)> on_fatal);

  // Called on the writer thread after a commit that wrote an outbox job.
  void OnJobCreated(std::function<void()> f);
  void Start();
  void BeginStop();
  size_t open_connections() const;
  void Stop();

  bool healthy() const;  // false once a fatal store error happened
  IngestService& service() { return *service_; }
  uint16_t port() const;
  int schema_version() const { return schema_version_; }

 private:
  IngestModule() = default;

  // Declared in build order; destroyed listener first, store last.
  std::unique_ptr<EventStore> store_;
  int schema_version_ = 0;
  std::unique_ptr<IngestQueue> queue_;
  std::unique_ptr<IngestService> service_;
  std::optional<RateLimiter> rate_limiter_;
  std::unique_ptr<WebhookHandler> webhooks_;
  std::unique_ptr<GuardedHandler> guarded_;
  std::shared_ptr<HttpListener> listener_;
};

}  // namespace dlrd
