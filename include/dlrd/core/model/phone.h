// Recipient numbers: E.164 normalization and the country of a number.
//
// The country comes from the ITU calling code (longest prefix of 1-3
// digits), with +1 split by NANP area code. The tables are data files in
// data/ (calling_codes.csv, nanp_area_codes.csv, generated from
// libphonenumber metadata by tools/gen_phone_tables.py; the source is named
// in each file) compiled in at build time. Debian's libphonenumber cannot be
// installed beside Boost 1.81, hence no library here. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dlrd {

struct Recipient {
  std::string e164;    // "+" and 8-15 digits
  std::string region;  // ISO 3166 alpha-2, "" when the code is unassigned
};

// Accepts "+44 7700 900123", "0044...", "tel:+1...", "whatsapp:+1...",
// with spaces, dots, dashes and parentheses. A number without "+"/"00" is
// taken as international digits when `assume_international` (providers
// such as Vonage send "447700900123"), otherwise rejected. nullopt when the
// result is not 8-15 digits, or starts with 0.
std::optional<Recipient> NormalizeRecipient(std::string_view raw,
                                            bool assume_international = false);

// Region of an E.164 number ("+..."); "" when unknown.
std::string RegionOf(std::string_view e164);

// ITU calling code of an E.164 number, as digits: the longest 1-3 digit
// prefix that is an assigned code ("+447700900123" -> "44", any "+1..." ->
// "1"); "" when none is. The rest of the digits is the national number.
std::string CallingCodeOf(std::string_view e164);

}  // namespace dlrd
