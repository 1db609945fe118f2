// `dlrd serve`: wires the concrete types together and runs until a signal.
//
// Shutdown order (SIGTERM/SIGINT, or a fatal store error):
//   1. the public listener stops accepting and drains: in-flight requests
//      are answered once their commit completes, idle connections close;
//      the fallback dispatcher claims no more sends;
//   2. when no public connection is left (or the grace period ends), the
//      ingest queue stops: everything queued is committed;
//   3. the admin listener and the I/O threads stop;
//   4. the fallback engine waits, until the same grace deadline, for its
//      sends in progress to be answered and recorded, then stops its
//      HTTPS client; exit 0 (1 if fatal).
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <sys/resource.h>

#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/fallback_engine.h"
#include "cli/quarantine_collector.h"
#include "cli/retention_worker.h"
#include "cli/secret_resolver.h"
#include "dlrd/build_info.h"
#include "dlrd/app/time/system_clock.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/app/ingest/rate_limiter.h"
#include "dlrd/app/metrics/process_collector.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/http/admin_routes.h"
#include "dlrd/http/guarded_handler.h"
#include "dlrd/http/http_listener.h"
#include "dlrd/http/stats_routes.h"
#include "dlrd/http/webhook_routes.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/sqlite/sqlite_stats_reader.h"

namespace dlrd {
namespace {

namespace net = boost::asio;

// Polls until the public listener has drained, then finishes shutdown.
class Shutdown {
 public:
  Shutdown(net::io_context& ioc, HttpListener& pub, HttpListener& admin,
           IngestQueue& queue, FallbackEngine* fallback, Logger& log,
           int64_t grace_ms)
      : ioc_(ioc),
        pub_(pub),
        admin_(admin),
        queue_(queue),
        fallback_(fallback),
        log_(log),
        grace_(std::chrono::milliseconds(grace_ms)),
        timer_(ioc) {}

  // Thread-safe: a signal and a fatal store error may race on two I/O
  // threads; only the first call proceeds.
  void Begin(const char* why) {
    if (started_.exchange(true)) return;
    log_.Info("shutdown_started", {{"reason", why}});
    deadline_ = std::chrono::steady_clock::now() + grace_;
    if (fallback_) fallback_->BeginStop();
    pub_.Shutdown();
    Poll();
  }

  // When the grace period ends. REQUIRES: the I/O threads have stopped.
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

 private:
  void Poll() {
    if (pub_.open_connections() > 0 &&
        std::chrono::steady_clock::now() < deadline_) {
      timer_.expires_after(std::chrono::milliseconds(20));
      timer_.async_wait([this](boost::system::error_code) { Poll(); });
      return;
    }
    if (pub_.open_connections() > 0) {
      log_.Warn("shutdown_grace_expired",
                {{"open_connections", pub_.open_connections()}});
    }
    queue_.Stop();  // commits whatever is still queued
    admin_.Shutdown();
    log_.Info("shutdown_complete");
    ioc_.stop();
  }

  net::io_context& ioc_;
  HttpListener& pub_;
  HttpListener& admin_;
  IngestQueue& queue_;
  FallbackEngine* fallback_;  // null without fallback
  Logger& log_;
  std::chrono::milliseconds grace_;
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> started_{false};
};

// Applies a re-read config's secrets: source settings (signature secrets),
// provider credentials and the admin token. Nothing is applied unless all
// of it is valid.
Status Reload(const std::string& config_path, std::string& applied_text,
              IngestService& ingest, FallbackEngine* fallback,
              SharedString& admin_token, bool admin_was_off) {
  auto text = ReadFile(config_path);
  if (!text.ok()) return text.status();
  auto loaded = ParseConfig(text.value(), ResolveSecret);
  if (!loaded.ok()) {
    return Status::Error(config_path + ": " + loaded.status().message());
  }
  const Config& next = loaded.value();
  auto changed = FirstNonReloadableChange(applied_text, text.value());
  if (!changed.ok()) return changed.status();
  if (!changed.value().empty()) {
    return Status::Error(changed.value() +
                         ": changed; only secrets, signatures, formats, "
                         "providers and admin_token reload, restart to "
                         "apply the rest");
  }
  if (admin_was_off != next.admin_token.empty()) {
    return Status::Error("admin_token: set or unset; restart to apply");
  }
  auto sources = BuildSources(next);
  if (!sources.ok()) return sources.status();
  if (fallback == nullptr && !FallbackRulesOf(next).empty()) {
    return Status::Error("fallback: enabled; restart to apply");
  }
  auto next_sources =
      std::make_shared<const SourceMap>(std::move(sources).value());
  if (Status s = ingest.CheckReplaceable(*next_sources); !s.ok()) return s;
  if (fallback != nullptr) {
    if (Status s = fallback->Reload(next); !s.ok()) return s;
  }
  if (Status s = ingest.ReplaceSources(next_sources); !s.ok()) return s;
  admin_token.Set(next.admin_token);
  applied_text = std::move(text).value();
  return Status::Ok();
}

// Each connection is a file descriptor: raise the soft limit to the hard
// one (systemd's default soft limit is 1024), and say so when even that is
// below what max_connections on both listeners needs.
void RaiseFileLimit(size_t max_connections, Logger& log) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const rlim_t needed = 2 * static_cast<rlim_t>(max_connections) + 64;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    log.Warn("file_limit_low",
             {{"limit", std::to_string(lim.rlim_cur)},
              {"needed", std::to_string(needed)},
              {"hint", "raise LimitNOFILE or lower limits.max_connections"}});
  }
}

}  // namespace

