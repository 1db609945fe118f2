// Route parsing and the outcome -> status mapping of the public listener.
#include "dlrd/http/webhook_routes.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

TEST(SourceFromTarget, Table) {
  const struct {
    const char* target;
    const char* source;
  } cases[] = {
      {"/webhooks/verifynow", "verifynow"},
      {"/webhooks/verifynow?a=1&b=2", "verifynow"},
      {"/webhooks/twilio%2Dsms", "twilio-sms"},
      {"/webhooks/", ""},
      {"/webhooks", ""},
      {"/webhooks/a/b", ""},
      {"/hooks/a", ""},
      {"/", ""},
      {"http://example.com/webhooks/a", ""},
      {"*", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    EXPECT_EQ(WebhookHandler::SourceFromTarget(c.target), c.source);
  }
}

TEST(ResponseFor, StatusCodes) {
  const struct {
    IngestOutcome outcome;
    unsigned status;
  } cases[] = {
      {IngestOutcome::kAccepted, 200},
      {IngestOutcome::kDuplicate, 200},
      {IngestOutcome::kUnknownSource, 404},
      {IngestOutcome::kUnsupportedMediaType, 415},
      {IngestOutcome::kRejectedSignature, 401},
      {IngestOutcome::kUnsignedRetry, 503},
      {IngestOutcome::kRejectedMalformed, 400},
      {IngestOutcome::kOverloaded, 503},
      {IngestOutcome::kStoreFailed, 503},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(ToString(c.outcome)));
    HttpResponse r = ResponseFor(c.outcome);
    EXPECT_EQ(r.status, c.status);
    bool retry_after = false;
    for (const auto& [k, v] : r.headers) retry_after |= (k == "Retry-After");
    EXPECT_EQ(retry_after, c.status == 503);
  }
  // A 401 says nothing about why.
  EXPECT_EQ(ResponseFor(IngestOutcome::kRejectedSignature).body,
            "{\"error\":\"invalid signature\"}\n");
}

TEST(ResponseFor, FormatReplyOnlyWhenStored) {
  const WebhookReply reply{"application/json", R"({"action":"allow"})"};
  for (IngestOutcome o : kAllOutcomes) {
    SCOPED_TRACE(std::string(ToString(o)));
    HttpResponse r = ResponseFor(o, reply);
    const bool stored =
        o == IngestOutcome::kAccepted || o == IngestOutcome::kDuplicate;
    EXPECT_EQ(r.body == reply.body, stored);
    if (stored) {
      EXPECT_EQ(r.status, 200u);
      EXPECT_EQ(r.content_type, "application/json");
      EXPECT_EQ(r.handler, "webhook");
    }
  }
}

}  // namespace
}  // namespace dlrd
