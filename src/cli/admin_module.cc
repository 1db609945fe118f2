#include "cli/admin_module.h"

#include "cli/quarantine_collector.h"
#include "dlrd/app/metrics/process_collector.h"
#include "cli/store_factory.h"

namespace dlrd {

Result<std::unique_ptr<AdminModule>> AdminModule::Build(
    const Config& config, boost::asio::io_context& ioc,
    std::shared_ptr<prometheus::Registry> registry, Metrics& metrics,
    InternalErrors& errors, const Clock& clock, Logger& log,
    std::shared_ptr<const SharedString> admin_token,
    std::function<bool()> ready, HttpHandler* verifications) {
  std::unique_ptr<AdminModule> m(new AdminModule());
  if (!config.admin_token.empty()) {
    auto reader = OpenStatsSource(config);
    if (!reader.ok()) {
      log.Error("stats_open_failed", {{"error", reader.status().message()}});
      return reader.status();
    }
    m->stats_ = std::make_unique<StatsApi>(std::move(admin_token),
                                           std::move(reader).value(), clock);
    m->stats_->SetInternalErrors(&errors);
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      std::move(registry), std::make_shared<ProcessCollector>()};
  if (config.quarantine.enabled) {
    // Read off the I/O threads, once a second (QuarantineCollector); on
    // SQLite a read waits little for a lock, never for the writer.
    auto totals = OpenQuarantineStore(config, "metrics", 100);
    if (!totals.ok()) {
      log.Error("quarantine_open_failed",
                {{"error", totals.status().message()}});
      return totals.status();
    }
    collectables.push_back(std::make_shared<QuarantineCollector>(
        std::move(totals).value(), std::chrono::seconds(1)));
  }
  m->handler_ = std::make_unique<AdminHandler>(
      std::move(collectables), std::move(ready), verifications,
      m->stats_.get());
  // Exception barrier: a request that throws is answered 500 and counted;
  // the listener keeps serving.
  m->guarded_ =
      std::make_unique<GuardedHandler>(*m->handler_, "admin_handler", &errors);
  auto listener = HttpListener::Listen(ioc, config.admin_listen,
                                       {"admin", "other", config.limits},
                                       *m->guarded_, &metrics, log);
  if (!listener.ok()) {
    log.Error("listen_failed", {{"listener", "admin"},
                                {"error", listener.status().message()}});
    return listener.status();
  }
  m->listener_ = std::move(listener).value();
  return m;
}

void AdminModule::Start() { listener_->Start(); }

void AdminModule::Stop() { listener_->Shutdown(); }

uint16_t AdminModule::port() const { return listener_->port(); }

}  // namespace dlrd