int RunServe(const std::string& config_path) {
  // A SIGHUP before the reload handler exists (a long migration) must not
  // end the process; asio installs its handler later.
  std::signal(SIGHUP, SIG_IGN);
  auto applied_text = ReadFile(config_path);
  auto loaded = LoadConfig(config_path);
  if (!loaded.ok() || !applied_text.ok()) {
    std::cerr
        << "dlrd: config error: "
        << (loaded.ok() ? applied_text.status() : loaded.status()).message()
        << "\n";
    return 2;
  }
  const Config& config = loaded.value();
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.log_level, &level);
  Logger log(stderr, level);
  RaiseFileLimit(config.limits.max_connections, log);

  auto sources = BuildSources(config);
  if (!sources.ok()) {
    log.Error("config_invalid", {{"error", sources.status().message()}});
    return 2;
  }
  SqliteOptions store_options;
  store_options.busy_timeout_ms = config.store.busy_timeout_ms;
  store_options.fallback = FallbackRulesOf(config);
  store_options.quarantine = {config.quarantine.max_rows,
                              config.quarantine.max_bytes};
  auto store = SqliteEventStore::Open(config.store.path, store_options);
  if (!store.ok()) {
    log.Error("store_open_failed", {{"database", config.store.path},
                                    {"error", store.status().message()}});
    return 1;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(*registry, MetricLabels(sources.value()),
                  BuildLabels{kVersion, kRevision});
  InternalErrors internal_errors(*registry, &log);

  net::io_context ioc(config.io_threads);
  std::atomic<bool> fatal{false};
  std::function<void()> on_fatal_begin;  // set once Shutdown exists
  IngestQueue queue(*store.value(),
                    {config.store.queue_capacity, config.store.max_batch},
                    &metrics, [&](const Status& s) {
                      log.Error("store_fatal", {{"error", s.message()}});
                      fatal = true;
                      net::post(ioc, [&] {
                        if (on_fatal_begin) on_fatal_begin();
                      });
                    });
  queue.SetInternalErrors(&internal_errors);
  SystemClock clock;
  auto source_set =
      std::make_shared<const SourceMap>(std::move(sources).value());
  IngestService ingest(source_set, queue, metrics, log);
  ingest.SetQuarantine({config.quarantine.enabled,
                        static_cast<size_t>(config.quarantine.max_queued)});
  std::optional<RateLimiter> rate_limiter;
  if (config.rate_limit) {
    RateLimiterOptions options;
    options.per_s = config.rate_limit->per_ip_per_s;
    options.burst = config.rate_limit->burst;
    rate_limiter.emplace(options);
  }
  WebhookHandler webhooks(
      ingest, clock,
      MakeWebhookGuards(config, rate_limiter ? &*rate_limiter : nullptr),
      &metrics, &log);
  std::map<std::string, std::string> source_providers;
  for (const auto& [name, src] : *source_set) {
    source_providers[name] = std::string(src.provider());
  }
  auto admin_token = std::make_shared<SharedString>(config.admin_token);
  auto fallback = FallbackEngine::Build(config, source_providers, *registry,
                                        clock, log, admin_token,
                                        &internal_errors);
  if (!fallback.ok()) {
    log.Error("fallback_init_failed", {{"error", fallback.status().message()}});
    return 1;
  }
  std::unique_ptr<RetentionWorker> retention;
  // The quarantine's TTL is kept by the same worker, events_days or not.
  const int64_t quarantine_ttl_ms = config.quarantine.ttl_hours * 3'600'000;
  if (config.retention.events_days > 0 || config.quarantine.enabled) {
    auto pruner =
        SqliteRetention::Open(config.store.path, config.store.busy_timeout_ms,
                              config.retention, quarantine_ttl_ms);
    if (!pruner.ok()) {
      log.Error("retention_open_failed",
                {{"error", pruner.status().message()}});
      return 1;
    }
    retention = std::make_unique<RetentionWorker>(
        std::move(pruner).value(), config.retention, clock, log,
        &internal_errors);
  }
  std::unique_ptr<StatsApi> stats_api;
  if (!config.admin_token.empty()) {
    auto reader = StatsReader::Open(config.store.path);
    if (!reader.ok()) {
      log.Error("stats_open_failed", {{"error", reader.status().message()}});
      return 1;
    }
    stats_api = std::make_unique<StatsApi>(admin_token,
                                           std::move(reader).value(), clock);
    stats_api->SetInternalErrors(&internal_errors);
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      registry, std::make_shared<ProcessCollector>()};
  if (config.quarantine.enabled) {
    // Scrape-time reads: wait little for a lock, never for the writer.
    auto totals = QuarantineStore::Open(config.store.path, 100);
    if (!totals.ok()) {
      log.Error("quarantine_open_failed",
                {{"error", totals.status().message()}});
      return 1;
    }
    collectables.push_back(
        std::make_shared<QuarantineCollector>(std::move(totals).value()));
  }
  std::atomic<bool> draining{false};
  AdminHandler admin(
      std::move(collectables),
      [&] { return queue.healthy() && !draining.load(); },
      fallback.value() ? fallback.value()->api() : nullptr, stats_api.get());
  // Exception barriers: a request that throws is answered 500 and counted;
  // the listener keeps serving.
  GuardedHandler guarded_webhooks(webhooks, "public_handler", &internal_errors);
  GuardedHandler guarded_admin(admin, "admin_handler", &internal_errors);

  auto pub = HttpListener::Listen(ioc, config.listen,
                                  {"public", "webhook", config.limits},
                                  guarded_webhooks, &metrics, log);
  if (!pub.ok()) {
    log.Error("listen_failed",
              {{"listener", "public"}, {"error", pub.status().message()}});
    return 1;
  }
  ListenerLimits admin_limits = config.limits;
  auto adm = HttpListener::Listen(ioc, config.admin_listen,
                                  {"admin", "other", admin_limits},
                                  guarded_admin, &metrics, log);
  if (!adm.ok()) {
    log.Error("listen_failed",
              {{"listener", "admin"}, {"error", adm.status().message()}});
    return 1;
  }

  if (fallback.value()) {
    queue.OnJobCreated([engine = fallback.value().get()] { engine->Wake(); });
  }
  queue.Start();
  if (fallback.value()) fallback.value()->Start();
  if (retention) retention->Start();
  pub.value()->Start();
  adm.value()->Start();

  Shutdown shutdown(ioc, *pub.value(), *adm.value(), queue,
                    fallback.value().get(), log, config.shutdown_grace_ms);
  on_fatal_begin = [&] {
    draining = true;
    shutdown.Begin("store_fatal");
  };
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    draining = true;
    shutdown.Begin(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  std::signal(SIGPIPE, SIG_IGN);
  // SIGHUP re-reads the config and applies its secrets; a config that does
  // not load changes nothing.
  net::signal_set hangup(ioc, SIGHUP);
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      Status s = Reload(config_path, applied_text.value(), ingest,
                        fallback.value().get(), *admin_token,
                        config.admin_token.empty());
      if (s.ok()) {
        log.Info("reloaded", {{"config", config_path}});
      } else {
        log.Error("reload_failed",
                  {{"config", config_path}, {"error", s.message()}});
      }
      wait_hangup();
    });
  };
  wait_hangup();

  log.Info("started",
           {{"version", kVersion},
            {"listen",
             config.listen.host + ":" + std::to_string(pub.value()->port())},
            {"admin_listen", config.admin_listen.host + ":" +
                                 std::to_string(adm.value()->port())},
            {"database", config.store.path},
            {"schema_version", store.value()->schema_version()},
            {"sources", config.sources.size()},
            {"trusted_proxies", config.trusted_proxies.size()},
            {"rate_limit", config.rate_limit ? "on" : "off"}});
  bool any_allowlist = false;
  for (const auto& [name, src] : config.sources) {
    any_allowlist |= !src.allow_ips.empty();
  }
  if ((config.rate_limit || any_allowlist) && config.trusted_proxies.empty()) {
    // Behind nginx with no trusted_proxies, every request comes from the
    // proxy's address: one shared bucket, and allowlists see only nginx.
    log.Warn("client_ip_is_tcp_peer",
             {{"hint",
               "behind a reverse proxy, set trusted_proxies to its "
               "address so rate_limit and allow_ips see clients"}});
  }

  // The I/O threads' barrier: a handler that throws past its session is
  // counted, and the thread goes back to serving.
  auto run_io = [&] {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (...) {
        internal_errors.Report("io_thread", std::current_exception());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < config.io_threads; ++i) threads.emplace_back(run_io);
  run_io();
  for (auto& t : threads) t.join();
  queue.Stop();
  if (retention) retention->Stop();
  if (fallback.value()) fallback.value()->Stop(shutdown.deadline());
  return fatal ? 1 : 0;
}

}  // namespace dlrd
