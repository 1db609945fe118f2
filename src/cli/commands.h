// The subcommands of the dlrd binary. Each returns the process exit code.
//   serve         0 after a clean shutdown; 1 after a fatal runtime error
//                 (store failure, listener failure); 2 for a config error.
//   verify        0 valid, 1 invalid, 2 usage or config error.
//   check-config  0 valid, 2 invalid.
//   stats         0 printed; 1 database error; 2 usage or config error.
//   quarantine    0 done (rows still failing are not an error); 1 database
//                 error; 2 usage or config error.
//   migrate-store 0 copied; 1 database error or refusal (SQLite schema not
//                 the latest, target not empty); 2 usage error.
#pragma once

#include <optional>
#include <string>

#include "dlrd/core/config/config.h"

namespace dlrd {

// Reads, parses and validates a config file, resolving secrets from the
// environment and files. Errors are ready to print.
Result<Config> LoadConfig(const std::string& path);

int RunServe(const std::string& config_path);
int RunVerify(const std::string& config_path, const std::string& source,
              const std::string& request_path, std::optional<int64_t> at);
int RunCheckConfig(const std::string& config_path);

struct StatsOptions {
  std::string config_path;
  std::string db_path;  // instead of the config's store.path
  std::string since = "24h";
  std::string from, to;  // RFC 3339; from overrides since, to defaults now
  std::string by;        // e.g. "channel,provider"
  std::string format = "table";
  bool hourly = false;
  bool since_given = false;  // --since was on the command line
};
int RunStats(const StatsOptions& options);

struct QuarantineCommand {
  std::string action;  // "list" or "replay"
  std::string config_path;
  std::optional<std::string> source;
  std::string since;  // "" = all; else a duration (90m, 24h, 7d)
};
int RunQuarantine(const QuarantineCommand& options);

struct MigrateStoreOptions {
  std::string from;  // the SQLite file
  std::string to;    // postgresql:// URI; password through libpq's env
};
int RunMigrateStore(const MigrateStoreOptions& options);

}  // namespace dlrd
