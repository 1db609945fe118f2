// Logger: one structured logfmt line per event of interest.
//
//   ts=2026-11-25T21:40:01.123Z level=warn event=signature_rejected
//   source=verifynow reason=mismatch
//
// Values are quoted when they contain spaces, '=' or '"'. Callers pass only
// bounded, non-sensitive values: source names, reasons, counts, error text
// produced by dlrd. Never secrets, phone numbers or raw bodies (promise 6).
// Thread-safe: each line is written with one fwrite under a mutex.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>

namespace dlrd {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename N,
            typename = std::enable_if_t<std::is_arithmetic_v<N>>>
  LogField(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

class Logger {
 public:
  Logger(std::FILE* out, LogLevel min_level) : out_(out), min_(min_level) {}
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, std::string_view event,
           std::initializer_list<LogField> fields);
  void Debug(std::string_view e, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kDebug, e, f);
  }
  void Info(std::string_view e, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kInfo, e, f);
  }
  void Warn(std::string_view e, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kWarn, e, f);
  }
  void Error(std::string_view e, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kError, e, f);
  }
  bool Enabled(LogLevel level) const { return level >= min_; }

 private:
  std::FILE* out_;
  LogLevel min_;
  std::mutex mu_;
};

// "debug" | "info" | "warn" | "error".
bool ParseLogLevel(std::string_view text, LogLevel* out);

}  // namespace dlrd
