// Helpers shared by the admin API handlers (/v1/...): JSON responses and
// the bearer-token check.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dlrd/http/http_types.h"

namespace dlrd {

HttpResponse JsonResponse(unsigned status, const nlohmann::json& body);
// {"error": message}
HttpResponse ErrorResponse(unsigned status, std::string message);
// True when `Authorization: Bearer <token>` matches (constant-time) and the
// token is set. Otherwise `*denied` is the 401 to send.
bool BearerAuthorized(const HttpRequest& request, std::string_view token,
                      HttpResponse* denied);

}  // namespace dlrd
