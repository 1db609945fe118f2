// Config: dlrd's configuration, parsed and validated in one pure step.
//
// The file is JSON with comments allowed. Validation is strict: an unknown
// key, a wrong type or an out-of-range value is an error whose message starts
// with the key path (e.g. `sources.verifynow.signature.algorithm: ...`), so
// an operator can fix it without reading code. ParseConfig does no I/O:
// secret references (`env:NAME`, `file:PATH`) are resolved through the
// SecretResolver the caller passes. A reference without one of those
// prefixes is a literal secret, refused unless the file sets "demo": true.
//
// Defaults are the values written below; each has a one-line rationale.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dlrd/core/util/cidr.h"
#include "dlrd/core/util/status.h"
#include "dlrd/core/fallback/policy.h"
#include "dlrd/core/normalize/payload_normalizer.h"
#include "dlrd/core/outbound/send_adapter.h"
#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {

// Resolves one secret reference ("env:NAME" or "file:PATH") to its value.
// Errors describe the problem without the secret's value.
using SecretResolver = std::function<Result<std::string>(std::string_view)>;

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

struct ListenerLimits {
  // Webhook bodies are small; Standard Webhooks advises < 20 KB.
  size_t max_body_bytes = 64 * 1024;
  // Request line + headers; Beast's and nginx's usual 8 KiB.
  size_t max_header_bytes = 8 * 1024;
  // Time to receive a whole header once its first byte arrived (slowloris).
  int64_t header_timeout_ms = 10'000;
  // Time to receive the body once the header is complete.
  int64_t body_timeout_ms = 10'000;
  // Idle keep-alive connection lifetime between requests.
  int64_t idle_timeout_ms = 15'000;
  // Time to write a response.
  int64_t write_timeout_ms = 10'000;
  // Connections beyond this are closed at accept.
  size_t max_connections = 256;
};

// Which store `database` names: a SQLite file path (the embedded default)
// or a postgresql:// URI (several replicas on one PostgreSQL).
enum class StoreBackend { kSqlite, kPostgres };

// Whether `database` is a PostgreSQL URI (postgresql:// or postgres://).
bool IsPostgresUri(std::string_view database);
// Refuses a PostgreSQL URI that carries a password (user:password@ or a
// password= parameter): the message says where the password goes instead.
Status CheckPostgresUri(std::string_view uri);

struct StoreConfig {
  // The SQLite file, or the PostgreSQL URI (never with a password in it).
  std::string path = "var/dlrd.db";
  StoreBackend backend = StoreBackend::kSqlite;
  // PostgreSQL only: resolved from `database_password` (env:/file:). Empty:
  // libpq's own PGPASSWORD / PGPASSFILE (~/.pgpass) applies.
  std::string password;
  // Pending submissions the writer may hold; beyond it, 503 + Retry-After.
  size_t queue_capacity = 8192;
  // Upper bound on submissions per transaction (group commit).
  size_t max_batch = 512;
  int64_t busy_timeout_ms = 5'000;
};

// Pruning of old rows (store/sqlite_retention.h). Off unless events_days
// is set. Events (with their raw requests, verifications, decisions and
// finished fallback chains) older than events_days are deleted in small
// batches; the hourly analytics rollups are kept for rollup_days, and the
// dedupe keys of pruned events (replay protection) for dedupe_days.
struct RetentionConfig {
  int64_t events_days = 0;  // 0: keep forever; else >= 2 (dedupe window)
  int64_t rollup_days = 400;
  int64_t dedupe_days = 400;  // >= events_days; unset: max(400, events_days)
  int64_t batch_rows = 1000;  // rows per delete transaction
  int64_t interval_s = 60;    // between pruning passes
};

// Requests refused for their signature but otherwise well-formed are kept
// for `dlrd quarantine replay` (docs/reliability.md §6.3). When a cap is reached
// the newest request is dropped (counted), so the oldest, from the moment a
// secret went wrong, survive a later flood.
struct QuarantineConfig {
  bool enabled = true;
  int64_t max_rows = 10'000;              // rows kept at most
  int64_t max_bytes = int64_t{64} << 20;  // head + body bytes kept at most
  int64_t ttl_hours = 72;                 // older rows are pruned
  // Quarantine writes waiting for the ingest writer at once; more are
  // dropped (counted), so a forgery flood cannot fill the ingest queue.
  int64_t max_queued = 4;
};

