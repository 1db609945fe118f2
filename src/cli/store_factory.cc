#include "cli/store_factory.h"

#include <unistd.h>

#include "cli/fallback_engine.h"
#include "dlrd/sqlite/sqlite_event_store.h"
#include "dlrd/postgres/pg_event_store.h"
#include "dlrd/postgres/pg_fallback.h"
#include "dlrd/postgres/pg_quarantine.h"
#include "dlrd/postgres/pg_stats_reader.h"
#include "dlrd/sqlite/sqlite_quarantine.h"
#include "dlrd/sqlite/sqlite_stats_reader.h"

namespace dlrd {

PgTarget PgTargetOf(const Config& config, std::string_view role) {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  PgTarget t;
  t.uri = config.store.path;
  t.password = config.store.password;
  t.application_name = "dlrd " + std::string(role) + " " + host;
  return t;
}

Result<OpenedEventStore> OpenEventStore(const Config& config,
                                        bool with_fallback) {
  const FallbackRules rules =
      with_fallback ? FallbackRulesOf(config) : FallbackRules{};
  if (config.store.backend == StoreBackend::kPostgres) {
    const PgTarget target = PgTargetOf(config, "ingest");
    PgStoreOptions options;
    options.quarantine = {config.quarantine.max_rows,
                          config.quarantine.max_bytes};
    // Fallback decisions in the ingest transaction, after the rollups.
    if (!rules.empty()) options.hooks.push_back(MakePgFallbackHook(rules));
    auto store = OpenPgEventStore(target, options);  // migrates
    if (!store.ok()) return store.status();
    OpenedEventStore out;
    out.store = std::move(store).value();
    // Migrated, and a newer schema was refused: it is this build's latest.
    out.schema_version = LatestPostgresSchemaVersion();
    return out;
  }
  SqliteOptions options;
  options.busy_timeout_ms = config.store.busy_timeout_ms;
  options.fallback = rules;
  options.quarantine = {config.quarantine.max_rows, config.quarantine.max_bytes};
  auto store = SqliteEventStore::Open(config.store.path, options);
  if (!store.ok()) return store.status();
  OpenedEventStore out;
  out.schema_version = store.value()->schema_version();
  out.store = std::move(store).value();
  return out;
}

Result<std::unique_ptr<StatsSource>> OpenStatsSource(const Config& config) {
  if (config.store.backend == StoreBackend::kPostgres) {
    return OpenPgStatsReader(PgTargetOf(config, "stats"));
  }
  auto reader = StatsReader::Open(config.store.path);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<StatsSource>(std::move(reader).value());
}

Result<std::unique_ptr<QuarantineStore>> OpenQuarantineStore(
    const Config& config, std::string_view role, int64_t busy_timeout_ms) {
  if (config.store.backend == StoreBackend::kPostgres) {
    return OpenPgQuarantine(PgTargetOf(config, role));
  }
  auto store = SqliteQuarantine::Open(config.store.path, busy_timeout_ms);
  if (!store.ok()) return store.status();
  return std::unique_ptr<QuarantineStore>(std::move(store).value());
}

}  // namespace dlrd
