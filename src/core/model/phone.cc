#include "dlrd/core/model/phone.h"

#include <algorithm>
#include <string>

#include "core/model/phone_tables.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

std::string_view StripScheme(std::string_view s) {
  for (std::string_view p : {"whatsapp:", "tel:", "sms:"}) {
    if (StartsWithIgnoreCase(s, p)) return s.substr(p.size());
  }
  return s;
}

}  // namespace

std::optional<Recipient> NormalizeRecipient(std::string_view raw,
                                            bool assume_international) {
  std::string_view s = StripScheme(raw);
  s = TrimLeft(s, " ");
  bool international = assume_international;
  if (!s.empty() && s.front() == '+') {
    international = true;
    s.remove_prefix(1);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == '0') {
    international = true;
    s.remove_prefix(2);
  }
  if (!international) return std::nullopt;
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return std::nullopt;
    }
  }
  if (digits.size() < 8 || digits.size() > 15 || digits[0] == '0') {
    return std::nullopt;
  }
  Recipient r;
  r.e164 = "+" + digits;
  r.region = RegionOf(r.e164);
  return r;
}

std::string RegionOf(std::string_view e164) {
  if (e164.size() < 2 || e164[0] != '+') return "";
  std::string_view digits = e164.substr(1);
  if (digits[0] == '1') {
    if (digits.size() >= 4) {
      std::string_view area = digits.substr(1, 3);
      for (const auto& [code, region] : kNanpAreaCodes) {
        if (code == area) return std::string(region);
      }
    }
    return "US";
  }
  for (size_t len = 3; len >= 1; --len) {
    if (digits.size() < len) continue;
    std::string_view prefix = digits.substr(0, len);
    for (const auto& [code, region] : kCallingCodes) {
      if (code == prefix) return std::string(region);
    }
  }
  return "";
}

std::string CallingCodeOf(std::string_view e164) {
  if (e164.size() < 2 || e164[0] != '+') return "";
  std::string_view digits = e164.substr(1);
  if (digits[0] == '1') return "1";
  for (size_t len = 3; len >= 1; --len) {
    if (digits.size() < len) continue;
    std::string_view prefix = digits.substr(0, len);
    for (const auto& [code, region] : kCallingCodes) {
      if (code == prefix) return std::string(prefix);
    }
  }
  return "";
}

}  // namespace dlrd
