// IngestOutcome: what became of one webhook request. The HTTP adapter maps
// each outcome to exactly one status code; metrics count them by name.
#pragma once

#include <string_view>

namespace dlrd {

enum class IngestOutcome {
  kAccepted,              // 200: stored (a new event, or no events)
  kDuplicate,             // 200: every event was already stored
  kUnknownSource,         // 404
  kUnsupportedMediaType,  // 415
  kRejectedSignature,     // 401
  kUnsignedRetry,         // 503 + Retry-After: no signature, from a sender
                          // that retries 5xx (see unsigned_is_retryable)
  kRejectedMalformed,     // 400: verified, but the payload is not the format
  kOverloaded,            // 503 + Retry-After: queue full or shutting down
  kStoreFailed,           // 503 + Retry-After: the commit failed
};

inline constexpr IngestOutcome kAllOutcomes[] = {
    IngestOutcome::kAccepted,          IngestOutcome::kDuplicate,
    IngestOutcome::kUnknownSource,     IngestOutcome::kUnsupportedMediaType,
    IngestOutcome::kRejectedSignature, IngestOutcome::kUnsignedRetry,
    IngestOutcome::kRejectedMalformed, IngestOutcome::kOverloaded,
    IngestOutcome::kStoreFailed};

inline std::string_view ToString(IngestOutcome o) {
  switch (o) {
    case IngestOutcome::kAccepted:
      return "accepted";
    case IngestOutcome::kDuplicate:
      return "duplicate";
    case IngestOutcome::kUnknownSource:
      return "unknown_source";
    case IngestOutcome::kUnsupportedMediaType:
      return "unsupported_media_type";
    case IngestOutcome::kRejectedSignature:
      return "rejected_signature";
    case IngestOutcome::kUnsignedRetry:
      return "unsigned_retry";
    case IngestOutcome::kRejectedMalformed:
      return "rejected_malformed";
    case IngestOutcome::kOverloaded:
      return "overloaded";
    case IngestOutcome::kStoreFailed:
      return "store_failed";
  }
  return "error";
}

}  // namespace dlrd
