// Field readers shared by the payload formats: typed access to JSON members
// and form parameters, with errors that name the field and the problem.
//
// Contract:
// - Pure. Error messages are "<field>: <problem>" and never contain the
//   value, which may be a phone number.
// - `field` names are the path the error should show, e.g. "data.to" or
//   "[2].type"; callers build them with FieldPath.
// - A JSON member that is null counts as absent.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dlrd/core/util/form.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

Status FieldError(std::string_view field, std::string_view problem);

// "parent.key" ("key" when parent is empty).
std::string FieldPath(std::string_view parent, std::string_view key);
// "parent[i]".
std::string FieldPath(std::string_view parent, size_t index);

// Parses a JSON body of any type. Errors: "body: empty", "body: not valid
// JSON".
Result<nlohmann::json> ParseJsonBody(std::string_view body);
// Like ParseJsonBody, and the top level must be an object ("body: not a
// JSON object").
Result<nlohmann::json> ParseJsonObject(std::string_view body);

// The member `key` of `obj`, or nullptr when absent or null (or when `obj`
// is not an object).
const nlohmann::json* Member(const nlohmann::json& obj, std::string_view key);

// A string member. Required: "missing" / "must be a string" / "must not be
// empty". Optional: "" when absent; a wrong type is still an error.
Result<std::string> ReadString(const nlohmann::json& obj, std::string_view key,
                               std::string_view field, bool required);
// A string or integer member as text (ids and codes providers send either
// way). Same absence rules as ReadString.
Result<std::string> ReadStringOrInteger(const nlohmann::json& obj,
                                        std::string_view key,
                                        std::string_view field, bool required);

// The single value of form parameter `name`: nullopt when absent, an error
// ("repeated") when it occurs more than once.
Result<std::optional<std::string>> FormLookup(const FormParams& params,
                                              std::string_view name);
// Required: "missing" / "must not be empty". Optional: "" when absent.
Result<std::string> FormRead(const FormParams& params, std::string_view name,
                             bool required);

// Unix milliseconds of an RFC 3339 / ISO 8601 UTC timestamp such as
// "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123Z",
// "2024-05-01T10:00:00+02:00" or "2024-05-01 10:00:00" (taken as UTC).
// nullopt when it is not one of those forms.
std::optional<int64_t> ParseTimestampMs(std::string_view text);

// RFC 3339 UTC with milliseconds, "2024-05-01T10:00:00.000Z"; "" for
// ms <= 0 (not set).
std::string FormatTimestampMs(int64_t ms);

}  // namespace dlrd
