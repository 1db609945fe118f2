#include "dlrd/app/ingest/ingest_service.h"

#include <map>
#include <tuple>

#include "dlrd/core/util/redact.h"
#include "dlrd/core/stats/stats.h"

namespace dlrd {

Result<SourceMap> BuildSources(const Config& config) {
  SourceMap out;
  for (const auto& [name, sc] : config.sources) {
    auto verifier = MakeSignatureVerifier(sc.signature);
    if (!verifier.ok()) {
      return Result<SourceMap>::Error("sources." + name + ".signature." +
                                      verifier.status().message());
    }
    auto normalizer = MakePayloadNormalizer(sc.format, sc.format_options);
    if (!normalizer.ok()) {
      return Result<SourceMap>::Error("sources." + name + "." +
                                      normalizer.status().message());
    }
    std::vector<std::string> kept = verifier.value()->HeadersRead();
    out.emplace(name, Source{name, std::move(verifier).value(),
                             std::move(normalizer).value(), std::move(kept)});
  }
  return out;
}

std::string Source::StoredHead(const InboundWebhook& hook) const {
  return RedactHead(hook.Head(), kept_headers);
}

Result<PreparedSubmission> PrepareSubmission(const Source& src,
                                             InboundWebhook hook,
                                             const SignatureCheck& check,
                                             int64_t received_at_ms) {
  NormalizeContext ctx{
      src.name, received_at_ms,
      src.verifier->event_id_is_stable() ? check.event_id : std::string()};
  auto normalized = src.normalizer->Normalize(hook, ctx);
  if (!normalized.ok()) return normalized.status();
  PreparedSubmission out;
  Submission& sub = out.submission;
  sub.events = std::move(normalized.value().events);
  for (DeliveryEvent& e : sub.events) {
    if (HasNulInDedupeKey(e)) {
      return Status::Error("an id in the payload contains a NUL byte");
    }
    MakeTextValidUtf8(e);
  }
  sub.opt_changes = std::move(normalized.value().opt_changes);
  sub.raw.source = src.name;
  sub.raw.head = src.StoredHead(hook);
  sub.raw.target = RedactTarget(hook.target);
  sub.raw.body = std::move(hook.body);
  sub.raw.received_at_ms = received_at_ms;
  out.reply = std::move(normalized.value().reply);
  return out;
}

std::vector<SourceLabels> MetricLabels(const SourceMap& sources) {
  std::vector<SourceLabels> out;
  for (const auto& [name, s] : sources) {
    out.push_back(SourceLabels{name, std::string(s.provider()),
                               s.verifier->Reasons(),
                               s.verifier->secret_count()});
  }
  return out;
}

struct IngestService::Tally {
  explicit Tally(IngestQueue& q) : queue(q) {}
  void Count(const std::string& source, std::string_view provider,
             int64_t now_ms) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++counts[{HourFloor(now_ms), source, std::string(provider)}];
      if (queued) return;
      queued = true;
    }
    Flush(shared_from_this_);
  }
  // Queues the counts gathered so far; the completion queues the next lot.
  static void Flush(const std::weak_ptr<Tally>& weak) {
    std::shared_ptr<Tally> t = weak.lock();
    if (!t) return;
    Submission sub;
    {
      std::lock_guard<std::mutex> lock(t->mu);
      if (t->counts.empty()) {
        t->queued = false;
        return;
      }
      for (const auto& [key, n] : t->counts) {
        const auto& [hour, source, provider] = key;
        sub.signature_failures.push_back({hour, source, provider, n});
      }
      t->counts.clear();
    }
    auto done = [weak](const Submission&, const CommitOutcome&) {
      Flush(weak);
    };
    if (t->queue.Submit(std::move(sub), std::move(done)) ==
        IngestQueue::SubmitResult::kQueued) {
      return;
    }
    // Full or closed: keep the counts for the next failure's flush.
    std::lock_guard<std::mutex> lock(t->mu);
    for (const SignatureFailureCount& c : sub.signature_failures) {
      t->counts[{c.hour_ms, c.source, c.provider}] += c.count;
    }
    t->queued = false;
  }

  IngestQueue& queue;
  std::weak_ptr<Tally> shared_from_this_;
  std::mutex mu;
  std::map<std::tuple<int64_t, std::string, std::string>, int64_t> counts;
  bool queued = false;
};

