#include "dlrd/core/outbound/send_adapter.h"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dlrd/core/util/encoding.h"
#include "core/outbound/send_util.h"
#include "core/providers/registry.h"

namespace dlrd {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerDay = 86400 * kMsPerSecond;
// RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31.
constexpr int64_t kMaxDeltaSeconds = int64_t{1} << 31;
constexpr size_t kMaxProviderRef = 128;

char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// --- HTTP-date (RFC 9110 §5.6.7) -------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The year of a day count (H. Hinnant's civil_from_days, year only).
int64_t YearOfDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// A left-to-right reader over the date text; every Read* consumes exactly
// what it matched or fails.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }
  bool Literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) return false;
    s_.remove_prefix(lit.size());
    return true;
  }
  // Exactly `n` digits.
  std::optional<int> Digits(size_t n) {
    if (s_.size() < n) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!IsDigit(s_[i])) return std::nullopt;
      v = v * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    return v;
  }
  // One of `names` (exact case, as RFC 9110 spells them); its index.
  template <size_t N>
  std::optional<int> Name(const std::string_view (&names)[N]) {
    for (size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) return static_cast<int>(i);
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
};

constexpr std::string_view kDayNames[] = {"Mon", "Tue", "Wed", "Thu",
                                          "Fri", "Sat", "Sun"};
constexpr std::string_view kLongDayNames[] = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"};
constexpr std::string_view kMonthNames[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};

struct DateTime {
  int64_t year = 0;
  int month = 0;  // 1-12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

bool ReadTimeOfDay(Cursor& c, DateTime& t) {
  auto h = c.Digits(2);
  if (!h || !c.Literal(":")) return false;
  auto m = c.Digits(2);
  if (!m || !c.Literal(":")) return false;
  auto s = c.Digits(2);
  if (!s) return false;
  t.hour = *h;
  t.minute = *m;
  t.second = *s;
  return true;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<DateTime> ParseImfFixdate(std::string_view s) {
  Cursor c(s);
  DateTime t;
  if (!c.Name(kDayNames) || !c.Literal(", ")) return std::nullopt;
  auto day = c.Digits(2);
  if (!day || !c.Literal(" ")) return std::nullopt;
  auto month = c.Name(kMonthNames);
  if (!month || !c.Literal(" ")) return std::nullopt;
  auto year = c.Digits(4);
  if (!year || !c.Literal(" ") || !ReadTimeOfDay(c, t)) return std::nullopt;
  if (!c.Literal(" GMT") || !c.done()) return std::nullopt;
  t.year = *year;
  t.month = *month + 1;
  t.day = *day;
  return t;
}

// Obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year that
// would be more than 50 years after `now_year` is taken from the previous
// century (RFC 9110 §5.6.7).
std::optional<DateTime> ParseRfc850(std::string_view s, int64_t now_year) {
  Cursor c(s);
  DateTime t;
  if (!c.Name(kLongDayNames) || !c.Literal(", ")) return std::nullopt;
  auto day = c.Digits(2);
  if (!day || !c.Literal("-")) return std::nullopt;
  auto month = c.Name(kMonthNames);
  if (!month || !c.Literal("-")) return std::nullopt;
  auto yy = c.Digits(2);
  if (!yy || !c.Literal(" ") || !ReadTimeOfDay(c, t)) return std::nullopt;
  if (!c.Literal(" GMT") || !c.done()) return std::nullopt;
  int64_t year = now_year - now_year % 100 + *yy;
  if (year > now_year + 50) year -= 100;
  t.year = year;
  t.month = *month + 1;
  t.day = *day;
  return t;
}

// Obsolete asctime: "Sun Nov  6 08:49:37 1994".
std::optional<DateTime> ParseAsctime(std::string_view s) {
  Cursor c(s);
  DateTime t;
  if (!c.Name(kDayNames) || !c.Literal(" ")) return std::nullopt;
  auto month = c.Name(kMonthNames);
  if (!month || !c.Literal(" ")) return std::nullopt;
  std::optional<int> day;
  if (c.Literal(" ")) {
    day = c.Digits(1);
  } else {
    day = c.Digits(2);
  }
  if (!day || !c.Literal(" ") || !ReadTimeOfDay(c, t) || !c.Literal(" ")) {
    return std::nullopt;
  }
  auto year = c.Digits(4);
  if (!year || !c.done()) return std::nullopt;
  t.year = *year;
  t.month = *month + 1;
  t.day = *day;
  return t;
}

std::optional<int64_t> HttpDateMs(std::string_view s, int64_t now_ms) {
  const int64_t now_day =
      now_ms >= 0 ? now_ms / kMsPerDay : (now_ms - kMsPerDay + 1) / kMsPerDay;
  std::optional<DateTime> t = ParseImfFixdate(s);
  if (!t) t = ParseRfc850(s, YearOfDays(now_day));
  if (!t) t = ParseAsctime(s);
  if (!t) return std::nullopt;
  if (t->day < 1 || t->day > DaysInMonth(t->year, t->month) || t->hour > 23 ||
      t->minute > 59 || t->second > 60) {
    return std::nullopt;
  }
  const int64_t days = DaysFromCivil(t->year, t->month, t->day);
  return days * kMsPerDay +
         ((t->hour * 60 + t->minute) * 60 + t->second) * kMsPerSecond;
}

bool HasControl(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Checks and normalizes what every provider shares: base_url (absolute
// https, a host, no user info, query or fragment; trailing '/' dropped) and
// the timeouts.
Result<ProviderConfig> CheckCommon(const ProviderConfig& config) {
  const std::string prefix = "providers." + config.name + ".";
  ProviderConfig out = config;
  std::string_view url = out.base_url;
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty())
    return Result<ProviderConfig>::Error(prefix + "base_url: missing");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Result<ProviderConfig>::Error(prefix +
                                         "base_url: not an absolute URL");
  }
  if (!EqualsNoCase(parsed->scheme(), "https")) {
    return Result<ProviderConfig>::Error(prefix + "base_url: must be https://");
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return Result<ProviderConfig>::Error(prefix + "base_url: no host");
  }
  if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment()) {
    return Result<ProviderConfig>::Error(
        prefix + "base_url: user info, query and fragment are not allowed");
  }
  out.base_url = std::string(url);
  if (out.connect_timeout_ms <= 0) {
    return Result<ProviderConfig>::Error(prefix +
                                         "connect_timeout_ms: must be > 0");
  }
  if (out.request_timeout_ms <= 0) {
    return Result<ProviderConfig>::Error(prefix +
                                         "request_timeout_ms: must be > 0");
  }
  return out;
}

}  // namespace

