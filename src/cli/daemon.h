// Daemon: `dlrd serve`. The composition root of the running daemon
// (docs/design.md §5.1, §6.3): it loads the config, builds the shared
// pieces (logger, metrics registry, internal-error counter, clock, I/O
// context) and four modules, starts them, runs the I/O threads until a
// signal or a fatal store error, and stops the modules in order.
//
// Modules: IngestModule (store, ingest queue and service, public listener),
// FallbackEngine (outbox, dispatcher, HTTPS client, /v1/verifications; null
// without fallback), RetentionWorker (null when nothing is pruned),
// AdminModule (/metrics, /readyz, stats API, admin listener). Each is built
// by a static Build() that logs and returns its failure, then Start()ed;
// they are built in that order (the ingest store migrates the database the
// others open) and started fallback, retention, ingest, admin (nothing is
// accepted before the dispatcher runs).
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
// (The retention worker stops between 3 and 4, within one batch.)
//
// SIGHUP applies a re-read config's secrets (Reload()); a config that
// does not load changes nothing. SIGPIPE is ignored.
#pragma once

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/admin_module.h"
#include "cli/fallback_engine.h"
#include "cli/ingest_module.h"
#include "cli/retention_worker.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/config/config.h"
#include "dlrd/app/time/system_clock.h"
#include "dlrd/core/util/shared_string.h"

namespace dlrd {

class Daemon {
 public:
  // What Build() gives: the daemon, or (null) the exit code of a start-up
  // that failed, its reason already logged (printed to stderr when the
  // config does not load, before there is a logger).
  struct Built {
    std::unique_ptr<Daemon> daemon;
    int exit_code = 0;  // if daemon is null: 2 config error, 1 any other
  };
  // Loads the config and builds every module, starting none.
  static Built Build(const std::string& config_path);
  ~Daemon();

  // Starts the modules and runs the I/O threads on this thread and
  // io_threads - 1 others until shutdown; returns 0, or 1 after a fatal
  // store error. Call once.
  int Run();
  // Begins shutdown, as SIGTERM does; `why` is logged. Thread-safe; only
  // the first call (or signal) counts. It takes effect once Run() runs.
  void Stop(std::string_view why);

 private:
  Daemon(std::string config_path, std::string applied_text, Config config);
  // Builds the modules, in order; false (logged) if one fails.
  bool BuildModules(std::shared_ptr<const SourceMap> sources);
  // On an I/O thread.
  void BeginShutdown(const std::string& why);
  void PollDrain();
  void WaitSignals();
  void WaitHangup();
  void LogStarted();

  const std::string config_path_;
  std::string applied_text_;  // the config text in force (SIGHUP compares)
  const Config config_;
  std::unique_ptr<Logger> log_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<InternalErrors> errors_;
  SystemClock clock_;
  std::shared_ptr<SharedString> admin_token_;
  boost::asio::io_context ioc_;
  // Destroyed before the I/O context, in reverse.
  std::unique_ptr<IngestModule> ingest_;
  std::unique_ptr<FallbackEngine> fallback_;    // null without fallback
  std::unique_ptr<RetentionWorker> retention_;  // null when off
  std::unique_ptr<AdminModule> admin_;
  boost::asio::steady_timer drain_timer_;
  // Made in Run(): until then SIGTERM keeps its default action (a long
  // migration can be interrupted) and SIGHUP is ignored.
  std::optional<boost::asio::signal_set> signals_;  // SIGINT, SIGTERM
  std::optional<boost::asio::signal_set> hangup_;   // SIGHUP

  std::atomic<bool> fatal_{false};
  std::atomic<bool> draining_{false};  // /readyz answers 503
  std::atomic<bool> stopping_{false};
  // When the grace period ends; set on an I/O thread, read after they join.
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace dlrd