// Per-client-IP token bucket on the public listener (429 + Retry-After).
// Off unless the config has a `rate_limit` object, which must set both keys.
// Size it well above the busiest provider's callback rate per egress IP:
// a callback refused with 429 is lost if the provider does not retry it.
struct RateLimitConfig {
  double per_ip_per_s = 0;  // refill rate, tokens per second; > 0
  int64_t burst = 0;        // bucket capacity; >= 1
};

struct SourceConfig {
  std::string name;
  std::string format;  // one of KnownFormats()
  // Format settings (request_action for sinch-verification).
  FormatOptions format_options;
  SignatureConfig signature;
  // Client addresses (after trusted_proxies) allowed to post to this
  // source; others get 403. Empty: any address.
  CidrSet allow_ips;
  // Sends the OTP again on the next channel when it fails or stalls
  // (fallback/policy.h). nullopt: no fallback for this source.
  std::optional<FallbackConfig> fallback;
};

// The outbox dispatcher's retry and circuit-breaker settings.
struct OutboxConfig {
  int max_attempts = 5;            // per job, then the next channel
  int64_t backoff_base_ms = 1000;  // full-jitter exponential backoff
  int64_t backoff_cap_ms = 60000;
  int64_t retry_ceiling_ms = 900000;  // clamps Retry-After
  int breaker_failures = 5;           // consecutive, per (provider, channel)
  int64_t breaker_cooldown_ms = 30000;
  int64_t poll_ms = 200;  // deadline and due-job scan period
  // A job left in_flight by another process (crashed, or still shutting
  // down) is reclaimed as an unknown outcome only once it has been
  // in_flight this long. Keep it above the providers' connect + request
  // timeouts, so a send another process still waits for is not repeated.
  int64_t in_flight_lease_ms = 30000;
};

struct Config {
  bool demo = false;
  Endpoint listen{"127.0.0.1", 8080};
  Endpoint admin_listen{"127.0.0.1", 9464};
  // HTTP I/O threads; the store writer has its own. Two measured faster
  // than one on a 2-core machine (bench/results.md).
  int io_threads = 2;
  ListenerLimits limits;
  // Peers whose X-Forwarded-For is believed (core/client_ip.h). Empty: the
  // TCP peer is the client and X-Forwarded-For is ignored. Behind nginx on
  // the same host: ["127.0.0.1/32", "::1/128"].
  CidrSet trusted_proxies;
  std::optional<RateLimitConfig> rate_limit;  // nullopt: no rate limit
  StoreConfig store;
  int64_t shutdown_grace_ms = 10'000;
  std::string log_level = "info";  // debug | info | warn | error
  std::map<std::string, SourceConfig> sources;
  // Bearer token of the admin API (/v1/...); empty: the API answers 404.
  std::string admin_token;
  // Send APIs used by fallbacks, by provider name, secrets resolved.
  std::map<std::string, ProviderConfig> providers;
  OutboxConfig outbox;
  RetentionConfig retention;
  QuarantineConfig quarantine;
};

// Parses and validates `text`. Also checks that each source's format and
// signature are buildable (known scheme, decodable non-empty secrets).
Result<Config> ParseConfig(std::string_view text,
                           const SecretResolver& resolve);

// What SIGHUP may change: secrets and each source's signature, format and
// request_action, the providers, admin_token. Returns the path of the
// first other key that differs between two config texts ("" when none), so
// a reload can refuse changes that need a restart. Both texts must parse.
Result<std::string> FirstNonReloadableChange(std::string_view before,
                                             std::string_view after);

// "host:port" with a numeric port 1..65535; "[v6]:port" accepted.
Result<Endpoint> ParseEndpoint(std::string_view text);

}  // namespace dlrd
