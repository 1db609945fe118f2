#include "dlrd/http/verification_routes.h"

#include <nlohmann/json.hpp>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/model/phone.h"
#include "dlrd/core/util/field_reader.h"
#include "http/api_util.h"
#include "dlrd/http/guarded_handler.h"

namespace dlrd {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "/v1/verifications";

json ToJson(const ChainView& v) {
  json steps = json::array();
  for (const auto& s : v.steps) {
    steps.push_back({{"step", s.step},
                     {"channel", s.channel},
                     {"provider", s.provider},
                     {"verification_id", s.verification_id},
                     {"status", s.status},
                     {"sent_at", FormatTimestampMs(s.sent_at_ms)},
                     {"deadline_at", FormatTimestampMs(s.deadline_at_ms)}});
  }
  json jobs = json::array();
  for (const auto& j : v.jobs) {
    jobs.push_back({{"step", j.step},
                    {"channel", j.channel},
                    {"state", j.state},
                    {"attempts", j.attempts},
                    {"last_error", j.last_error},
                    {"provider_ref", j.provider_ref},
                    {"created_at", FormatTimestampMs(j.created_at_ms)},
                    {"updated_at", FormatTimestampMs(j.updated_at_ms)}});
  }
  json decisions = json::array();
  for (const auto& d : v.decisions) {
    decisions.push_back({{"step", d.step},
                         {"trigger", d.trigger},
                         {"from", d.from},
                         {"to", d.to},
                         {"result", d.result},
                         {"reason", d.reason},
                         {"wasted", d.wasted},
                         {"at", FormatTimestampMs(d.at_ms)}});
  }
  json events = json::array();
  for (const auto& e : v.events) {
    events.push_back({{"verification_id", e.verification_id},
                      {"channel", e.channel},
                      {"status", e.status},
                      {"raw_status", e.raw_status},
                      {"error_code", e.error_code},
                      {"received_at", FormatTimestampMs(e.received_at_ms)}});
  }
  return json{{"verification_id", v.root_id},
              {"source", v.source},
              {"recipient", v.recipient},
              {"country", v.country},
              {"fraud", v.fraud},
              {"invalid_number", v.invalid_number},
              {"opted_out", v.opted_out},
              {"created_at", FormatTimestampMs(v.created_at_ms)},
              {"outcome", v.outcome},
              {"steps", steps},
              {"jobs", jobs},
              {"decisions", decisions},
              {"events", events}};
}

}  // namespace

void VerificationApi::Handle(HttpRequest request, Respond respond) {
  HttpResponse denied;
  if (!BearerAuthorized(request, token_->Get(), &denied)) {
    return respond(std::move(denied));
  }
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  if (path == kPrefix) {
    if (request.method != "POST") {
      HttpResponse r = ErrorResponse(405, "method not allowed");
      r.headers.emplace_back("Allow", "POST");
      return respond(std::move(r));
    }
    return Register(request, std::move(respond));
  }
  // Only "/v1/verifications/{id}" from here: "/v1/x" and
  // "/v1/verificationsABC" are not ours.
  if (path.size() <= kPrefix.size() + 1 || !path.starts_with(kPrefix) ||
      path[kPrefix.size()] != '/') {
    return respond(ErrorResponse(404, "not found"));
  }
  std::string id(path.substr(kPrefix.size() + 1));
  if (id.find('/') != std::string::npos) {
    return respond(ErrorResponse(404, "not found"));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = ErrorResponse(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET");
    return respond(std::move(r));
  }
  Get(std::move(id), std::move(respond));
}

void VerificationApi::Register(const HttpRequest& request, Respond respond) {
  Result<json> body = ParseJsonObject(request.body);
  if (!body.ok()) return respond(ErrorResponse(400, body.status().message()));
  const json& b = body.value();
  Registration reg;
  Result<std::string> id =
      ReadString(b, "verification_id", "verification_id", true);
  if (!id.ok()) return respond(ErrorResponse(400, id.status().message()));
  if (id.value().find('\0') != std::string::npos) {
    // Neither store keeps it alike (PostgreSQL text cannot hold a NUL).
    return respond(ErrorResponse(400, "verification_id: contains a NUL byte"));
  }
  reg.verification_id = std::move(id).value();
  Result<std::string> source = ReadString(b, "source", "source", true);
  if (!source.ok())
    return respond(ErrorResponse(400, source.status().message()));
  reg.source = std::move(source).value();
  auto provider = providers_.find(reg.source);
  if (provider == providers_.end()) {
    return respond(
        ErrorResponse(422, "source: unknown, or has no fallback configured"));
  }
  reg.provider = provider->second;
  Result<std::string> recipient = ReadString(b, "recipient", "recipient", true);
  if (!recipient.ok()) {
    return respond(ErrorResponse(400, recipient.status().message()));
  }
  auto number =
      NormalizeRecipient(recipient.value(), /*assume_international=*/false);
  if (!number) {
    return respond(ErrorResponse(400, "recipient: not an E.164 number"));
  }
  reg.recipient = number->e164;
  reg.country = number->region;
  Result<std::string> channel = ReadString(b, "channel", "channel", true);
  if (!channel.ok())
    return respond(ErrorResponse(400, channel.status().message()));
  auto c = ParseChannel(channel.value());
  if (!c || *c == Channel::kOther) {
    return respond(
        ErrorResponse(400, "channel: must be one of sms, whatsapp, voice"));
  }
  reg.channel = *c;
  const int64_t now = clock_.NowMs();
  reg.sent_at_ms = now;
  Result<std::string> sent_at = ReadString(b, "sent_at", "sent_at", false);
  if (!sent_at.ok())
    return respond(ErrorResponse(400, sent_at.status().message()));
  if (!sent_at.value().empty()) {
    auto ms = ParseTimestampMs(sent_at.value());
    if (!ms) {
      return respond(ErrorResponse(400, "sent_at: not an RFC 3339 timestamp"));
    }
    reg.sent_at_ms = *ms;
  }
  dispatcher_.Post([this, reg = std::move(reg), now,
                    respond = std::move(respond)]() {
    GuardTask(errors_, respond, [&] { FinishRegister(reg, now, respond); });
  });
}

void VerificationApi::FinishRegister(const Registration& reg, int64_t now,
                                     const Respond& respond) {
  Result<bool> created = store_.Register(reg, now);
  if (!created.ok()) {
    const std::string& m = created.status().message();
    const bool conflict = m.find("another recipient") != std::string::npos;
    return respond(ErrorResponse(conflict ? 409 : 503, m));
  }
  if (created.value() && metrics_ != nullptr) {
    metrics_->Registered(reg.provider, reg.channel);
  }
  respond(JsonResponse(created.value() ? 201 : 200,
                       json{{"verification_id", reg.verification_id},
                            {"created", created.value()}}));
}

void VerificationApi::Get(std::string id, Respond respond) {
  dispatcher_.Post([this, id = std::move(id), respond = std::move(respond)]() {
    GuardTask(errors_, respond, [&] {
      auto chain = store_.Chain(id);
      if (!chain.ok()) return respond(ErrorResponse(503, "store unavailable"));
      if (!chain.value()) return respond(ErrorResponse(404, "not found"));
      respond(JsonResponse(200, ToJson(*chain.value())));
    });
  });
}

}  // namespace dlrd
