#include "http/api_util.h"

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {

HttpResponse JsonResponse(unsigned status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  // Text from the database or the request may hold invalid UTF-8 (stored
  // before values were checked, or echoed in an error): replace it rather
  // than throw.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  r.handler = "api";
  return r;
}

HttpResponse ErrorResponse(unsigned status, std::string message) {
  return JsonResponse(status, nlohmann::json{{"error", std::move(message)}});
}

bool BearerAuthorized(const HttpRequest& request, std::string_view token,
                      HttpResponse* denied) {
  std::string auth;
  for (const auto& [k, v] : request.headers) {
    if (EqualsIgnoreCase(k, "Authorization")) auth = v;
  }
  if (!token.empty() &&
      ConstantTimeEquals(auth, "Bearer " + std::string(token))) {
    return true;
  }
  *denied = ErrorResponse(401, "missing or wrong bearer token");
  denied->headers.emplace_back("WWW-Authenticate", "Bearer");
  return false;
}

}  // namespace dlrd
