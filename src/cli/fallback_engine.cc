#include "cli/fallback_engine.h"

#include <unistd.h>

#include <random>

#include "cli/store_factory.h"
#include "dlrd/postgres/pg_outbox.h"
#include "dlrd/sqlite/sqlite_outbox.h"

namespace dlrd {

namespace {

// This process's name among the replicas sharing a PostgreSQL outbox
// (outbox.claimed_by): "<host> <pid>".
std::string ReplicaName() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + " " + std::to_string(getpid());
}

Result<std::unique_ptr<OutboxStore>> OpenOutbox(const Config& config,
                                                const FallbackRules& rules) {
  if (config.store.backend == StoreBackend::kPostgres) {
    PgOutboxOptions options;
    options.rules = rules;
    options.replica = ReplicaName();
    options.lease_ms = config.outbox.in_flight_lease_ms;
    return OpenPgOutbox(PgTargetOf(config, "outbox"), options);
  }
  SqliteOptions options;
  options.busy_timeout_ms = config.store.busy_timeout_ms;
  options.fallback = rules;
  auto store = SqliteOutbox::Open(config.store.path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<OutboxStore>(std::move(store).value());
}

}  // namespace

FallbackRules FallbackRulesOf(const Config& config) {
  FallbackRules rules;
  for (const auto& [name, src] : config.sources) {
    if (src.fallback) rules[name] = *src.fallback;
  }
  return rules;
}

Result<std::unique_ptr<FallbackEngine>> FallbackEngine::Build(
    const Config& config,
    const std::map<std::string, std::string>& source_providers,
    prometheus::Registry& registry, const Clock& clock, Logger& log,
    std::shared_ptr<const SharedString> admin_token, InternalErrors* errors) {
  auto engine = Make(config, source_providers, registry, clock, log,
                     std::move(admin_token), errors);
  if (!engine.ok()) {
    log.Error("fallback_init_failed", {{"error", engine.status().message()}});
  }
  return engine;
}

Result<std::unique_ptr<FallbackEngine>> FallbackEngine::Make(
    const Config& config,
    const std::map<std::string, std::string>& source_providers,
    prometheus::Registry& registry, const Clock& clock, Logger& log,
    std::shared_ptr<const SharedString> admin_token, InternalErrors* errors) {
  using Out = Result<std::unique_ptr<FallbackEngine>>;
  FallbackRules rules = FallbackRulesOf(config);
  if (rules.empty()) return std::unique_ptr<FallbackEngine>();
  std::unique_ptr<FallbackEngine> e(new FallbackEngine());
  e->providers_ = config.providers;
  for (const auto& [name, p] : config.providers)
    e->provider_names_.insert(name);
  e->outbox_config_ = config.outbox;
  auto store = OpenOutbox(config, rules);
  if (!store.ok()) return Out::Error("outbox: " + store.status().message());
  e->store_ = std::move(store).value();
  std::vector<std::string> names;
  for (const auto& [name, provider] : e->providers_) {
    auto adapter = MakeSendAdapter(provider);
    if (!adapter.ok()) return adapter.status();
    e->adapters_[name] = std::move(adapter).value();
    names.push_back(name);
  }
  HttpsClient::Options client_options;
  if (errors != nullptr) {
    client_options.on_internal_error = [errors](std::exception_ptr ex) {
      errors->Report("https_client", ex);
    };
  }
  e->client_ = std::make_unique<HttpsClient>(client_options);
  e->metrics_ = std::make_unique<FallbackMetrics>(registry, names);
  e->dispatcher_ = std::make_unique<Dispatcher>(
      *e->store_, *e->client_, e->adapters_, e->providers_, e->outbox_config_,
      clock, e->metrics_.get(), &log, std::random_device{}());
  e->dispatcher_->SetInternalErrors(errors);
  std::map<std::string, std::string> providers;
  for (const auto& [name, rule] : rules) {
    auto p = source_providers.find(name);
    if (p == source_providers.end()) continue;
    providers[name] = p->second;
    e->metrics_->PrepareRegistered(p->second);
  }
  e->api_ = std::make_unique<VerificationApi>(
      std::move(admin_token), *e->dispatcher_, *e->store_, std::move(providers),
      clock, e->metrics_.get());
  e->api_->SetInternalErrors(errors);
  if (config.admin_token.empty()) {
    log.Warn("admin_api_disabled",
             {{"hint",
               "set admin_token to register verifications over "
               "POST /v1/verifications"}});
  }
  return e;
}

FallbackEngine::~FallbackEngine() { Stop(); }

Status FallbackEngine::Reload(const Config& config) {
  // providers_ belongs to the dispatcher thread; compare names only.
  if (config.providers.size() != provider_names_.size()) {
    return Status::Error("providers: added or removed; restart to apply");
  }
  auto adapters = std::make_shared<SendAdapters>();
  for (const auto& [name, provider] : config.providers) {
    if (provider_names_.count(name) == 0) {
      return Status::Error("providers." + name + ": added; restart to apply");
    }
    auto adapter = MakeSendAdapter(provider);
    if (!adapter.ok()) {
      return Status::Error("providers." + name + ": " +
                           adapter.status().message());
    }
    (*adapters)[name] = std::move(adapter).value();
  }
  auto providers =
      std::make_shared<std::map<std::string, ProviderConfig>>(config.providers);
  // The dispatcher reads both maps only on its own thread.
  dispatcher_->Post([this, adapters, providers] {
    for (auto& [name, adapter] : *adapters)
      adapters_[name] = std::move(adapter);
    providers_ = *providers;
  });
  return Status::Ok();
}

void FallbackEngine::Start() {
  client_->Start();
  dispatcher_->Start();
  started_ = true;
}

void FallbackEngine::BeginStop() {
  if (started_) dispatcher_->BeginDrain();
}

void FallbackEngine::Stop(std::chrono::steady_clock::time_point drain_until) {
  if (!started_) return;
  started_ = false;
  // The client keeps running meanwhile, so replies still arrive.
  dispatcher_->Drain(drain_until);
  dispatcher_->Stop();
  client_->Stop();
}

}  // namespace dlrd
