// VerificationApi: the admin API of the fallback engine, on the admin
// listener, authorised by `Authorization: Bearer <admin_token>`.
//
//   POST /v1/verifications  {verification_id, source, recipient, channel,
//                            sent_at?}  registers the app's own send and
//                            starts its deadline clock.
//        201 created | 200 already registered (same recipient)
//        400 a field is missing or malformed (the message names it)
//        409 the id is registered with another recipient
//        422 the source is unknown or has no fallback
//   GET  /v1/verifications/{id}  the chain: steps, jobs, decisions, events
//        and the outcome; {id} is the root id or any step's provider id.
//        200 | 404
// 401 (with WWW-Authenticate) without the right token; constant-time
// comparison. Timestamps are RFC 3339 (UTC, milliseconds).
// The store is only touched on the dispatcher thread (Dispatcher::Post).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "dlrd/core/util/shared_string.h"
#include "dlrd/app/dispatch/dispatcher.h"
#include "dlrd/app/metrics/fallback_metrics.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/ports/outbox_store.h"
#include "dlrd/http/http_types.h"

namespace dlrd {

class VerificationApi final : public HttpHandler {
 public:
  // `providers`: the provider of each source with fallback, by source.
  VerificationApi(std::shared_ptr<const SharedString> token,
                  Dispatcher& dispatcher, OutboxStore& store,
                  std::map<std::string, std::string> providers,
                  const Clock& clock, FallbackMetrics* metrics = nullptr)
      : token_(std::move(token)),
        dispatcher_(dispatcher),
        store_(store),
        providers_(std::move(providers)),
        clock_(clock),
        metrics_(metrics) {}

  void Handle(HttpRequest request, Respond respond) override;
  // Where work on the dispatcher thread reports an exception (it is then
  // answered 500). May stay null (tests).
  void SetInternalErrors(InternalErrors* errors) { errors_ = errors; }

 private:
  void Register(const HttpRequest& request, Respond respond);
  void Get(std::string id, Respond respond);
  void FinishRegister(const Registration& reg, int64_t now,
                      const Respond& respond);

  std::shared_ptr<const SharedString> token_;
  Dispatcher& dispatcher_;
  OutboxStore& store_;
  std::map<std::string, std::string> providers_;
  const Clock& clock_;
  FallbackMetrics* metrics_;  // may be null (tests)
  InternalErrors* errors_ = nullptr;
};

}  // namespace dlrd
