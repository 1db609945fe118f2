// Helpers shared by the libFuzzer targets (fuzz/README.md).
//
// Most targets read their input as a small HTTP-like text, so that seed
// files are readable requests and replies:
//
//   <first line>\n
//   Name: value\n        (zero or more header lines)
//   \n
//   <body: every remaining byte, untouched>
//
// Line ends may be "\n" or "\r\n". A header line without ':' is kept as a
// name with an empty value. Nothing here rejects an input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::fuzz {

struct TextMessage {
  std::string first_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

inline TextMessage ParseTextMessage(std::string_view in) {
  TextMessage m;
  bool first = true;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) {
      // No blank line: the rest is still a header (or the first line).
      nl = in.size();
    }
    std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl < in.size() ? nl + 1 : nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      m.first_line = std::string(line);
      first = false;
      continue;
    }
    if (line.empty()) {
      m.body = std::string(in);
      break;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      m.headers.emplace_back(std::string(line), "");
    } else {
      m.headers.emplace_back(std::string(line.substr(0, colon)),
                             std::string(Trim(line.substr(colon + 1))));
    }
  }
  return m;
}

// Splits "METHOD TARGET ..." into its first two words.
inline std::pair<std::string, std::string> MethodAndTarget(
    std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return {std::string(line), ""};
  std::string_view rest = line.substr(sp + 1);
  size_t sp2 = rest.find(' ');
  return {std::string(line.substr(0, sp)),
          std::string(rest.substr(0, sp2))};
}

// A broken invariant: print it and abort, so libFuzzer saves the input.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s %.*s\n", what,
               static_cast<int>(detail.size() > 400 ? 400 : detail.size()),
               detail.data());
  std::abort();
}

#define DLRD_FUZZ_CHECK(cond, detail) \
  do {                                \
    if (!(cond)) ::dlrd::fuzz::Fail(#cond, (detail)); \
  } while (0)

}  // namespace dlrd::fuzz
