// Config parsing. Each section is read by a small function that consumes
// the keys it knows from a JSON object and reports the rest as unknown, so a
// typo like "secrests" fails start-up instead of being silently ignored.
#include "dlrd/core/config/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/config/fallback_config.h"
#include "core/config/object_reader.h"
#include "dlrd/core/normalize/payload_normalizer.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

using config_internal::ObjectReader;
using config_internal::ReadSecretRef;
using nlohmann::json;

Status ReadEndpoint(ObjectReader& r, std::string_view key, Endpoint* out) {
  std::string text;
  DLRD_TRY(r.String(key, &text));
  if (text.empty()) return Status::Ok();
  auto ep = ParseEndpoint(text);
  if (!ep.ok()) return Status::Error(r.Key(key) + ": " + ep.status().message());
  *out = ep.value();
  return Status::Ok();
}

Status ReadLimits(const json& j, const std::string& path, ListenerLimits* l) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  constexpr int64_t kMaxMs = 3'600'000;
  DLRD_TRY(r.Integer("max_body_bytes", &l->max_body_bytes, 1, 64 << 20));
  DLRD_TRY(r.Integer("max_header_bytes", &l->max_header_bytes, 256, 1 << 20));
  DLRD_TRY(r.Integer("header_timeout_ms", &l->header_timeout_ms, 1, kMaxMs));
  DLRD_TRY(r.Integer("body_timeout_ms", &l->body_timeout_ms, 1, kMaxMs));
  DLRD_TRY(r.Integer("idle_timeout_ms", &l->idle_timeout_ms, 1, kMaxMs));
  DLRD_TRY(r.Integer("write_timeout_ms", &l->write_timeout_ms, 1, kMaxMs));
  DLRD_TRY(r.Integer("max_connections", &l->max_connections, 1, 1'000'000));
  return r.NoUnknownKeys();
}