std::string_view ToString(SendErrorClass c) {
  // The error_class label values of docs/metrics.md §2.
  switch (c) {
    case SendErrorClass::kNone:
      return "none";
    case SendErrorClass::kInvalidNumber:
      return "invalid_number";
    case SendErrorClass::kFraud:
      return "fraud_detected";
    case SendErrorClass::kRateLimited:
      return "rate_limited";
    case SendErrorClass::kServer:
      return "server_error";
    case SendErrorClass::kTimeout:
      return "timeout";
    case SendErrorClass::kNetwork:
      return "connection";
    case SendErrorClass::kRejected:
      return "client_error";
  }
  return "client_error";
}

int64_t ParseRetryAfterMs(std::string_view value, int64_t now_ms) {
  std::string_view v = TrimOws(value);
  if (v.empty()) return -1;
  std::string_view digits = v;
  const bool negative = digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  bool all_digits = !digits.empty();
  for (char c : digits) all_digits = all_digits && IsDigit(c);
  if (all_digits) {
    if (negative) return 0;
    int64_t seconds = 0;
    for (char c : digits) {
      seconds = seconds * 10 + (c - '0');
      if (seconds >= kMaxDeltaSeconds) {
        seconds = kMaxDeltaSeconds;
        break;
      }
    }
    return seconds * kMsPerSecond;
  }
  std::optional<int64_t> at = HttpDateMs(v, now_ms);
  if (!at) return -1;
  return *at > now_ms ? *at - now_ms : 0;
}

