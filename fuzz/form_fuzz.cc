// ParseForm, PathOf and QueryOf (include/dlrd/core/util/form.h).
//
// Input: the text itself. Invariants:
//   - PathOf(t) is a prefix of t, QueryOf(t) a suffix, and when t has a '?'
//     t == PathOf(t) + "?" + QueryOf(t);
//   - a parsed form, percent-encoded again pair by pair ("name=value"
//     joined by '&'), parses back to the same pairs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dlrd/core/util/form.h"
#include "fuzz_util.h"

namespace {

std::string Encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::string_view path = dlrd::PathOf(text);
  const std::string_view query = dlrd::QueryOf(text);
  DLRD_FUZZ_CHECK(text.substr(0, path.size()) == path, text);
  DLRD_FUZZ_CHECK(query.size() <= text.size() &&
                      text.substr(text.size() - query.size()) == query,
                  text);
  if (text.find('?') != std::string_view::npos) {
    DLRD_FUZZ_CHECK(std::string(path) + "?" + std::string(query) == text,
                    text);
  }

  std::optional<dlrd::FormParams> form = dlrd::ParseForm(text);
  if (!form) return 0;
  std::string again;
  for (const auto& [name, value] : *form) {
    if (!again.empty()) again += '&';
    again += Encode(name) + "=" + Encode(value);
  }
  std::optional<dlrd::FormParams> reparsed = dlrd::ParseForm(again);
  DLRD_FUZZ_CHECK(reparsed.has_value(), again);
  DLRD_FUZZ_CHECK(*reparsed == *form, again);
  return 0;
}
