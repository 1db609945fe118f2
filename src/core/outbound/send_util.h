// Helpers shared by the provider send adapters (src/core/providers/*/*_send.cc).
// Internal to dlrd_core; implemented in send_adapter.cc. Pure: no I/O.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dlrd/core/util/status.h"
#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd::send_internal {

// "providers.<name>.credentials.<key>: <what>".
std::string CredentialError(std::string_view provider, std::string_view key,
                            std::string_view what);

// A credential that must be present, non-empty and free of control
// characters (it ends up in a header or a URL).
Result<std::string> RequiredCredential(const ProviderConfig& config,
                                       std::string_view key);
// The same for an optional one: "" when absent.
Result<std::string> OptionalCredential(const ProviderConfig& config,
                                       std::string_view key);

// "Basic base64(user:password)".
std::string BasicAuth(std::string_view user, std::string_view password);

// Percent-encodes everything but RFC 3986 unreserved characters, for query
// strings and application/x-www-form-urlencoded bodies alike.
std::string PercentEncode(std::string_view s);

// True iff `s` is "+" then 8-15 digits, the first not 0.
bool IsE164(std::string_view s);

// "<provider>: channel <channel> not supported".
Status UnsupportedChannel(std::string_view provider, Channel channel);
// The error Build() returns for a recipient that is not E.164; it names
// the field, never the value.
Status BadRecipient(std::string_view provider);

// The value of the first header named `name` (case-insensitive).
std::optional<std::string_view> FindHeader(const HeaderList& headers,
                                           std::string_view name);

// The reply body as a JSON object; nullopt when it is not one.
std::optional<nlohmann::json> ParseObject(std::string_view body);
// A member that is a non-empty string, or an integer written as text
// (providers send ids and codes either way); "" otherwise.
std::string TextMember(const nlohmann::json& object, std::string_view key);
// The same for an integer member, or an integer written as a string.
std::optional<int64_t> IntMember(const nlohmann::json& object,
                                 std::string_view key);

// The outcome of an error reply: `error`, a detail "<provider> <status>
// [<code>]: <text>", the code, and Retry-After (resolved against now_ms)
// for kRateLimited and kServer.
SendOutcome Failure(SendErrorClass error, std::string_view provider,
                    const HttpReply& reply, std::string_view code,
                    std::string_view text, int64_t now_ms);
// The outcome of a 2xx reply: accepted with `id`, or kRejected with
// "no id in reply" when `id` is empty.
SendOutcome Success(std::string_view provider, const HttpReply& reply,
                    std::string id);
// The class a reply gets from its status alone: 429 -> kRateLimited,
// 5xx -> kServer, anything else -> kRejected.
SendErrorClass ClassByStatus(int status);

}  // namespace dlrd::send_internal
