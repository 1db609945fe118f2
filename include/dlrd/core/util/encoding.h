// Byte encodings used by signature schemes: hex and base64.
//
// The base64 decoder accepts the standard alphabet with or without '='
// padding (Standard Webhooks secrets may arrive unpadded, docs/signatures.md §1
// rule 4) and rejects anything else: characters outside the alphabet,
// misplaced padding, or a dangling 6-bit group. It never "skips" bad input,
// so a malformed secret cannot silently decode to an empty key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dlrd {

std::string HexEncode(std::string_view bytes);  // lowercase
// Accepts upper or lower case; nullopt on odd length or a non-hex char.
std::optional<std::string> HexDecode(std::string_view hex);

std::string Base64Encode(std::string_view bytes);  // standard, padded
std::optional<std::string> Base64Decode(std::string_view text);

// True iff `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(std::string_view text);
// `text` with each ill-formed run (a bad byte and the continuation bytes
// after it) replaced by U+FFFD, so
// the result is well-formed UTF-8. Valid input comes back unchanged.
std::string ToValidUtf8(std::string_view text);

}  // namespace dlrd
