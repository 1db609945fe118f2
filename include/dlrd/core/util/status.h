// Status and Result<T>: errors as values.
//
// A Status is either ok or carries a code and a human-readable message.
// Result<T> holds either a T or a non-ok Status. Neither type throws;
// callers check ok() before reading value(). Both are plain values and safe
// to copy between threads. Both are [[nodiscard]]: dropping one silently is
// how a failed write goes unnoticed (docs/design.md §6.2); a call site that
// means to ignore one says so with (void) and a comment.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dlrd {

// The class of a failure. kError is every failure with no finer class;
// the others are the store's classes (a store adapter maps its errors onto
// them), used for metrics labels and for the fatal-error rule (IsFatal).
enum class StatusCode {
  kOk,
  kError,       // anything else ("other")
  kBusy,        // the database is locked
  kFull,        // disk or database full
  kIo,          // an I/O error (a failed fsync among them)
  kCorrupt,     // the file is corrupt or not a database
  kConstraint,  // a constraint refused the write
  kUnavailable,  // a networked store cannot be reached now (reconnecting)
  kSuperseded,   // the row moved on under a newer claim; the write is moot
};

// The label of a code in metrics (dlrd_store_errors_total{error=...}) and
// logs. kOk is "none" and kError "other": the names these classes had
// before they were status codes, kept so labels do not change.
inline std::string_view ToString(StatusCode c) {
  switch (c) {
    case StatusCode::kOk:
      return "none";
    case StatusCode::kError:
      return "other";
    case StatusCode::kBusy:
      return "busy";
    case StatusCode::kFull:
      return "full";
    case StatusCode::kIo:
      return "io";
    case StatusCode::kCorrupt:
      return "corrupt";
    case StatusCode::kConstraint:
      return "constraint";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kSuperseded:
      return "superseded";
  }
  return "other";
}

// True for failures after which the process must not accept more work: an
// I/O error (a failed fsync may have dropped dirty pages the kernel will
// never write again, so no later fsync can be trusted) and corruption.
// Disk full is not fatal: ENOSPC comes from write() or ftruncate(), before
// the kernel took the data, so nothing was lost behind SQLite's back. The
// batch is rolled back and answered 503, and ingest resumes by itself once
// space returns. kUnavailable (a lost PostgreSQL connection) is not fatal
// either: the batch is answered 503 and the adapter reconnects.
inline bool IsFatal(StatusCode c) {
  return c == StatusCode::kIo || c == StatusCode::kCorrupt;
}

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    return Error(StatusCode::kError, std::move(message));
  }
  // REQUIRES: code != kOk
  static Status Error(StatusCode code, std::string message) {
    Status s;
    s.message_ = std::move(message);
    s.code_ = code == StatusCode::kOk ? StatusCode::kError : code;
    return s;
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Empty iff ok().
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
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
