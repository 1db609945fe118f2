// `dlrd stats`: the analytics report from the database, without the
// daemon. It opens the database read-only (WAL readers never block the
// writer), so it is safe while `dlrd serve` runs.
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "cli/secret_resolver.h"
#include "cli/stats_render.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/stats/stats.h"
#include "cli/store_factory.h"

namespace dlrd {
namespace {

Result<int64_t> TimeArg(const std::string& name, const std::string& value) {
  auto ms = ParseTimestampMs(value);
  if (!ms) {
    return Status::Error(name + ": '" + value +
                         "' is not an RFC 3339 time such as "
                         "2026-01-31T00:00:00Z");
  }
  return *ms;
}

int UsageError(const std::string& message) {
  std::cerr << "dlrd: " << message << "\n";
  return 2;
}

}  // namespace

int RunStats(const StatsOptions& o) {
  Config config;
  if (o.db_path.empty()) {
    auto text = ReadFile(o.config_path);
    if (!text.ok()) {
      std::cerr << "dlrd: " << text.status().message() << "\n";
      return 2;
    }
    auto parsed = ParseConfig(text.value(), ResolveOrPlaceholder);
    if (!parsed.ok()) {
      std::cerr << "dlrd: config error: " << o.config_path << ": "
                << parsed.status().message() << "\n";
      return 2;
    }
    config = std::move(parsed).value();
  } else {
    // --db: a SQLite file or a postgresql:// URI (password: PGPASSFILE).
    config.store.path = o.db_path;
    if (IsPostgresUri(o.db_path)) {
      config.store.backend = StoreBackend::kPostgres;
    }
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t to = now;
  if (!o.to.empty()) {
    auto t = TimeArg("--to", o.to);
    if (!t.ok()) return UsageError(t.status().message());
    to = t.value();
  }
  int64_t from = 0;
  if (!o.from.empty() && o.since_given) {
    return UsageError("--since: not with --from");
  }
  if (!o.from.empty()) {
    auto t = TimeArg("--from", o.from);
    if (!t.ok()) return UsageError(t.status().message());
    from = t.value();
  } else {
    auto d = ParseDurationMs(o.since);
    if (!d.ok()) {
      std::cerr << "dlrd: --since: " << d.status().message() << "\n";
      return 2;
    }
    from = to - d.value();
  }
  auto by = ParseDims(o.by);
  if (!by.ok()) return UsageError("--" + by.status().message());
  auto query = MakeQuery(from, to, by.value(), o.hourly);
  if (!query.ok()) return UsageError(query.status().message());
  if (o.format != "table" && o.format != "json" && o.format != "csv") {
    return UsageError("--format: must be table, json or csv");
  }
  if (o.hourly && o.format != "json") {
    return UsageError("--hourly: only with --format json");
  }
  auto reader = OpenStatsSource(config);
  if (!reader.ok()) {
    std::cerr << "dlrd: " << reader.status().message() << "\n";
    return 1;
  }
  auto report = reader.value()->Query(query.value());
  if (!report.ok()) {
    std::cerr << "dlrd: " << report.status().message() << "\n";
    return 1;
  }
  if (o.format == "json") {
    std::cout << ToJsonText(report.value());
  } else if (o.format == "csv") {
    std::cout << ToCsv(report.value());
  } else {
    std::cout << ToTable(report.value());
  }
  return 0;
}

}  // namespace dlrd
