// StatsApi: delivery analytics on the admin listener, authorised like the
// verification API (`Authorization: Bearer <admin_token>`).
//
//   GET /v1/stats?from=&to=&since=&by=&series=hourly
//       from, to  RFC 3339; to defaults to now, from to `since` before it
//       since     90m, 24h (default), 7d
//       by        source,provider,channel,country (any subset, in order)
//       series    "hourly" adds one row per hour and group
//   200 the report (dlrd/core/stats/stats.h ToJsonText) | 400 naming the bad
//   parameter | 401 | 405 | 503 when the database cannot be read.
// Queries run on a thread of their own, one at a time, never on an I/O
// thread.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>

#include "dlrd/core/ports/clock.h"
#include "dlrd/core/util/shared_string.h"
#include "dlrd/app/metrics/internal_errors.h"
#include "dlrd/core/stats/stats.h"
#include "dlrd/http/http_types.h"

namespace dlrd {

class StatsApi final : public HttpHandler {
 public:
  StatsApi(std::shared_ptr<const SharedString> token,
           std::unique_ptr<StatsSource> source, const Clock& clock)
      : token_(std::move(token)), source_(std::move(source)), clock_(clock) {}
  ~StatsApi() override { pool_.join(); }
  void Handle(HttpRequest request, Respond respond) override;
  // Where a query that throws on the pool reports (it is then answered
  // 500). May stay null (tests).
  void SetInternalErrors(InternalErrors* errors) { errors_ = errors; }

 private:
  std::shared_ptr<const SharedString> token_;
  std::unique_ptr<StatsSource> source_;  // used on pool_ only
  const Clock& clock_;
  InternalErrors* errors_ = nullptr;
  boost::asio::thread_pool pool_{1};
};

}  // namespace dlrd
