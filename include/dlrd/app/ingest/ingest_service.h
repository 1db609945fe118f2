// IngestService: verify -> normalize -> enqueue for durable commit.
//
// Accept() is the whole webhook pipeline behind the HTTP adapter:
//   unknown source            -> kUnknownSource
//   Content-Type not the format's -> kUnsupportedMediaType
//   signature check fails     -> kRejectedSignature (reason to metrics + log),
//                                or kUnsignedRetry for an unsigned request
//                                to a scheme whose sender retries 5xx
//   payload not the format    -> kRejectedMalformed
//   queue full / closed       -> kOverloaded
//   commit failed             -> kStoreFailed
//   committed                 -> kAccepted (a new event, or a body with no
//                                events), kDuplicate if every event was old
// The raw request is committed with credential headers its scheme does not
// read (Basic auth, cookies, ...) redacted: RedactHead(), core/redact.h.
// `done` runs exactly once: synchronously for a rejection, on the store
// writer thread after the commit otherwise. It must not block. Its reply is
// the body the format wants answered (Sinch's VerificationRequestEvent), set
// only with kAccepted or kDuplicate: a retried request gets the same answer.
//
// Quarantine (SetQuarantine): a request refused for its signature (not an
// unsigned one answered for a retry, not a kQuiet refusal) is also
// submitted, head redacted like the raw request, as a quarantine-only
// submission; at most max_queued of those wait in the queue at once, the
// rest are dropped and counted (dlrd_quarantine_dropped_total{reason=
// "queue"}), so a forgery flood can neither fill the ingest queue nor
// delay real callbacks by more than max_queued small writes per batch.
// The answer (401) never waits for the quarantine write.
//
// Metrics are counted here from outcomes (the pure core only returns them):
// requests by outcome, signature failures by reason, matches by secret
// index, and delivery events / latency only for events stored the first
// time, so provider retries do not inflate failure ratios.
//
// Thread-safe. The sources are immutable once built; ReplaceSources swaps
// the whole set (SIGHUP), and a request in progress keeps the set it
// started with.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dlrd/core/config/config.h"
#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/app/ingest/ingest_outcome.h"
#include "dlrd/app/ingest/ingest_queue.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/metrics.h"
#include "dlrd/core/normalize/payload_normalizer.h"
#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {

struct Source {
  std::string name;
  std::unique_ptr<SignatureVerifier> verifier;
  std::unique_ptr<PayloadNormalizer> normalizer;
  // verifier->HeadersRead(), taken once: the headers never redacted.
  std::vector<std::string> kept_headers;
  std::string_view provider() const { return normalizer->provider(); }
  // The request head as stored at rest: credentials no scheme reads
  // redacted (core/redact.h), so `dlrd verify` still works on it.
  std::string StoredHead(const InboundWebhook& hook) const;
};
using SourceMap = std::map<std::string, Source, std::less<>>;

// Builds verifiers and normalizers for every configured source.
Result<SourceMap> BuildSources(const Config& config);
// Label sets for Metrics, one per source.
std::vector<SourceLabels> MetricLabels(const SourceMap& sources);

// What a request that passed `src`'s signature check (`check`) becomes:
// its events (text made valid UTF-8), opt changes and raw request (head
// redacted, body byte-exact), received at `received_at_ms`, plus the reply
// the format wants answered. An error: the payload is malformed (the
// message names the field). IngestService::Accept and `dlrd quarantine
// replay` both build their submissions here, so a replayed request is
// stored exactly as it would have been on arrival.
struct PreparedSubmission {
  Submission submission;
  std::optional<WebhookReply> reply;
};
Result<PreparedSubmission> PrepareSubmission(const Source& src,
                                             InboundWebhook hook,
                                             const SignatureCheck& check,
                                             int64_t received_at_ms);

struct QuarantineOptions {
  bool enabled = false;   // false: refused requests are only counted
  size_t max_queued = 4;  // quarantine submissions queued at once
};

class IngestService {
 public:
  using Done =
      std::function<void(IngestOutcome, std::optional<WebhookReply> reply)>;

  // All references must outlive the service.
  IngestService(const SourceMap& sources, IngestQueue& queue, Metrics& metrics,
                Logger& logger);
  IngestService(std::shared_ptr<const SourceMap> sources, IngestQueue& queue,
                Metrics& metrics, Logger& logger);

  // Swaps in a rebuilt set (rotated secrets, changed settings). It must
  // name the same sources with the same providers, since metrics are
  // created per source at start; otherwise nothing changes and the error
  // says what differs.
  Status ReplaceSources(std::shared_ptr<const SourceMap> sources);
  // The check ReplaceSources makes, without replacing.
  Status CheckReplaceable(const SourceMap& next) const;

  // How Accept reports a request it refuses before verifying it as valid
  // (kUnknownSource, kUnsupportedMediaType, kRejectedSignature,
  // kUnsignedRetry).
  enum class Refusals {
    kReport,  // logged, counted in metrics, signature failures tallied
    // For a client whose refusal budget is spent (rate_limiter.h): the
    // caller answers the refusal 429 and counts it itself, so it is neither
    // logged nor counted nor tallied here. kUnsignedRetry, still answered
    // 503, keeps its metrics but is not logged. A valid request is handled
    // exactly as with kReport.
    kQuiet,
  };
  void Accept(InboundWebhook hook, int64_t now_ms, Done done,
              Refusals refusals = Refusals::kReport);

  // Call before the first Accept().
  void SetQuarantine(const QuarantineOptions& options) {
    quarantine_ = options;
  }

 private:
  std::shared_ptr<const SourceMap> Current() const;
  // Submits `hook` (refused for `reason`) to the quarantine, or counts why
  // not. Never blocks.
  void Quarantine(const Source& src, SourceMetrics& m, InboundWebhook& hook,
                  RejectReason reason, int64_t now_ms);

  // Signature failures are counted for analytics through the queue, with
  // at most one counts-only submission queued at a time: a flood of forged
  // callbacks costs the writer one small update per commit, never a queue
  // slot per request. Shared with that submission's completion.
  struct Tally;

  mutable std::mutex mu_;
  std::shared_ptr<const SourceMap> sources_;
  IngestQueue& queue_;
  Metrics& metrics_;
  Logger& log_;
  std::shared_ptr<Tally> tally_;
  QuarantineOptions quarantine_;
  // Quarantine submissions now in the queue; shared with their completions.
  std::shared_ptr<std::atomic<size_t>> quarantine_queued_ =
      std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace dlrd
