// Status and Result<T>: errors as values.
//
// A Status is either ok or carries a human-readable message. Result<T> holds
// either a T or a non-ok Status. Neither type throws; callers check ok()
// before reading value(). Both are plain values and safe to copy between
// threads.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace dlrd {

class Status {
 public:
  Status() = default;  // ok
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    s.ok_ = false;
    return s;
  }

  bool ok() const { return ok_; }
  // Empty iff ok().
  const std::string& message() const { return message_; }

 private:
  bool ok_ = true;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : status_(std::move(error)) {}  // NOLINT
  static Result Error(std::string message) {
    return Result(Status::Error(std::move(message)));
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace dlrd
