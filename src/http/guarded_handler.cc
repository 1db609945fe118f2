#include "dlrd/http/guarded_handler.h"

#include <atomic>
#include <exception>
#include <memory>

namespace dlrd {

HttpResponse InternalErrorResponse() {
  HttpResponse r;
  r.status = 500;
  r.content_type = "application/json";
  r.body = "{\"error\":\"internal error\"}\n";
  r.close = true;
  r.handler = "other";
  return r;
}

void GuardedHandler::Handle(HttpRequest request, Respond respond) {
  struct Once {
    Respond respond;
    std::atomic<bool> done{false};
    void operator()(HttpResponse r) {
      if (!done.exchange(true)) respond(std::move(r));
    }
  };
  auto once = std::make_shared<Once>();
  once->respond = std::move(respond);
  try {
    inner_.Handle(std::move(request),
                  [once](HttpResponse r) { (*once)(std::move(r)); });
  } catch (...) {
    if (errors_) errors_->Report(where_, std::current_exception());
    (*once)(InternalErrorResponse());
  }
}

}  // namespace dlrd
