#include "dlrd/app/metrics/internal_errors.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace dlrd {

InternalErrors::InternalErrors(prometheus::Registry& registry, Logger* log)
    : log_(log) {
  auto& family = prometheus::BuildCounter()
                     .Name("dlrd_internal_errors_total")
                     .Help(
                         "Unexpected failures (exceptions) caught by a "
                         "request or thread barrier, by where they were "
                         "caught. Any increase is a bug to report.")
                     .Register(registry);
  for (std::string_view where : kInternalErrorSites) {
    counters_.emplace(std::string(where),
                      &family.Add({{"where", std::string(where)}}));
  }
}

void InternalErrors::Report(std::string_view where,
                            std::exception_ptr e) noexcept {
  try {
    Report(where, std::string_view(ExceptionType(e)));
  } catch (...) {
  }
}

void InternalErrors::Report(std::string_view where,
                            std::string_view what) noexcept {
  try {
    auto it = counters_.find(where);
    if (it == counters_.end()) it = counters_.find("io_thread");
    it->second->Increment();
    if (log_) {
      log_->Error("internal_error",
                  {{"where", it->first}, {"exception", what}});
    }
  } catch (...) {
    // Out of memory while reporting: the count above is what survives.
  }
}

double InternalErrors::count(std::string_view where) const {
  auto it = counters_.find(where);
  return it == counters_.end() ? 0 : it->second->Value();
}

std::string ExceptionType(std::exception_ptr e) noexcept {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    const char* mangled = typeid(ex).name();
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(mangled);
  } catch (...) {
  }
  return "unknown";
}

}  // namespace dlrd