IngestService::IngestService(const SourceMap& sources, IngestQueue& queue,
                             Metrics& metrics, Logger& logger)
    : IngestService(std::shared_ptr<const SourceMap>(
                        std::shared_ptr<const SourceMap>(), &sources),
                    queue, metrics, logger) {}

IngestService::IngestService(std::shared_ptr<const SourceMap> sources,
                             IngestQueue& queue, Metrics& metrics,
                             Logger& logger)
    : sources_(std::move(sources)),
      queue_(queue),
      metrics_(metrics),
      log_(logger),
      tally_(std::make_shared<Tally>(queue)) {
  tally_->shared_from_this_ = tally_;
}

std::shared_ptr<const SourceMap> IngestService::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sources_;
}

Status IngestService::ReplaceSources(std::shared_ptr<const SourceMap> next) {
  if (Status s = CheckReplaceable(*next); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  sources_ = std::move(next);
  return Status::Ok();
}

Status IngestService::CheckReplaceable(const SourceMap& next) const {
  std::shared_ptr<const SourceMap> now = Current();
  for (const auto& [name, src] : next) {
    auto it = now->find(name);
    if (it == now->end()) {
      return Status::Error("sources." + name + ": added; restart to add it");
    }
    if (it->second.provider() != src.provider()) {
      return Status::Error("sources." + name +
                           ": format changed provider; restart to apply");
    }
  }
  for (const auto& [name, src] : *now) {
    if (next.find(name) == next.end()) {
      return Status::Error("sources." + name +
                           ": removed; restart to remove it");
    }
  }
  return Status::Ok();
}

void IngestService::Accept(InboundWebhook hook, int64_t now_ms, Done done,
                           Refusals refusals) {
  const bool quiet = refusals == Refusals::kQuiet;
  const std::shared_ptr<const SourceMap> sources = Current();
  auto it = sources->find(hook.source);
  if (it == sources->end()) {
    done(IngestOutcome::kUnknownSource, std::nullopt);
    return;
  }
  const Source& src = it->second;
  SourceMetrics& m = metrics_.source(src.name);
  auto finish = [&m, &done](IngestOutcome o) {
    m.requests[static_cast<size_t>(o)]->Increment();
    done(o, std::nullopt);
  };

  auto content_type = hook.Header("Content-Type");
  if (!content_type || !src.normalizer->AcceptsContentType(*content_type)) {
    if (quiet) return done(IngestOutcome::kUnsupportedMediaType, std::nullopt);
    finish(IngestOutcome::kUnsupportedMediaType);
    return;
  }

  SignatureCheck check = src.verifier->Verify(hook, now_ms / 1000);
  if (!check.valid) {
    const bool retry = check.reason == RejectReason::kMissingHeader &&
                       src.verifier->unsigned_is_retryable();
    if (quiet && !retry) {
      return done(IngestOutcome::kRejectedSignature, std::nullopt);
    }
    if (auto* c = m.signature_failures[static_cast<size_t>(check.reason)]) {
      c->Increment();
    }
    if (!quiet) {
      log_.Warn("signature_rejected", {{"source", src.name},
                                       {"reason", ToString(check.reason)},
                                       {"client", hook.client_ip}});
    }
    if (!retry) {
      tally_->Count(src.name, src.provider(), now_ms);
      Quarantine(src, m, hook, check.reason, now_ms);
    }
    finish(retry ? IngestOutcome::kUnsignedRetry
                 : IngestOutcome::kRejectedSignature);
    return;
  }
  if (check.secret_index >= 0 &&
      static_cast<size_t>(check.secret_index) < m.secret_matches.size()) {
    m.secret_matches[check.secret_index]->Increment();
  }

  auto prepared = PrepareSubmission(src, std::move(hook), check, now_ms);
  if (!prepared.ok()) {
    log_.Warn("payload_rejected",
              {{"source", src.name}, {"error", prepared.status().message()}});
    finish(IngestOutcome::kRejectedMalformed);
    return;
  }
  Submission sub = std::move(prepared.value().submission);
  std::optional<WebhookReply> reply = std::move(prepared.value().reply);

  Metrics* metrics = &metrics_;
  SourceMetrics* sm = &m;
  IngestQueue::Completion on_commit =
      [metrics, sm, done, reply](const Submission& s, const CommitOutcome& c) {
        IngestOutcome o = IngestOutcome::kStoreFailed;
        if (c.committed) {
          bool any_new = false;
          for (size_t i = 0; i < c.inserted.size(); ++i) {
            if (!c.inserted[i]) continue;
            any_new = true;
            const DeliveryEvent& e = s.events[i];
            if (auto* ctr =
                    metrics->delivery_event(e.provider, e.channel, e.status)) {
              ctr->Increment();
            }
            if (e.latency_ms) {
              metrics->delivery_latency(e.channel).Observe(
                  static_cast<double>(*e.latency_ms) / 1000.0);
            }
          }
          // No events at all (an empty batch, a skipped event type) is
          // accepted: the raw request was stored.
          o = any_new || s.events.empty() ? IngestOutcome::kAccepted
                                          : IngestOutcome::kDuplicate;
        }
        sm->requests[static_cast<size_t>(o)]->Increment();
        done(o, c.committed ? reply : std::nullopt);
      };
  auto result = queue_.Submit(std::move(sub), std::move(on_commit));
  if (result == IngestQueue::SubmitResult::kQueued) return;
  const bool full = result == IngestQueue::SubmitResult::kFull;
  metrics_.events_dropped(full ? "queue_full" : "shutdown").Increment();
  log_.Warn("ingest_overloaded",
            {{"source", src.name}, {"reason", full ? "queue_full" : "closed"}});
  finish(IngestOutcome::kOverloaded);
}

void IngestService::Quarantine(const Source& src, SourceMetrics& m,
                               InboundWebhook& hook, RejectReason reason,
                               int64_t now_ms) {
  if (!quarantine_.enabled) {
    metrics_.quarantine_dropped("disabled").Increment();
    return;
  }
  // Reserve a slot first: concurrent refusals never exceed max_queued.
  if (quarantine_queued_->fetch_add(1) >= quarantine_.max_queued) {
    quarantine_queued_->fetch_sub(1);
    metrics_.quarantine_dropped("queue").Increment();
    return;
  }
  Submission sub;
  QuarantinedRequest q;
  q.source = src.name;
  q.reason = std::string(ToString(reason));
  q.head = src.StoredHead(hook);
  q.body = std::move(hook.body);
  q.received_at_ms = now_ms;
  sub.quarantine.push_back(std::move(q));
  Metrics* metrics = &metrics_;
  prometheus::Counter* stored = m.quarantine_stored;
  auto done = [metrics, stored, queued = quarantine_queued_](
                  const Submission&, const CommitOutcome& c) {
    queued->fetch_sub(1);
    // A failed commit is counted as the store's failure elsewhere
    // (dlrd_store_errors_total); here only what the quarantine decided.
    if (!c.committed) return;
    if (!c.quarantined.empty() && c.quarantined.front()) {
      if (stored) stored->Increment();
    } else {
      metrics->quarantine_dropped("full").Increment();
    }
  };
  if (queue_.Submit(std::move(sub), std::move(done)) !=
      IngestQueue::SubmitResult::kQueued) {
    quarantine_queued_->fetch_sub(1);
    metrics_.quarantine_dropped("queue").Increment();
  }
}

}  // namespace dlrd
