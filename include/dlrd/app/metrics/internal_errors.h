// InternalErrors: where the exception barriers report.
//
// dlrd's code returns errors as values; an exception is a bug or resource
// exhaustion (bad_alloc, a library's type_error). Each request and each
// thread's entry point runs inside a barrier that catches it, so one bad
// request cannot abort the process and take the public listener with it.
// The barrier reports here: one count in
// dlrd_internal_errors_total{where}, and one log line with `where` and the
// exception's type. The exception's message is not logged: library messages
// can quote input bytes, and input may hold phone numbers (promise 6).
//
// `where` values are a closed set (kInternalErrorSites); each series exists
// from the first scrape. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <exception>
#include <map>
#include <string>
#include <string_view>

#include "dlrd/app/log/logger.h"

namespace dlrd {

inline constexpr std::string_view kInternalErrorSites[] = {
    "public_handler",  // a request on the public listener
    "admin_handler",   // a request on the admin listener
    "admin_task",      // admin API work on the dispatcher or stats thread
    "io_thread",       // escaped a listener's I/O loop
    "ingest_writer",   // the store writer thread
    "dispatcher",      // the fallback dispatcher thread
    "https_client",    // the outbound HTTPS client's thread
    "retention",       // the retention thread
};

class InternalErrors {
 public:
  // `log` may be null (tests).
  InternalErrors(prometheus::Registry& registry, Logger* log);
  InternalErrors(const InternalErrors&) = delete;
  InternalErrors& operator=(const InternalErrors&) = delete;

  // Counts and logs one caught exception. `where` outside the closed set
  // counts as "io_thread". Never throws.
  void Report(std::string_view where, std::exception_ptr e) noexcept;
  // The same, for a failure caught elsewhere and passed on as a value;
  // `what` names it in the log line.
  void Report(std::string_view where, std::string_view what) noexcept;

  // Runs `fn`; an exception is reported and swallowed. True if `fn`
  // returned normally.
  template <typename Fn>
  bool Guard(std::string_view where, Fn&& fn) noexcept {
    try {
      fn();
      return true;
    } catch (...) {
      Report(where, std::current_exception());
      return false;
    }
  }

  double count(std::string_view where) const;

 private:
  Logger* log_;
  std::map<std::string, prometheus::Counter*, std::less<>> counters_;
};

// The exception's dynamic type, for logs ("std::out_of_range",
// "nlohmann::json_abi_v3_11_2::detail::type_error", "unknown").
std::string ExceptionType(std::exception_ptr e) noexcept;

}  // namespace dlrd
