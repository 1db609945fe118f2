// ResponseBytes(): the exact bytes of dlrd's HTTP responses.
#include "http/response_bytes.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

HttpResponse Json(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

TEST(ResponseBytes, KeepAliveOk) {
  EXPECT_EQ(ResponseBytes(Json(200, "{}"), false, false),
            "HTTP/1.1 200 OK\r\nServer: dlrd\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
}

TEST(ResponseBytes, CloseAndExtraHeadersInOrder) {
  HttpResponse r = Json(503, "{\"e\":1}");
  r.headers.emplace_back("Retry-After", "1");
  r.headers.emplace_back("Allow", "POST");
  EXPECT_EQ(ResponseBytes(r, true, false),
            "HTTP/1.1 503 Service Unavailable\r\nServer: dlrd\r\n"
            "Content-Type: application/json\r\nRetry-After: 1\r\n"
            "Allow: POST\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
            "{\"e\":1}");
}

TEST(ResponseBytes, HeadHasTheLengthAndNoBody) {
  EXPECT_EQ(ResponseBytes(Json(404, "nope"), false, true),
            "HTTP/1.1 404 Not Found\r\nServer: dlrd\r\n"
            "Content-Type: application/json\r\nContent-Length: 4\r\n\r\n");
}

TEST(ResponseBytes, AHeaderThatWouldSplitTheResponseIsLeftOut) {
  HttpResponse r = Json(200, "");
  r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");
  r.headers.emplace_back("X-Ok", "b");
  const std::string out = ResponseBytes(r, false, false);
  EXPECT_EQ(out.find("X-Evil"), std::string::npos);
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  EXPECT_NE(out.find("X-Ok: b\r\n"), std::string::npos);
}

TEST(ResponseBytes, UnknownStatusStillHasAReason) {
  EXPECT_EQ(ResponseBytes(Json(299, ""), false, false).substr(0, 22),
            "HTTP/1.1 299 Unknown\r\n");
}

}  // namespace
}  // namespace dlrd