Result<std::unique_ptr<SendAdapter>> MakeSendAdapter(
    const ProviderConfig& config) {
  using R = Result<std::unique_ptr<SendAdapter>>;
  if (config.name.empty()) return R::Error("providers: provider name missing");
  const SenderFactory* factory = nullptr;
  std::string known;
  for (const Provider* p : Providers()) {
    for (const SenderFactory& f : p->senders) {
      if (f.name == config.name) factory = &f;
      known += (known.empty() ? "" : ", ") + std::string(f.name);
    }
  }
  if (factory == nullptr) {
    return R::Error("providers." + config.name + ": unknown provider (" +
                    known + ")");
  }
  Result<ProviderConfig> checked = CheckCommon(config);
  if (!checked.ok()) return checked.status();
  return factory->make(checked.value());
}

namespace send_internal {

std::string CredentialError(std::string_view provider, std::string_view key,
                            std::string_view what) {
  std::string out = "providers.";
  out.append(provider).append(".credentials.").append(key).append(": ");
  out.append(what);
  return out;
}

Result<std::string> OptionalCredential(const ProviderConfig& config,
                                       std::string_view key) {
  auto it = config.credentials.find(key);
  if (it == config.credentials.end()) return std::string();
  if (HasControl(it->second)) {
    return Result<std::string>::Error(
        CredentialError(config.name, key, "contains control characters"));
  }
  return it->second;
}

Result<std::string> RequiredCredential(const ProviderConfig& config,
                                       std::string_view key) {
  Result<std::string> value = OptionalCredential(config, key);
  if (value.ok() && value.value().empty()) {
    return Result<std::string>::Error(
        CredentialError(config.name, key, "missing"));
  }
  return value;
}

std::string BasicAuth(std::string_view user, std::string_view password) {
  std::string pair(user);
  pair += ':';
  pair.append(password);
  return "Basic " + Base64Encode(pair);
}

std::string PercentEncode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

bool IsE164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') {
    return false;
  }
  for (char c : s.substr(1)) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

Status UnsupportedChannel(std::string_view provider, Channel channel) {
  std::string out(provider);
  out.append(": channel ").append(ToString(channel)).append(" not supported");
  return Status::Error(std::move(out));
}

Status BadRecipient(std::string_view provider) {
  std::string out(provider);
  out += ": recipient is not E.164 (+ and 8-15 digits)";
  return Status::Error(std::move(out));
}

std::optional<std::string_view> FindHeader(const HeaderList& headers,
                                           std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsNoCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<nlohmann::json> ParseObject(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string TextMember(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

std::optional<int64_t> IntMember(const nlohmann::json& object,
                                 std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return std::nullopt;
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (haystack.size() < needle.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsNoCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

SendErrorClass ClassByStatus(int status) {
  if (status == 429) return SendErrorClass::kRateLimited;
  if (status >= 500) return SendErrorClass::kServer;
  return SendErrorClass::kRejected;
}

SendOutcome Failure(SendErrorClass error, std::string_view provider,
                    const HttpReply& reply, std::string_view code,
                    std::string_view text, int64_t now_ms) {
  SendOutcome out;
  out.error = error;
  out.provider_code = std::string(code);
  out.detail = std::string(provider) + " " + std::to_string(reply.status);
  if (!code.empty()) out.detail.append(" ").append(code);
  out.detail.append(": ").append(text);
  if (error == SendErrorClass::kRateLimited ||
      error == SendErrorClass::kServer) {
    if (auto ra = FindHeader(reply.headers, "Retry-After")) {
      out.retry_after_ms = ParseRetryAfterMs(*ra, now_ms);
    }
  }
  return out;
}

SendOutcome Success(std::string_view provider, const HttpReply& reply,
                    std::string id) {
  SendOutcome out;
  out.detail = std::string(provider) + " " + std::to_string(reply.status);
  if (id.empty()) {
    out.error = SendErrorClass::kRejected;
    out.detail += ": no id in reply";
    return out;
  }
  // The id is stored and logged: refuse one that is not a short token.
  bool printable = id.size() <= kMaxProviderRef;
  for (char c : id) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    out.error = SendErrorClass::kRejected;
    out.detail += ": malformed id in reply";
    return out;
  }
  out.provider_ref = std::move(id);
  out.detail += ": accepted";
  return out;
}

}  // namespace send_internal
}  // namespace dlrd
