// dlrd: the composition root. Parses the command line and dispatches.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "dlrd/build_info.h"
#include "dlrd/sqlite/sqlite_handle.h"

int main(int argc, char** argv) {
  dlrd::ConfigureSqliteProcess();
  CLI::App app{
      "dlrd: receives OTP providers' delivery callbacks, verifies their "
      "signatures and stores them durably in SQLite."};
  app.set_version_flag("--version", std::string("dlrd ") + dlrd::kVersion +
                                        " (" + dlrd::kRevision + ")");
  app.require_subcommand(1);

  std::string config;
  auto* serve = app.add_subcommand("serve", "Run the daemon.");
  serve->add_option("-c,--config", config, "Config file (JSON with comments)")
      ->required();

  std::string source, request;
  std::optional<int64_t> at;
  auto* verify = app.add_subcommand(
      "verify",
      "Check one raw HTTP request's signature against a source's settings. "
      "Prints {\"valid\",\"reason\",\"secret_index\"}; exits 0 valid, 1 "
      "invalid, 2 usage/config error.");
  verify->add_option("-c,--config", config, "Config file")->required();
  verify->add_option("--source", source, "Source name")->required();
  verify
      ->add_option("--request", request,
                   "File with the raw request (request line, headers, "
                   "blank line, body); - for stdin")
      ->required();
  verify->add_option("--at", at,
                     "Verify as of this unix time (seconds) instead of now");

  auto* check = app.add_subcommand("check-config",
                                   "Validate a config file without starting.");
  check->add_option("-c,--config", config, "Config file")->required();

  dlrd::StatsOptions stats_options;
  auto* stats = app.add_subcommand(
      "stats",
      "Delivery analytics from the database (read-only; safe while the "
      "daemon runs).");
  auto* stats_config = stats->add_option(
      "-c,--config", stats_options.config_path, "Config file (for store.path)");
  auto* stats_db = stats->add_option("--db", stats_options.db_path,
                                     "Database file, instead of --config");
  stats_config->excludes(stats_db);
  stats
      ->add_option("--since", stats_options.since,
                   "Window ending now (or at --to): 90m, 24h, 7d")
      ->capture_default_str();
  stats->add_option("--from", stats_options.from, "Window start, RFC 3339");
  stats->add_option("--to", stats_options.to, "Window end, RFC 3339");
  stats->add_option("--by", stats_options.by,
                    "Group by: source,provider,channel,country");
  stats->add_option("--format", stats_options.format, "table, json or csv")
      ->capture_default_str();
  stats->add_flag("--hourly", stats_options.hourly,
                  "Add the hourly series (json only)");

  dlrd::QuarantineCommand quarantine_options;
  auto* quarantine = app.add_subcommand(
      "quarantine",
      "Requests refused for their signature and kept (safe while the daemon "
      "runs).");
  quarantine->require_subcommand(1);
  for (const char* action : {"list", "replay"}) {
    auto* sub = quarantine->add_subcommand(
        action, std::string(action) == "list"
                    ? "One line per row: id, source, received time, reason, "
                      "body bytes."
                    : "Re-verify against the config's secrets now; ingest "
                      "those that pass (original receive time, normal "
                      "dedupe) and delete them; the rest stay.");
    sub->add_option("-c,--config", quarantine_options.config_path,
                    "Config file")
        ->required();
    sub->add_option("--source", quarantine_options.source, "Only this source");
    sub->add_option("--since", quarantine_options.since,
                    "Only rows received within this long: 90m, 24h, 7d");
    sub->callback(
        [&quarantine_options, action] { quarantine_options.action = action; });
  }

  dlrd::MigrateStoreOptions migrate_options;
  auto* migrate = app.add_subcommand(
      "migrate-store",
      "Copy a SQLite database into an empty PostgreSQL database, in one "
      "transaction. Run it with the daemon stopped. The password comes from "
      "PGPASSWORD or PGPASSFILE (~/.pgpass). Exits 0 copied, 1 database "
      "error or refusal, 2 usage error.");
  migrate->add_option("--from", migrate_options.from, "SQLite database file")
      ->required();
  migrate
      ->add_option("--to", migrate_options.to,
                   "postgresql://user@host:port/db URI, without a password")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (serve->parsed()) return dlrd::RunServe(config);
  if (verify->parsed()) return dlrd::RunVerify(config, source, request, at);
  if (check->parsed()) return dlrd::RunCheckConfig(config);
  if (quarantine->parsed()) return dlrd::RunQuarantine(quarantine_options);
  if (migrate->parsed()) return dlrd::RunMigrateStore(migrate_options);
  if (stats->parsed()) {
    if (stats_options.config_path.empty() && stats_options.db_path.empty()) {
      std::cerr << "dlrd stats: --config or --db is required\n";
      return 2;
    }
    stats_options.since_given = stats->count("--since") > 0;
    return dlrd::RunStats(stats_options);
  }
  return 2;
}
