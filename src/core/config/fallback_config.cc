#include "core/config/fallback_config.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dlrd::config_internal {
namespace {

struct ProviderKeys {
  const char* name;
  std::vector<const char*> required;  // credentials
  std::vector<const char*> optional = {};
};

// The credentials each provider's send API needs (outbound/send_adapter.h).
const ProviderKeys kProviders[] = {
    {"verifynow", {"auth_token", "customer_id"}},
    {"twilio", {"account_sid", "auth_token", "service_sid"}},
    // whatsapp_from: the WhatsApp Business number Vonage sends from.
    {"vonage", {"api_key", "api_secret", "brand"}, {"whatsapp_from"}},
    {"sinch", {"application_key", "application_secret"}},
};

bool IsSecretKey(std::string_view key) {
  return key == "auth_token" || key == "api_secret" ||
         key == "application_secret";
}

Status ReadProvider(const json& j, const std::string& path,
                    const ProviderKeys& keys, bool demo,
                    const SecretResolver& resolve, ProviderConfig* p) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.String("base_url", &p->base_url, /*required=*/true));
  if (p->base_url.rfind("https://", 0) != 0) {
    return Status::Error(r.Key("base_url") + ": must start with https://");
  }
  while (!p->base_url.empty() && p->base_url.back() == '/') {
    p->base_url.pop_back();
  }
  DLRD_TRY(r.String("ca_file", &p->ca_file));
  DLRD_TRY(r.Integer("connect_timeout_ms", &p->connect_timeout_ms, 1, 60000));
  DLRD_TRY(r.Integer("request_timeout_ms", &p->request_timeout_ms, 1, 120000));
  std::vector<std::pair<const char*, bool>> wanted;
  for (const char* key : keys.required) wanted.emplace_back(key, true);
  for (const char* key : keys.optional) wanted.emplace_back(key, false);
  for (const auto& [key, required] : wanted) {
    const json* v = r.Find(key);
    if (!v && !required) continue;
    if (!v) return r.Missing(key);
    std::string value;
    if (IsSecretKey(key)) {
      DLRD_TRY(ReadSecretRef(*v, r.Key(key), demo, resolve, &value));
    } else {
      if (!v->is_string())
        return Status::Error(r.Key(key) + ": must be a string");
      const std::string text = v->get<std::string>();
      if (text.rfind("env:", 0) == 0 || text.rfind("file:", 0) == 0) {
        DLRD_TRY(ReadSecretRef(*v, r.Key(key), demo, resolve, &value));
      } else {
        value = text;
      }
    }
    if (value.empty()) return Status::Error(r.Key(key) + ": must not be empty");
    p->credentials[key] = std::move(value);
  }
  DLRD_TRY(r.NoUnknownKeys());
  // Build the adapter now, so a bad provider fails at start-up.
  auto adapter = MakeSendAdapter(*p);
  if (!adapter.ok()) return adapter.status();
  return Status::Ok();
}

Result<Channel> ReadChannel(const json& v, const std::string& path) {
  if (!v.is_string()) return Status::Error(path + ": must be a string");
  const std::string text = v.get<std::string>();
  auto c = ParseChannel(text);
  if (!c || *c == Channel::kOther) {
    return Status::Error(path + ": \"" + text +
                         "\" is not one of sms, whatsapp, voice");
  }
  return *c;
}

}  // namespace

Status ReadProviders(const json& j, bool demo, const SecretResolver& resolve,
                     std::map<std::string, ProviderConfig>* out) {
  if (!j.is_object()) return Status::Error("providers: must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string path = "providers." + it.key();
    const ProviderKeys* keys = nullptr;
    for (const ProviderKeys& k : kProviders) {
      if (it.key() == k.name) keys = &k;
    }
    if (!keys) {
      return Status::Error(path +
                           ": unknown provider (verifynow, twilio, vonage, "
                           "sinch)");
    }
    ProviderConfig p;
    p.name = it.key();
    DLRD_TRY(ReadProvider(it.value(), path, *keys, demo, resolve, &p));
    out->emplace(p.name, std::move(p));
  }
  return Status::Ok();
}

Status ReadOutbox(const json& j, OutboxConfig* o) {
  if (!j.is_object()) return Status::Error("outbox: must be an object");
  ObjectReader r(j, "outbox");
  DLRD_TRY(r.Integer("max_attempts", &o->max_attempts, 1, 100));
  DLRD_TRY(r.Integer("backoff_base_ms", &o->backoff_base_ms, 1, 3'600'000));
  DLRD_TRY(r.Integer("backoff_cap_ms", &o->backoff_cap_ms, 1, 3'600'000));
  DLRD_TRY(r.Integer("retry_ceiling_ms", &o->retry_ceiling_ms, 1, 86'400'000));
  DLRD_TRY(r.Integer("breaker_failures", &o->breaker_failures, 1, 1000));
  DLRD_TRY(
      r.Integer("breaker_cooldown_ms", &o->breaker_cooldown_ms, 1, 3'600'000));
  DLRD_TRY(r.Integer("poll_ms", &o->poll_ms, 10, 60'000));
  DLRD_TRY(
      r.Integer("in_flight_lease_ms", &o->in_flight_lease_ms, 100, 86'400'000));
  return r.NoUnknownKeys();
}

Status ReadFallback(const json& j, const std::string& path,
                    const std::map<std::string, ProviderConfig>& providers,
                    FallbackConfig* f) {
  if (!j.is_object()) return Status::Error(path + ": must be an object");
  ObjectReader r(j, path);
  DLRD_TRY(r.String("provider", &f->provider, /*required=*/true));
  if (!providers.count(f->provider)) {
    return Status::Error(r.Key("provider") + ": \"" + f->provider +
                         "\" is not configured under providers");
  }
  if (const json* chain = r.Find("chain")) {
    if (!chain->is_array() || chain->empty()) {
      return Status::Error(r.Key("chain") +
                           ": must be a non-empty array of channels");
    }
    f->chain.clear();
    std::set<Channel> seen;
    for (size_t i = 0; i < chain->size(); ++i) {
      const std::string key = r.Key("chain") + "[" + std::to_string(i) + "]";
      Result<Channel> c = ReadChannel((*chain)[i], key);
      if (!c.ok()) return c.status();
      if (!seen.insert(c.value()).second) {
        return Status::Error(key + ": repeats a channel");
      }
      f->chain.push_back(c.value());
    }
  }
  if (const json* d = r.Find("deadline_s")) {
    if (!d->is_object()) {
      return Status::Error(r.Key("deadline_s") +
                           ": must be an object of channel: seconds");
    }
    ObjectReader dr(*d, r.Key("deadline_s"));
    for (Channel c : {Channel::kSms, Channel::kWhatsapp, Channel::kVoice}) {
      int64_t seconds = 0;
      const std::string name(ToString(c));
      if (!d->contains(name)) continue;
      DLRD_TRY(dr.Integer(name, &seconds, 1, 86'400));
      f->deadline_ms[c] = seconds * 1000;
    }
    DLRD_TRY(dr.NoUnknownKeys());
  }
  DLRD_TRY(r.Integer("max_steps", &f->max_steps, 1, 10));
  DLRD_TRY(r.Integer("max_per_recipient_per_hour",
                     &f->max_per_recipient_per_hour, 0, 1000));
  DLRD_TRY(r.Integer("max_per_minute", &f->max_per_minute, 0, 1'000'000));
  return r.NoUnknownKeys();
}

}  // namespace dlrd::config_internal
