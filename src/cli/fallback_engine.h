// FallbackEngine: the fallback half of `dlrd serve`, wired from the config:
// the outbox store (its own connection: SqliteOutbox on the SQLite file,
// PgOutbox on a postgresql:// database, claiming as "<host> <pid>"), one
// send adapter per
// configured provider, the HTTPS client, the dispatcher thread, its
// metrics, and the /v1 verification API. Absent (null) when no source has
// "fallback". It is the fallback module of `dlrd serve`.
//
// Lifecycle: Start() after the event store has migrated the database;
// BeginStop() when shutdown starts (no more sends are claimed); Stop()
// before the process exits: waits until `drain_until` for the sends in
// progress to be answered and their outcomes committed, then stops the
// dispatcher and the HTTPS client. A send still unanswered then stays
// in_flight and is reclaimed, once its lease runs out, at the next start.
#pragma once

#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "dlrd/core/config/config.h"
#include "dlrd/core/fallback/policy.h"
#include "dlrd/core/ports/outbox_store.h"
#include "dlrd/core/ports/clock.h"
#include "dlrd/core/util/shared_string.h"
#include "dlrd/app/dispatch/dispatcher.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/fallback_metrics.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/http/verification_routes.h"
#include "dlrd/https/https_client.h"

namespace dlrd {

// Fallback rules by source, from the config.
FallbackRules FallbackRulesOf(const Config& config);

class FallbackEngine {
 public:
  // `source_providers`: each source's provider name (for registrations).
  // A failure is logged (fallback_init_failed) and returned.
  static Result<std::unique_ptr<FallbackEngine>> Build(
      const Config& config,
      const std::map<std::string, std::string>& source_providers,
      prometheus::Registry& registry, const Clock& clock, Logger& log,
      std::shared_ptr<const SharedString> admin_token,
      InternalErrors* errors = nullptr);
  ~FallbackEngine();

  // Rotated provider credentials (SIGHUP): rebuilds each provider's send
  // adapter and swaps it in on the dispatcher thread, so a send in
  // progress finishes with the adapter it started with. The set of
  // providers must not change (that needs a restart).
  Status Reload(const Config& config);

  void Start();
  void BeginStop();
  void Stop(std::chrono::steady_clock::time_point drain_until);
  // Stops without waiting (the destructor).
  void Stop() { Stop(std::chrono::steady_clock::now()); }
  HttpHandler* api() { return api_.get(); }

  // A job was committed by the ingest writer: send it now.
  void Wake() { dispatcher_->Wake(); }

 private:
  FallbackEngine() = default;
  // Build, without logging a failure.
  static Result<std::unique_ptr<FallbackEngine>> Make(
      const Config& config,
      const std::map<std::string, std::string>& source_providers,
      prometheus::Registry& registry, const Clock& clock, Logger& log,
      std::shared_ptr<const SharedString> admin_token, InternalErrors* errors);

  std::map<std::string, ProviderConfig> providers_;  // dispatcher thread
  std::set<std::string> provider_names_;             // immutable after Build
  OutboxConfig outbox_config_;
  std::unique_ptr<OutboxStore> store_;
  SendAdapters adapters_;
  std::unique_ptr<HttpsClient> client_;
  std::unique_ptr<FallbackMetrics> metrics_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<VerificationApi> api_;
  bool started_ = false;
};

}  // namespace dlrd
