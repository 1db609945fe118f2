// Private to src/config: the strict JSON object reader shared by the config
// sections, and secret-reference resolution. Every error starts with the key
// path; keys never read are reported by NoUnknownKeys(), so a typo such as
// "secrests" fails start-up instead of being silently ignored.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "dlrd/core/config/config.h"
#include "dlrd/core/util/status.h"

namespace dlrd::config_internal {

using nlohmann::json;

// Reads typed keys of one JSON object, remembering which were consumed.
class ObjectReader {
 public:
  ObjectReader(const json& obj, std::string path)
      : obj_(obj), path_(std::move(path)) {}

  std::string Key(std::string_view k) const {
    return path_.empty() ? std::string(k) : path_ + "." + std::string(k);
  }

  const json* Find(std::string_view k) {
    seen_.insert(std::string(k));
    auto it = obj_.find(std::string(k));
    return it == obj_.end() ? nullptr : &*it;
  }

  Status String(std::string_view k, std::string* out, bool required = false) {
    const json* v = Find(k);
    if (!v) return required ? Missing(k) : Status::Ok();
    if (!v->is_string()) return Status::Error(Key(k) + ": must be a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }

  Status Bool(std::string_view k, bool* out) {
    const json* v = Find(k);
    if (!v) return Status::Ok();
    if (!v->is_boolean())
      return Status::Error(Key(k) + ": must be true or false");
    *out = v->get<bool>();
    return Status::Ok();
  }

  template <typename Int>
  Status Integer(std::string_view k, Int* out, int64_t min, int64_t max) {
    const json* v = Find(k);
    if (!v) return Status::Ok();
    if (!v->is_number_integer()) {
      return Status::Error(Key(k) + ": must be an integer");
    }
    const bool too_big = v->is_number_unsigned() &&
                         v->get<uint64_t>() > static_cast<uint64_t>(max);
    const int64_t n = too_big ? max : v->get<int64_t>();
    if (too_big || n < min || n > max) {
      return Status::Error(Key(k) + ": must be between " + std::to_string(min) +
                           " and " + std::to_string(max));
    }
    *out = static_cast<Int>(n);
    return Status::Ok();
  }

  Status Missing(std::string_view k) const {
    return Status::Error(Key(k) + ": required");
  }

  // Call after all reads: any key not asked for is an error.
  Status NoUnknownKeys() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (!seen_.count(it.key())) {
        return Status::Error(Key(it.key()) + ": unknown key");
      }
    }
    return Status::Ok();
  }

 private:
  const json& obj_;
  std::string path_;
  std::set<std::string> seen_;
};

#define DLRD_TRY(expr)                  \
  do {                                  \
    if (Status _s = (expr); !_s.ok()) { \
      return _s;                        \
    }                                   \
  } while (0)

// One secret reference at `path`: "env:NAME" or "file:PATH" resolved through
// `resolve`; a literal only when `demo`. The value must not be empty.
inline Status ReadSecretRef(const json& j, const std::string& path, bool demo,
                            const SecretResolver& resolve, std::string* out) {
  if (!j.is_string()) return Status::Error(path + ": must be a string");
  std::string ref = j.get<std::string>();
  if (ref.rfind("env:", 0) == 0 || ref.rfind("file:", 0) == 0) {
    auto value = resolve(ref);
    if (!value.ok())
      return Status::Error(path + ": " + value.status().message());
    *out = std::move(value).value();
  } else if (demo) {
    *out = std::move(ref);
  } else {
    return Status::Error(path +
                         ": literal secrets are refused; use env:NAME or "
                         "file:PATH (or mark the config \"demo\": true)");
  }
  return Status::Ok();
}

}  // namespace dlrd::config_internal
