#include "cli/ingest_module.h"

#include "cli/store_factory.h"

namespace dlrd {

Result<std::unique_ptr<IngestModule>> IngestModule::Build(
    const Config& config, std::shared_ptr<const SourceMap> sources,
    boost::asio::io_context& ioc, Metrics& metrics, InternalErrors& errors,
    const Clock& clock, Logger& log,
    std::function<void(const Status&)> on_fatal) {
  std::unique_ptr<IngestModule> m(new IngestModule());
  auto store = OpenEventStore(config);
  if (!store.ok()) {
    log.Error("store_open_failed", {{"database", config.store.path},
                                    {"error", store.status().message()}});
    return store.status();
  }
  m->store_ = std::move(store.value().store);
  m->schema_version_ = store.value().schema_version;
  m->queue_ = std::make_unique<IngestQueue>(
      *m->store_,
      IngestQueueOptions{config.store.queue_capacity, config.store.max_batch},
      &metrics, std::move(on_fatal));
  m->queue_->SetInternalErrors(&errors);
  m->service_ = std::make_unique<IngestService>(std::move(sources),
                                                *m->queue_, metrics, log);
  m->service_->SetQuarantine(
      {config.quarantine.enabled,
       static_cast<size_t>(config.quarantine.max_queued)});
  if (config.rate_limit) {
    RateLimiterOptions options;
    options.per_s = config.rate_limit->per_ip_per_s;
    options.burst = config.rate_limit->burst;
    m->rate_limiter_.emplace(options);
  }
  m->webhooks_ = std::make_unique<WebhookHandler>(
      *m->service_, clock,
      MakeWebhookGuards(config, m->rate_limiter_ ? &*m->rate_limiter_
                                                 : nullptr),
      &metrics, &log);
  // Exception barrier: a request that throws is answered 500 and counted;
  // the listener keeps serving.
  m->guarded_ = std::make_unique<GuardedHandler>(*m->webhooks_,
                                                 "public_handler", &errors);
  auto listener = HttpListener::Listen(ioc, config.listen,
                                       {"public", "webhook", config.limits},
                                       *m->guarded_, &metrics, log);
  if (!listener.ok()) {
    log.Error("listen_failed", {{"listener", "public"},
                                {"error", listener.status().message()}});
    return listener.status();
  }
  m->listener_ = std::move(listener).value();
  return m;
}

void IngestModule::OnJobCreated(std::function<void()> f) {
  queue_->OnJobCreated(std::move(f));
}

void IngestModule::Start() {
  queue_->Start();
  listener_->Start();
}

void IngestModule::BeginStop() { listener_->Shutdown(); }

size_t IngestModule::open_connections() const {
  return listener_->open_connections();
}

void IngestModule::Stop() { queue_->Stop(); }  // commits what is queued

bool IngestModule::healthy() const { return queue_->healthy(); }

uint16_t IngestModule::port() const { return listener_->port(); }

}  // namespace dlrd
