// Form and query-string parsing (application/x-www-form-urlencoded), for
// schemes and formats that sign or carry parameters (Twilio, Vonage sig).
// Pure; implemented with Boost.URL rather than by hand.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// Decodes "a=1&b=x+y%21" into (name, value) pairs in wire order: '+' is a
// space, %XX is decoded, a name without '=' has an empty value, empty
// segments ("a=1&&b=2") are skipped. nullopt on malformed percent-encoding.
std::optional<FormParams> ParseForm(std::string_view text);

// The parts of a request-target, undecoded: "/p?q" -> "/p" and "q".
std::string_view PathOf(std::string_view target);
std::string_view QueryOf(std::string_view target);  // "" when none

}  // namespace dlrd
