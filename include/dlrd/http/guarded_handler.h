// GuardedHandler: the per-request exception barrier.
//
// Wraps another HttpHandler. If the inner handler throws before it has
// answered, the request gets a 500 with Connection: close, and the failure
// is reported to InternalErrors under `where`. The daemon keeps serving:
// one bad request never aborts the process.
//
// It also makes `respond` once-only: whatever the inner handler does, the
// session sees exactly one response (a late second call is dropped). Work
// that a handler moves to another thread (the stats pool, the dispatcher)
// must catch there and answer through RespondInternalError(); see
// GuardTask().
#pragma once

#include <string>

#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/http/http_types.h"

namespace dlrd {

// 500 "internal error", Connection: close.
HttpResponse InternalErrorResponse();

class GuardedHandler final : public HttpHandler {
 public:
  // `inner` and `errors` must outlive this handler; `errors` may be null.
  GuardedHandler(HttpHandler& inner, std::string where, InternalErrors* errors)
      : inner_(inner), where_(std::move(where)), errors_(errors) {}

  void Handle(HttpRequest request, Respond respond) override;

 private:
  HttpHandler& inner_;
  const std::string where_;
  InternalErrors* errors_;
};

// Runs `task` (work a handler moved to another thread); if it throws, the
// request is answered 500 and the failure reported under "admin_task".
// `respond` must not have been called yet by `task` when it throws, or the
// session's once-only wrapper drops the second answer.
template <typename Task>
void GuardTask(InternalErrors* errors, const HttpHandler::Respond& respond,
               Task&& task) {
  try {
    task();
  } catch (...) {
    if (errors) errors->Report("admin_task", std::current_exception());
    respond(InternalErrorResponse());
  }
}

}  // namespace dlrd
