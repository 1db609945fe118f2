#include "cli/daemon.h"

#include <sys/resource.h>

#include <boost/asio/post.hpp>

#include <csignal>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/reload.h"
#include "cli/secret_resolver.h"
#include "dlrd/build_info.h"

namespace dlrd {
namespace {

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

LogLevel LevelOf(const Config& config) {
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.log_level, &level);
  return level;
}

}  // namespace

Daemon::Built Daemon::Build(const std::string& config_path) {
  // A SIGHUP before the reload handler exists (a long migration) must not
  // end the process; asio installs its handler in Run().
  std::signal(SIGHUP, SIG_IGN);
  auto applied_text = ReadFile(config_path);
  auto loaded = LoadConfig(config_path);
  if (!loaded.ok() || !applied_text.ok()) {
    std::cerr
        << "dlrd: config error: "
        << (loaded.ok() ? applied_text.status() : loaded.status()).message()
        << "\n";
    return {nullptr, 2};
  }
  std::unique_ptr<Daemon> d(new Daemon(config_path,
                                       std::move(applied_text).value(),
                                       std::move(loaded).value()));
  RaiseFileLimit(d->config_.limits.max_connections, *d->log_);
  auto sources = BuildSources(d->config_);
  if (!sources.ok()) {
    d->log_->Error("config_invalid", {{"error", sources.status().message()}});
    return {nullptr, 2};
  }
  if (!d->BuildModules(
          std::make_shared<const SourceMap>(std::move(sources).value()))) {
    return {nullptr, 1};
  }
  return {std::move(d), 0};
}

Daemon::Daemon(std::string config_path, std::string applied_text,
               Config config)
    : config_path_(std::move(config_path)),
      applied_text_(std::move(applied_text)),
      config_(std::move(config)),
      log_(std::make_unique<Logger>(stderr, LevelOf(config_))),
      ioc_(config_.io_threads),
      drain_timer_(ioc_) {}

Daemon::~Daemon() = default;

bool Daemon::BuildModules(std::shared_ptr<const SourceMap> sources) {
  registry_ = std::make_shared<prometheus::Registry>();
  metrics_ = std::make_unique<Metrics>(*registry_, MetricLabels(*sources),
                                       BuildLabels{kVersion, kRevision});
  errors_ = std::make_unique<InternalErrors>(*registry_, log_.get());
  admin_token_ = std::make_shared<SharedString>(config_.admin_token);

  auto ingest = IngestModule::Build(
      config_, sources, ioc_, *metrics_, *errors_, clock_, *log_,
      [this](const Status& s) {  // on the writer thread
        log_->Error("store_fatal", {{"error", s.message()}});
        fatal_ = true;
        Stop("store_fatal");
      });
  if (!ingest.ok()) return false;
  ingest_ = std::move(ingest).value();

  std::map<std::string, std::string> source_providers;
  for (const auto& [name, src] : *sources) {
    source_providers[name] = std::string(src.provider());
  }
  auto fallback = FallbackEngine::Build(config_, source_providers, *registry_,
                                        clock_, *log_, admin_token_,
                                        errors_.get());
  if (!fallback.ok()) return false;
  fallback_ = std::move(fallback).value();

  auto retention =
      RetentionWorker::Build(config_, clock_, *log_, errors_.get());
  if (!retention.ok()) return false;
  retention_ = std::move(retention).value();

  auto admin = AdminModule::Build(
      config_, ioc_, registry_, *metrics_, *errors_, clock_, *log_,
      admin_token_,
      [this] { return ingest_->healthy() && !draining_.load(); },
      fallback_ ? fallback_->api() : nullptr);
  if (!admin.ok()) return false;
  admin_ = std::move(admin).value();

  if (fallback_) {
    ingest_->OnJobCreated([engine = fallback_.get()] { engine->Wake(); });
  }
  return true;
}

