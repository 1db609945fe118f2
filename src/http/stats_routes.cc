#include "dlrd/http/stats_routes.h"

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>

#include "dlrd/core/util/field_reader.h"
#include "http/api_util.h"
#include "dlrd/http/guarded_handler.h"

namespace dlrd {
namespace {

constexpr int64_t kDefaultWindowMs = 24 * kHourMs;

struct Params {
  std::string from, to, since, by, series;
};

Result<Params> ReadParams(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return Status::Error("target: not a valid request target");
  Params p;
  for (auto param : url->params()) {
    std::string* slot = nullptr;
    if (param.key == "from") slot = &p.from;
    if (param.key == "to") slot = &p.to;
    if (param.key == "since") slot = &p.since;
    if (param.key == "by") slot = &p.by;
    if (param.key == "series") slot = &p.series;
    if (slot == nullptr) {
      return Status::Error(std::string(param.key) +
                           ": unknown parameter (from, to, since, by, "
                           "series)");
    }
    *slot = param.value;
  }
  return p;
}

Result<StatsQuery> BuildQuery(const Params& p, int64_t now_ms) {
  int64_t to = now_ms;
  if (!p.to.empty()) {
    auto ms = ParseTimestampMs(p.to);
    if (!ms) return Status::Error("to: not an RFC 3339 timestamp");
    to = *ms;
  }
  int64_t from = to - kDefaultWindowMs;
  if (!p.from.empty()) {
    if (!p.since.empty()) return Status::Error("since: not with from");
    auto ms = ParseTimestampMs(p.from);
    if (!ms) return Status::Error("from: not an RFC 3339 timestamp");
    from = *ms;
  } else if (!p.since.empty()) {
    auto d = ParseDurationMs(p.since);
    if (!d.ok()) return Status::Error("since: " + d.status().message());
    from = to - d.value();
  }
  if (!p.series.empty() && p.series != "hourly") {
    return Status::Error("series: only \"hourly\" is supported");
  }
  auto by = ParseDims(p.by);
  if (!by.ok()) return by.status();
  return MakeQuery(from, to, std::move(by).value(), p.series == "hourly");
}

}  // namespace

void StatsApi::Handle(HttpRequest request, Respond respond) {
  HttpResponse denied;
  if (!BearerAuthorized(request, token_->Get(), &denied)) {
    return respond(std::move(denied));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = ErrorResponse(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET");
    return respond(std::move(r));
  }
  auto params = ReadParams(request.target);
  if (!params.ok())
    return respond(ErrorResponse(400, params.status().message()));
  auto query = BuildQuery(params.value(), clock_.NowMs());
  if (!query.ok()) return respond(ErrorResponse(400, query.status().message()));
  boost::asio::post(pool_, [this, q = std::move(query).value(),
                            respond = std::move(respond)]() {
    GuardTask(errors_, respond, [&] {
      auto report = source_->Query(q);
      if (!report.ok()) {
        return respond(ErrorResponse(503, report.status().message()));
      }
      HttpResponse r;
      r.status = 200;
      r.content_type = "application/json";
      r.body = ToJsonText(report.value());
      r.handler = "api";
      respond(std::move(r));
    });
  });
}

}  // namespace dlrd
