// Small string helpers shared by the core and the adapters: trimming and
// ASCII case-insensitive comparison. Pure, allocation-free: every function
// returns a view into its argument.
//
// Trimming comes in one family: TrimLeft/TrimRight/Trim strip any of the
// given characters; TrimOws strips HTTP optional whitespace (space and
// horizontal tab), which is what header values and list elements are
// trimmed of. Nothing here treats CR or LF as
// whitespace unless a caller asks for it by name.
#pragma once

#include <string_view>

namespace dlrd {

// HTTP optional whitespace: space and horizontal tab.
inline constexpr std::string_view kOws = " \t";

// `s` without leading characters found in `chars`.
std::string_view TrimLeft(std::string_view s, std::string_view chars);
// `s` without trailing characters found in `chars`.
std::string_view TrimRight(std::string_view s, std::string_view chars);
// `s` without leading and trailing characters found in `chars`.
std::string_view Trim(std::string_view s, std::string_view chars);
// `s` without leading and trailing spaces and tabs.
std::string_view TrimOws(std::string_view s);

// ASCII case-insensitive equality (bytes >= 0x80 compare exactly).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Whether `s` starts with `prefix`, ignoring ASCII case.
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
// Whether `needle` occurs in `haystack`, ignoring ASCII case (an empty
// needle always does).
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

}  // namespace dlrd
