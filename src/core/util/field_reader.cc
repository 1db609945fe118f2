#include "dlrd/core/util/field_reader.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "dlrd/core/util/time.h"

namespace dlrd {

using nlohmann::json;

Status FieldError(std::string_view field, std::string_view problem) {
  return Status::Error(std::string(field) + ": " + std::string(problem));
}

std::string FieldPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string FieldPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Result<json> ParseJsonBody(std::string_view body) {
  if (body.empty()) return Result<json>::Error("body: empty");
  json doc = json::parse(body.begin(), body.end(), /*cb=*/nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Result<json>::Error("body: not valid JSON");
  return doc;
}

Result<json> ParseJsonObject(std::string_view body) {
  Result<json> doc = ParseJsonBody(body);
  if (doc.ok() && !doc.value().is_object()) {
    return Result<json>::Error("body: not a JSON object");
  }
  return doc;
}

const json* Member(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> ReadString(const json& obj, std::string_view key,
                               std::string_view field, bool required) {
  const json* v = Member(obj, key);
  if (v == nullptr) {
    if (required) return FieldError(field, "missing");
    return std::string();
  }
  if (!v->is_string()) return FieldError(field, "must be a string");
  const std::string& s = v->get_ref<const std::string&>();
  if (required && s.empty()) return FieldError(field, "must not be empty");
  return s;
}

Result<std::string> ReadStringOrInteger(const json& obj, std::string_view key,
                                        std::string_view field, bool required) {
  const json* v = Member(obj, key);
  if (v == nullptr) {
    if (required) return FieldError(field, "missing");
    return std::string();
  }
  std::string s;
  if (v->is_string()) {
    s = v->get_ref<const std::string&>();
  } else if (v->is_number_unsigned()) {
    s = std::to_string(v->get<uint64_t>());
  } else if (v->is_number_integer()) {
    s = std::to_string(v->get<int64_t>());
  } else {
    return FieldError(field, "must be a string or integer");
  }
  if (required && s.empty()) return FieldError(field, "must not be empty");
  return s;
}

Result<std::optional<std::string>> FormLookup(const FormParams& params,
                                              std::string_view name) {
  std::optional<std::string> found;
  for (const auto& [key, value] : params) {
    if (key != name) continue;
    if (found) return FieldError(name, "repeated");
    found = value;
  }
  return found;
}

Result<std::string> FormRead(const FormParams& params, std::string_view name,
                             bool required) {
  Result<std::optional<std::string>> v = FormLookup(params, name);
  if (!v.ok()) return v.status();
  if (!v.value()) {
    if (required) return FieldError(name, "missing");
    return std::string();
  }
  if (required && v.value()->empty()) {
    return FieldError(name, "must not be empty");
  }
  return std::move(*v.value());
}

namespace {

// Reads exactly `n` digits at `*pos` into `*out`.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<int64_t> ParseTimestampMs(std::string_view s) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(s, &pos, 4, &year) || !Expect(s, &pos, '-') ||
      !Digits(s, &pos, 2, &month) || !Expect(s, &pos, '-') ||
      !Digits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  if (!Digits(s, &pos, 2, &hour) || !Expect(s, &pos, ':') ||
      !Digits(s, &pos, 2, &minute) || !Expect(s, &pos, ':') ||
      !Digits(s, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos == s.size()) {
    // No zone: taken as UTC.
  } else if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(s, &pos, 2, &oh)) return std::nullopt;
    Expect(s, &pos, ':');  // "+0200" and "+02:00" are both seen
    if (!Digits(s, &pos, 2, &om) || oh > 23 || om > 59) return std::nullopt;
    offset_min = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t secs =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + ms;
}

std::string FormatTimestampMs(int64_t ms) {
  if (ms <= 0) return "";
  const int64_t secs = ms / 1000;
  const int64_t rem = secs % 86400;
  const CivilDate date = CivilFromDays(secs / 86400);
  const int64_t y = date.year, m = date.month, d = date.day;
  char buf[96];
  std::snprintf(
      buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
      static_cast<long long>(y), static_cast<long long>(m),
      static_cast<long long>(d), static_cast<long long>(rem / 3600),
      static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60),
      static_cast<long long>(ms % 1000));
  return buf;
}

}  // namespace dlrd
