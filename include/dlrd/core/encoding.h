// Byte encodings used by signature schemes: hex and base64.
//
// The base64 decoder accepts the standard alphabet with or without '='
// padding (Standard Webhooks secrets may arrive unpadded, signatures.md §0
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

}  // namespace dlrd
