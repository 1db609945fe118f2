// Private to src/config: the fallback sections of the config.
//
//   "admin_token": "env:DLRD_ADMIN_TOKEN",
//   "providers": { "twilio": { "base_url": "https://verify.twilio.com",
//       "account_sid": "env:...", "auth_token": "env:...",
//       "service_sid": "env:...", "ca_file": "...",
//       "connect_timeout_ms": 3000, "request_timeout_ms": 10000 } },
//   "outbox": { "max_attempts": 5, ... },
//   "sources": { "x": { ..., "fallback": { "provider": "twilio",
//       "chain": ["sms", "whatsapp", "voice"],
//       "deadline_s": { "sms": 30, "whatsapp": 30, "voice": 60 },
//       "max_steps": 3, "max_per_recipient_per_hour": 3,
//       "max_per_minute": 600 } } }
//
// Provider credentials are secret references (env:/file:, literals only in
// demo mode) for the secret ones (auth_token, api_secret,
// application_secret); identifiers (account_sid, customer_id, ...) may also
// be written literally.
#pragma once

#include <map>
#include <string>

#include "core/config/object_reader.h"
#include "dlrd/core/config/config.h"

namespace dlrd::config_internal {

Status ReadProviders(const json& j, bool demo, const SecretResolver& resolve,
                     std::map<std::string, ProviderConfig>* out);
Status ReadOutbox(const json& j, OutboxConfig* out);
// `providers` must already be read: the fallback's provider must exist.
Status ReadFallback(const json& j, const std::string& path,
                    const std::map<std::string, ProviderConfig>& providers,
                    FallbackConfig* out);

}  // namespace dlrd::config_internal
