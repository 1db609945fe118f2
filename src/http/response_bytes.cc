#include "http/response_bytes.h"

#include <boost/beast/http.hpp>
#include <string_view>

namespace dlrd {
namespace {

bool Splits(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

void AddField(std::string& out, std::string_view name, std::string_view value) {
  if (Splits(name) || Splits(value)) return;
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

std::string ResponseBytes(const HttpResponse& r, bool close, bool head) {
  namespace http = boost::beast::http;
  const http::status known = http::int_to_status(r.status);
  const auto beast_reason = http::obsolete_reason(known);
  const std::string_view reason =
      known == http::status::unknown
          ? std::string_view("Unknown")
          : std::string_view(beast_reason.data(), beast_reason.size());
  std::string out;
  out.reserve(128 + r.body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(r.status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
  AddField(out, "Server", "dlrd");
  AddField(out, "Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) AddField(out, name, value);
  AddField(out, "Content-Length", std::to_string(r.body.size()));
  if (close) AddField(out, "Connection", "close");
  out.append("\r\n");
  if (!head) out.append(r.body);
  return out;
}

}  // namespace dlrd
