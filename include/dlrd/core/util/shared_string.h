// SharedString: a string that one thread may replace while others read it
// (a secret rotated on SIGHUP). Readers get a copy, so a value is never
// torn. Thread-safe.
#pragma once

#include <mutex>
#include <string>

namespace dlrd {

class SharedString {
 public:
  explicit SharedString(std::string value = {}) : value_(std::move(value)) {}
  std::string Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }
  void Set(std::string value) {
    std::lock_guard<std::mutex> lock(mu_);
    value_ = std::move(value);
  }

 private:
  mutable std::mutex mu_;
  std::string value_;
};

}  // namespace dlrd
