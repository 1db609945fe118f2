// `dlrd quarantine list|replay`: the requests the daemon kept because they
// failed signature verification (schema/0005_quarantine.sql).
//
// list    one line per row: id, source, received time, reason, body size.
//         Never heads, bodies or secrets.
// replay  re-verifies each row against the secrets in the config file now,
//         as of the row's receive time (so a signed timestamp is judged
//         against when it arrived), normalizes it, and commits it through
//         the EventStore with its original receive time and the normal
//         dedupe; then deletes the row. A row that still fails (signature,
//         unknown source, payload) stays. A crash between the commit and the
//         delete leaves the row, and replaying it again is a duplicate.
//         Replayed events take no fallback decisions: they are late by
//         construction, and the daemon's deadline already acted.
// Both run on either backend (store_factory.h) and are safe while the
// daemon runs: each opens its own connections. On SQLite (WAL) a write
// waits store.busy_timeout_ms for the lock; on PostgreSQL the rows are
// every replica's, and two replays at once store each event once (dedupe)
// and delete each row once.
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "cli/raw_request.h"
#include "cli/secret_resolver.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/core/util/field_reader.h"
#include "dlrd/core/stats/stats.h"
#include "cli/store_factory.h"

namespace dlrd {
namespace {

// The submission a quarantined row makes under `sources`, or why not.
Result<Submission> Reverify(const SourceMap& sources, const QuarantineRow& r) {
  auto it = sources.find(r.source);
  if (it == sources.end()) return Status::Error("unknown_source");
  const Source& src = it->second;
  auto parsed = ParseRawRequest(r.head + r.body);
  if (!parsed.ok()) return Status::Error("unparsable");
  InboundWebhook hook = std::move(parsed).value();
  hook.source = r.source;
  auto content_type = hook.Header("Content-Type");
  if (!content_type || !src.normalizer->AcceptsContentType(*content_type)) {
    return Status::Error("unsupported_media_type");
  }
  SignatureCheck check = src.verifier->Verify(hook, r.received_at_ms / 1000);
  if (!check.valid) return Status::Error(std::string(ToString(check.reason)));
  // As the daemon would have stored it on arrival (the head was redacted
  // when quarantined; redacting again changes nothing).
  auto prepared =
      PrepareSubmission(src, std::move(hook), check, r.received_at_ms);
  if (!prepared.ok()) return Status::Error("malformed");
  return std::move(prepared.value().submission);
}

// `list` needs only the database and the source names, so it runs where
// the daemon's signing secrets are not available (ResolveOrPlaceholder).
Result<Config> LoadFor(const QuarantineCommand& o) {
  if (o.action == "replay") return LoadConfig(o.config_path);
  auto text = ReadFile(o.config_path);
  if (!text.ok()) return text.status();
  auto config = ParseConfig(text.value(), ResolveOrPlaceholder);
  if (!config.ok()) {
    return Status::Error(o.config_path + ": " + config.status().message());
  }
  return config;
}

int Fail(const std::string& message, int code) {
  std::cerr << "dlrd: " << message << "\n";
  return code;
}

}  // namespace

int RunQuarantine(const QuarantineCommand& o) {
  auto config = LoadFor(o);
  if (!config.ok())
    return Fail("config error: " + config.status().message(), 2);
  const Config& c = config.value();
  if (o.source && c.sources.find(*o.source) == c.sources.end()) {
    return Fail("--source: no source '" + *o.source + "' in the config", 2);
  }
  int64_t since_ms = 0;
  if (!o.since.empty()) {
    auto d = ParseDurationMs(o.since);
    if (!d.ok()) return Fail("--since: " + d.status().message(), 2);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    since_ms = now - d.value();
  }
  // Opening the event store first applies any pending migration (SQLite
  // 0005). Replayed events are late: no fallback decisions.
  auto store = OpenEventStore(c, /*with_fallback=*/false);
  if (!store.ok()) return Fail("database: " + store.status().message(), 1);
  auto q = OpenQuarantineStore(c, "quarantine", c.store.busy_timeout_ms);
  if (!q.ok()) return Fail("database: " + q.status().message(), 1);
  const bool replay = o.action == "replay";
  auto rows = q.value()->List(o.source, since_ms, /*with_content=*/replay);
  if (!rows.ok()) return Fail(rows.status().message(), 1);

  if (!replay) {
    for (const QuarantineRow& r : rows.value()) {
      std::cout << r.id << " " << r.source << " "
                << FormatTimestampMs(r.received_at_ms) << " " << r.reason << " "
                << r.body_bytes << "\n";
    }
    return 0;
  }
  auto sources = BuildSources(c);
  if (!sources.ok())
    return Fail("config error: " + sources.status().message(), 2);
  int64_t replayed = 0, failing = 0, new_events = 0;
  for (const QuarantineRow& r : rows.value()) {
    Result<Submission> sub = Reverify(sources.value(), r);
    if (!sub.ok()) {
      ++failing;
      std::cout << "still failing " << r.id << " " << r.source << " "
                << sub.status().message() << "\n";
      continue;
    }
    BatchResult br = store.value().store->CommitBatch({&sub.value()});
    if (!br.status.ok()) return Fail(br.status.message(), 1);
    const SubmissionResult& sr = br.submissions.front();
    if (!sr.status.ok()) return Fail(sr.status.message(), 1);
    for (bool b : sr.inserted) new_events += b ? 1 : 0;
    if (Status s = q.value()->Delete(r.id); !s.ok()) {
      return Fail(s.message(), 1);
    }
    ++replayed;
  }
  std::cout << "replayed " << replayed << " (" << new_events
            << " new events), still failing " << failing << "\n";
  return 0;
}

}  // namespace dlrd