int Daemon::Run() {
  if (fallback_) fallback_->Start();
  if (retention_) retention_->Start();
  ingest_->Start();
  admin_->Start();
  WaitSignals();
  std::signal(SIGPIPE, SIG_IGN);
  WaitHangup();
  LogStarted();

  // The I/O threads' barrier: a handler that throws past its session is
  // counted, and the thread goes back to serving.
  auto run_io = [this] {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (...) {
        errors_->Report("io_thread", std::current_exception());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < config_.io_threads; ++i) threads.emplace_back(run_io);
  run_io();
  for (auto& t : threads) t.join();
  ingest_->Stop();
  if (retention_) retention_->Stop();
  if (fallback_) fallback_->Stop(deadline_);
  return fatal_ ? 1 : 0;
}

void Daemon::Stop(std::string_view why) {
  boost::asio::post(ioc_,
                    [this, why = std::string(why)] { BeginShutdown(why); });
}

// A signal and a fatal store error may race on two I/O threads; only the
// first call proceeds.
void Daemon::BeginShutdown(const std::string& why) {
  draining_ = true;
  if (stopping_.exchange(true)) return;
  log_->Info("shutdown_started", {{"reason", why}});
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(config_.shutdown_grace_ms);
  if (fallback_) fallback_->BeginStop();
  ingest_->BeginStop();
  PollDrain();
}

// Polls until the public listener has drained, then finishes shutdown.
void Daemon::PollDrain() {
  if (ingest_->open_connections() > 0 &&
      std::chrono::steady_clock::now() < deadline_) {
    drain_timer_.expires_after(std::chrono::milliseconds(20));
    drain_timer_.async_wait([this](boost::system::error_code) { PollDrain(); });
    return;
  }
  if (ingest_->open_connections() > 0) {
    log_->Warn("shutdown_grace_expired",
               {{"open_connections", ingest_->open_connections()}});
  }
  ingest_->Stop();  // commits whatever is still queued
  admin_->Stop();
  log_->Info("shutdown_complete");
  ioc_.stop();
}

void Daemon::WaitSignals() {
  signals_.emplace(ioc_, SIGINT, SIGTERM);
  signals_->async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    BeginShutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
}

// SIGHUP re-reads the config and applies its secrets; a config that does
// not load changes nothing.
void Daemon::WaitHangup() {
  if (!hangup_) hangup_.emplace(ioc_, SIGHUP);
  hangup_->async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    Status s = Reload(config_path_, applied_text_, ingest_->service(),
                      fallback_.get(), *admin_token_,
                      config_.admin_token.empty());
    if (s.ok()) {
      log_->Info("reloaded", {{"config", config_path_}});
    } else {
      log_->Error("reload_failed",
                  {{"config", config_path_}, {"error", s.message()}});
    }
    WaitHangup();
  });
}

void Daemon::LogStarted() {
  const Config& c = config_;
  log_->Info("started",
             {{"version", kVersion},
              {"listen", c.listen.host + ":" + std::to_string(ingest_->port())},
              {"admin_listen",
               c.admin_listen.host + ":" + std::to_string(admin_->port())},
              {"database", c.store.path},
              {"schema_version", ingest_->schema_version()},
              {"sources", c.sources.size()},
              {"trusted_proxies", c.trusted_proxies.size()},
              {"rate_limit", c.rate_limit ? "on" : "off"}});
  bool any_allowlist = false;
  for (const auto& [name, src] : c.sources) {
    any_allowlist |= !src.allow_ips.empty();
  }
  if ((c.rate_limit || any_allowlist) && c.trusted_proxies.empty()) {
    // Behind nginx with no trusted_proxies, every request comes from the
    // proxy's address: one shared bucket, and allowlists see only nginx.
    log_->Warn("client_ip_is_tcp_peer",
               {{"hint",
                 "behind a reverse proxy, set trusted_proxies to its "
                 "address so rate_limit and allow_ips see clients"}});
  }
}

}  // namespace dlrd