Status ReadStore(const json& j, const std::string& path, StoreConfig* s) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.Integer("queue_capacity", &s->queue_capacity, 1, 10'000'000));
  DLRD_TRY(r.Integer("max_batch", &s->max_batch, 1, 100'000));
  DLRD_TRY(r.Integer("busy_timeout_ms", &s->busy_timeout_ms, 0, 600'000));
  return r.NoUnknownKeys();
}

Status ReadRetention(const json& j, const std::string& path,
                     RetentionConfig* out) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.Integer("events_days", &out->events_days, 0, 36'500));
  if (out->events_days == 1) {
    return Status::Error(path +
                         ".events_days: must be 0 (keep) or at least 2, so "
                         "provider retries still find their duplicates");
  }
  DLRD_TRY(r.Integer("rollup_days", &out->rollup_days, 1, 36'500));
  if (out->events_days > 0 && out->rollup_days < out->events_days) {
    // A verification still stored must find its hour's rollup row, or a
    // later status change would subtract from a row that is gone.
    return Status::Error(path + ".rollup_days: must be at least events_days");
  }
  // Unset: at least 400 days, and never shorter than the events.
  out->dedupe_days = std::max(out->dedupe_days, out->events_days);
  DLRD_TRY(r.Integer("dedupe_days", &out->dedupe_days, 1, 36'500));
  if (out->events_days > 0 && out->dedupe_days < out->events_days) {
    // A key must outlive its event, or a replay between the two ages would
    // be stored as new.
    return Status::Error(path + ".dedupe_days: must be at least events_days");
  }
  DLRD_TRY(r.Integer("batch_rows", &out->batch_rows, 1, 100'000));
  DLRD_TRY(r.Integer("interval_s", &out->interval_s, 1, 86'400));
  return r.NoUnknownKeys();
}

Status ReadQuarantine(const json& j, const std::string& path,
                      QuarantineConfig* out) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.Bool("enabled", &out->enabled));
  DLRD_TRY(r.Integer("max_rows", &out->max_rows, 1, 10'000'000));
  DLRD_TRY(r.Integer("max_bytes", &out->max_bytes, 1, int64_t{1} << 40));
  DLRD_TRY(r.Integer("ttl_hours", &out->ttl_hours, 1, 24 * 366));
  DLRD_TRY(r.Integer("max_queued", &out->max_queued, 1, 1'000));
  return r.NoUnknownKeys();
}

// An array of CIDR strings (or bare addresses); empty is allowed.
Status ReadCidrList(const json& j, const std::string& path, CidrSet* out) {
  if (!j.is_array()) {
    return Status::Error(path +
                         ": must be an array of CIDR ranges, e.g. "
                         "[\"10.0.0.0/8\", \"::1/128\"]");
  }
  for (size_t i = 0; i < j.size(); ++i) {
    std::string key = path + "[" + std::to_string(i) + "]";
    if (!j[i].is_string()) return Status::Error(key + ": must be a string");
    const std::string text = j[i].get<std::string>();
    auto cidr = Cidr::Parse(text);
    if (!cidr.ok()) {
      const std::string shown =
          text.size() > 64 ? text.substr(0, 64) + "..." : text;
      return Status::Error(key + ": invalid CIDR \"" + shown +
                           "\": " + cidr.status().message());
    }
    out->Add(std::move(cidr).value());
  }
  return Status::Ok();
}

Status ReadRateLimit(const json& j, const std::string& path,
                     RateLimitConfig* rl) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  const json* rate = r.Find("per_ip_per_s");
  if (!rate) return r.Missing("per_ip_per_s");
  constexpr double kMaxRate = 1'000'000;
  if (!rate->is_number() || !std::isfinite(rate->get<double>()) ||
      rate->get<double>() <= 0 || rate->get<double>() > kMaxRate) {
    return Status::Error(r.Key("per_ip_per_s") +
                         ": must be a number > 0 and <= 1000000 "
                         "(requests per second per client IP)");
  }
  rl->per_ip_per_s = rate->get<double>();
  if (!r.Find("burst")) return r.Missing("burst");
  DLRD_TRY(r.Integer("burst", &rl->burst, 1, 1'000'000));
  return r.NoUnknownKeys();
}

Status ReadSecrets(const json& j, const std::string& path, bool demo,
                   const SecretResolver& resolve,
                   std::vector<std::string>* out) {
  if (!j.is_array() || j.empty()) {
    return Status::Error(path +
                         ": must be a non-empty array of secret "
                         "references (env:NAME or file:PATH)");
  }
  for (size_t i = 0; i < j.size(); ++i) {
    std::string key = path + "[" + std::to_string(i) + "]";
    std::string value;
    DLRD_TRY(ReadSecretRef(j[i], key, demo, resolve, &value));
    out->push_back(std::move(value));
  }
  return Status::Ok();
}

Status ReadSignature(const json& j, const std::string& path, bool demo,
                     const SecretResolver& resolve, SignatureConfig* sig) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.String("scheme", &sig->scheme, /*required=*/true));
  DLRD_TRY(r.String("header", &sig->header));
  DLRD_TRY(r.String("algorithm", &sig->algorithm));
  DLRD_TRY(r.String("encoding", &sig->encoding));
  DLRD_TRY(r.String("prefix", &sig->prefix));
  DLRD_TRY(r.Integer("tolerance_s", &sig->tolerance_s, 0, 86'400));
  DLRD_TRY(r.String("public_url", &sig->public_url));
  DLRD_TRY(r.String("variant", &sig->variant));
  DLRD_TRY(r.String("application_key", &sig->application_key));
  const json* secrets = r.Find("secrets");
  if (!secrets) return r.Missing("secrets");
  DLRD_TRY(
      ReadSecrets(*secrets, r.Key("secrets"), demo, resolve, &sig->secrets));
  DLRD_TRY(r.NoUnknownKeys());
  // Build once to validate scheme, algorithm and every secret now, at
  // start-up, rather than on the first callback.
  auto verifier = MakeSignatureVerifier(*sig);
  if (!verifier.ok()) {
    return Status::Error(path + "." + verifier.status().message());
  }
  return Status::Ok();
}

Status ReadSource(const json& j, const std::string& path, bool demo,
                  const SecretResolver& resolve,
                  const std::map<std::string, ProviderConfig>& providers,
                  SourceConfig* src) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.String("format", &src->format, /*required=*/true));
  if (auto n = MakePayloadNormalizer(src->format); !n.ok()) {
    return Status::Error(path + "." + n.status().message());
  }
  const json* sig = r.Find("signature");
  if (!sig) return r.Missing("signature");
  DLRD_TRY(
      ReadSignature(*sig, r.Key("signature"), demo, resolve, &src->signature));
  if (const json* allow = r.Find("allow_ips")) {
    DLRD_TRY(ReadCidrList(*allow, r.Key("allow_ips"), &src->allow_ips));
  }
  if (r.Find("request_action")) {
    std::string& action = src->format_options.request_action;
    DLRD_TRY(r.String("request_action", &action, /*required=*/true));
    if (src->format != "sinch-verification") {
      return Status::Error(r.Key("request_action") +
                           ": only applies to format sinch-verification");
    }
    if (action != "allow" && action != "deny") {
      return Status::Error(r.Key("request_action") +
                           ": must be \"allow\" or \"deny\"");
    }
  }
  if (const json* f = r.Find("fallback")) {
    FallbackConfig fallback;
    DLRD_TRY(config_internal::ReadFallback(*f, r.Key("fallback"), providers,
                                           &fallback));
    src->fallback = std::move(fallback);
  }
  return r.NoUnknownKeys();
}

bool ValidSourceName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return Result<Endpoint>::Error("expected [v6-address]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Result<Endpoint>::Error("expected host:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc() || p != port.data() + port.size() ||
      value == 0 || value > 65535) {
    return Result<Endpoint>::Error("expected host:port with port 1-65535");
  }
  return Endpoint{std::string(host), static_cast<uint16_t>(value)};
}

bool IsPostgresUri(std::string_view s) {
  return StartsWithIgnoreCase(s, "postgresql://") ||
         StartsWithIgnoreCase(s, "postgres://");
}

// The URI must not carry the password: a config file is read by more
// people and tools than a secret store. Query parameters (sslmode,
// sslrootcert, connect_timeout, ...) pass through to libpq unchanged.
Status CheckPostgresUri(std::string_view uri) {
  const std::string_view rest = uri.substr(uri.find("://") + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos &&
      authority.substr(0, at).find(':') != std::string_view::npos) {
    return Status::Error(
        "the URI contains a password; remove it and set database_password "
        "to \"env:NAME\" or \"file:PATH\" (or use libpq's PGPASSFILE)");
  }
  const size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    std::string query(rest.substr(q + 1));
    for (char& ch : query) ch = static_cast<char>(std::tolower(ch));
    if (query.rfind("password=", 0) == 0 ||
        query.find("&password=") != std::string::npos) {
      return Status::Error(
          "the URI contains a password parameter; set database_password to "
          "\"env:NAME\" or \"file:PATH\" instead (or use libpq's "
          "PGPASSFILE)");
    }
  }
  return Status::Ok();
}

Result<Config> ParseConfig(std::string_view text,
                           const SecretResolver& resolve) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false,
                          /*ignore_comments=*/true);
  if (root.is_discarded()) {
    return Result<Config>::Error("config: not valid JSON (comments allowed)");
  }
  if (!root.is_object())
    return Result<Config>::Error("config: must be an object");

  Config c;
  ObjectReader r(root, "");
  auto run = [&]() -> Status {
    DLRD_TRY(r.Bool("demo", &c.demo));
    DLRD_TRY(ReadEndpoint(r, "listen", &c.listen));
    DLRD_TRY(ReadEndpoint(r, "admin_listen", &c.admin_listen));
    DLRD_TRY(r.String("database", &c.store.path));
    if (c.store.path.empty())
      return Status::Error("database: must not be empty");
    if (IsPostgresUri(c.store.path)) {
      c.store.backend = StoreBackend::kPostgres;
      if (Status s = CheckPostgresUri(c.store.path); !s.ok()) {
        return Status::Error("database: " + s.message());
      }
    }
    if (const json* pw = r.Find("database_password")) {
      if (c.store.backend != StoreBackend::kPostgres) {
        return Status::Error(
            "database_password: only used with a postgresql:// database");
      }
      DLRD_TRY(ReadSecretRef(*pw, "database_password", /*demo=*/false, resolve,
                             &c.store.password));
    }
    DLRD_TRY(r.Integer("io_threads", &c.io_threads, 1, 64));
    DLRD_TRY(r.Integer("shutdown_grace_ms", &c.shutdown_grace_ms, 0, 600'000));
    DLRD_TRY(r.String("log_level", &c.log_level));
    if (c.log_level != "debug" && c.log_level != "info" &&
        c.log_level != "warn" && c.log_level != "error") {
      return Status::Error(
          "log_level: must be one of debug, info, warn, error");
    }
    if (const json* l = r.Find("limits")) {
      DLRD_TRY(ReadLimits(*l, "limits", &c.limits));
    }
    if (const json* t = r.Find("trusted_proxies")) {
      DLRD_TRY(ReadCidrList(*t, "trusted_proxies", &c.trusted_proxies));
    }
    if (const json* rl = r.Find("rate_limit")) {
      RateLimitConfig limit;
      DLRD_TRY(ReadRateLimit(*rl, "rate_limit", &limit));
      c.rate_limit = limit;
    }
    if (const json* s = r.Find("store")) {
      DLRD_TRY(ReadStore(*s, "store", &c.store));
    }
    if (const json* t = r.Find("retention")) {
      DLRD_TRY(ReadRetention(*t, "retention", &c.retention));
    }
    if (const json* q = r.Find("quarantine")) {
      DLRD_TRY(ReadQuarantine(*q, "quarantine", &c.quarantine));
    }
    if (const json* t = r.Find("admin_token")) {
      DLRD_TRY(
          ReadSecretRef(*t, "admin_token", c.demo, resolve, &c.admin_token));
      if (c.admin_token.size() < 16) {
        return Status::Error("admin_token: must be at least 16 characters");
      }
    }
    if (const json* p = r.Find("providers")) {
      DLRD_TRY(
          config_internal::ReadProviders(*p, c.demo, resolve, &c.providers));
    }
    if (const json* o = r.Find("outbox")) {
      DLRD_TRY(config_internal::ReadOutbox(*o, &c.outbox));
    }
    const json* sources = r.Find("sources");
    if (!sources) return r.Missing("sources");
    if (!sources->is_object() || sources->empty()) {
      return Status::Error("sources: must be a non-empty object");
    }
    for (auto it = sources->begin(); it != sources->end(); ++it) {
      std::string path = "sources." + it.key();
      if (!ValidSourceName(it.key())) {
        return Status::Error(path +
                             ": source names use only a-z, 0-9, '-' and '_' "
                             "(1-64 chars); the name is the URL path segment");
      }
      SourceConfig src;
      src.name = it.key();
      DLRD_TRY(
          ReadSource(it.value(), path, c.demo, resolve, c.providers, &src));
      c.sources.emplace(src.name, std::move(src));
    }
    if (c.listen.host == c.admin_listen.host &&
        c.listen.port == c.admin_listen.port) {
      return Status::Error("admin_listen: must differ from listen");
    }
    return r.NoUnknownKeys();
  };
  if (Status s = run(); !s.ok()) return s;
  return c;
}

Result<std::string> FirstNonReloadableChange(std::string_view before,
                                             std::string_view after) {
  const auto strip = [](std::string_view text) -> Result<json> {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false,
                         /*ignore_comments=*/true);
    if (j.is_discarded() || !j.is_object()) {
      return Status::Error("config: not a JSON object");
    }
    j.erase("admin_token");
    j.erase("providers");
    if (auto s = j.find("sources"); s != j.end() && s->is_object()) {
      for (auto& [name, source] : s->items()) {
        if (!source.is_object()) continue;
        for (const char* k : {"signature", "format", "request_action"}) {
          source.erase(k);
        }
      }
    }
    return j;
  };
  Result<json> a = strip(before);
  if (!a.ok()) return a.status();
  Result<json> b = strip(after);
  if (!b.ok()) return b.status();
  if (a.value() == b.value()) return std::string();
  // Name the first differing key, one level into "sources".
  json keys = json::object();
  for (const json* j : {&a.value(), &b.value()}) {
    for (auto& [k, v] : j->items()) keys[k] = true;
  }
  for (auto& [k, unused] : keys.items()) {
    const json* x = a.value().contains(k) ? &a.value()[k] : nullptr;
    const json* y = b.value().contains(k) ? &b.value()[k] : nullptr;
    if (x && y && *x == *y) continue;
    if (k == "sources" && x && y && x->is_object() && y->is_object()) {
      for (auto& [name, v] : y->items()) {
        if (!x->contains(name)) return "sources." + name;
        if ((*x)[name] == v) continue;
        for (auto& [key, value] : v.items()) {
          if (!(*x)[name].contains(key) || (*x)[name][key] != value) {
            return "sources." + name + "." + key;
          }
        }
        return "sources." + name;
      }
      for (auto& [name, v] : x->items()) {
        if (!y->contains(name)) return "sources." + name;
      }
    }
    return std::string(k);
  }
  return std::string("config");
}

}  // namespace dlrd
