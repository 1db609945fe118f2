#include "core/providers/sinch/sinch_verification_normalizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/normalize/payload_normalizer.h"
#include "testutil/normalizer_fixture.h"

namespace dlrd {
namespace {

// A request event is answered with a reply body.
constexpr testutil::FixtureFormat kFormat{
    .dir = "sinch_verification",
    .source = "sinch-verify",
    .provider = "sinch",
    .content_type = "application/json; charset=utf-8",
    .replies = true};
constexpr char kAllow[] = R"({"action":"allow"})";
constexpr char kDeny[] = R"({"action":"deny"})";

InboundWebhook HookWithBody(std::string body) {
  return kFormat.HookWithBody(std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

FormatOptions Action(const char* action) {
  FormatOptions o;
  o.request_action = action;
  return o;
}

SinchVerificationNormalizer Allowing() {
  return SinchVerificationNormalizer(FormatOptions{});
}

// --- Bodies that normalize to one event -----------------------------------

struct ValidCase {
  const char* file;
  const char* id;
  Channel channel;
  DeliveryStatus status;
  const char* raw_status;
  const char* error_code;
  const char* recipient;
  const char* dedupe_key;  // without a signature event id
  bool request;            // a VerificationRequestEvent: answered allow/deny
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

constexpr char kRequest[] = "VerificationRequestEvent";

const ValidCase kValidCases[] = {
    // VerificationRequestEvent: queued, with a reply.
    {"request_sms.json", "1234567890", Channel::kSms, DeliveryStatus::kQueued,
     kRequest, "", "+447700900123", "1234567890:VerificationRequestEvent",
     true},
    {"request_whatsapp.json", "018c25e1-7163-5677-b8fb-467d7b1cffa5",
     Channel::kWhatsapp, DeliveryStatus::kQueued, kRequest, "", "+12025550143",
     "018c25e1-7163-5677-b8fb-467d7b1cffa5:VerificationRequestEvent", true},
    {"request_callout.json", "1234567891", Channel::kVoice,
     DeliveryStatus::kQueued, kRequest, "", "+447700900124",
     "1234567891:VerificationRequestEvent", true},
    {"request_flashcall.json", "1234567892", Channel::kVoice,
     DeliveryStatus::kQueued, kRequest, "", "+447700900125",
     "1234567892:VerificationRequestEvent", true},
    {"request_seamless.json", "1234567893", Channel::kOther,
     DeliveryStatus::kQueued, kRequest, "", "+12025550144",
     "1234567893:VerificationRequestEvent", true},
    {"request_minimal.json", "1234567894", Channel::kOther,
     DeliveryStatus::kQueued, kRequest, "", "",
     "1234567894:VerificationRequestEvent", true},
    {"request_extra_fields.json", "1234567895", Channel::kSms,
     DeliveryStatus::kQueued, kRequest, "", "+447700900126",
     "1234567895:VerificationRequestEvent", true},
    {"endpoint_without_plus.json", "1234567910", Channel::kSms,
     DeliveryStatus::kQueued, kRequest, "", "+447700900139",
     "1234567910:VerificationRequestEvent", true},
    // VerificationResultEvent: reason is the error code.
    {"result_denied_fraud.json", "1234567890", Channel::kSms,
     DeliveryStatus::kRejected, "DENIED", "Fraud", "+447700900123",
     "1234567890:VerificationResultEvent:DENIED", false},
    {"result_successful.json", "1234567896", Channel::kSms,
     DeliveryStatus::kVerified, "SUCCESSFUL", "", "+447700900127",
     "1234567896:VerificationResultEvent:SUCCESSFUL", false},
    {"result_fail_invalid_code.json", "1234567897", Channel::kVoice,
     DeliveryStatus::kFailed, "FAIL", "Invalid code", "+447700900128",
     "1234567897:VerificationResultEvent:FAIL", false},
    {"result_fail_expired_flashcall.json", "1234567898", Channel::kVoice,
     DeliveryStatus::kFailed, "FAIL", "Expired", "+447700900129",
     "1234567898:VerificationResultEvent:FAIL", false},
    {"result_error_sms_delivery_failure.json", "1234567899", Channel::kSms,
     DeliveryStatus::kFailed, "ERROR", "SMS delivery failure", "+447700900130",
     "1234567899:VerificationResultEvent:ERROR", false},
    {"result_aborted.json", "1234567900", Channel::kVoice,
     DeliveryStatus::kRejected, "ABORTED", "", "+447700900131",
     "1234567900:VerificationResultEvent:ABORTED", false},
    {"result_denied_by_callback_whatsapp.json", "1234567901",
     Channel::kWhatsapp, DeliveryStatus::kRejected, "DENIED",
     "Denied by callback", "+12025550145",
     "1234567901:VerificationResultEvent:DENIED", false},
    // The docs' example quotes its reason with U+201C/U+201D: kept as is.
    {"result_pending_docs_example.json", "1234567890", Channel::kSms,
     DeliveryStatus::kSent, "PENDING",
     "\xE2\x80\x9C"
     "Fraud"
     "\xE2\x80\x9D",
     "+447700900123", "1234567890:VerificationResultEvent:PENDING", false},
    {"result_unknown_status.json", "1234567902", Channel::kSms,
     DeliveryStatus::kUnknown, "TIMED_OUT", "", "+447700900132",
     "1234567902:VerificationResultEvent:TIMED_OUT", false},
    {"result_lowercase_status.json", "1234567903", Channel::kSms,
     DeliveryStatus::kVerified, "successful", "", "+447700900133",
     "1234567903:VerificationResultEvent:successful", false},
    {"result_seamless.json", "1234567904", Channel::kOther,
     DeliveryStatus::kVerified, "SUCCESSFUL", "", "+12025550146",
     "1234567904:VerificationResultEvent:SUCCESSFUL", false},
    {"numeric_id.json", "1234567907", Channel::kSms, DeliveryStatus::kVerified,
     "SUCCESSFUL", "", "+447700900136",
     "1234567907:VerificationResultEvent:SUCCESSFUL", false},
    {"colon_in_id.json", "sv:1%", Channel::kSms, DeliveryStatus::kFailed,
     "FAIL", "Invalid code", "+447700900137",
     "sv%3A1%25:VerificationResultEvent:FAIL", false},
    {"identity_email.json", "1234567908", Channel::kSms,
     DeliveryStatus::kVerified, "SUCCESSFUL", "", "",
     "1234567908:VerificationResultEvent:SUCCESSFUL", false},
    {"unusable_endpoint.json", "1234567911", Channel::kSms,
     DeliveryStatus::kFailed, "FAIL", "Blocked", "",
     "1234567911:VerificationResultEvent:FAIL", false},
    {"null_optionals.json", "1234567912", Channel::kOther,
     DeliveryStatus::kFailed, "ERROR", "", "",
     "1234567912:VerificationResultEvent:ERROR", false},
    // VerificationSmsDeliveredEvent: always channel sms.
    {"sms_delivered_failed.json", "1234567890", Channel::kSms,
     DeliveryStatus::kFailed, "Failed", "", "+447700900123",
     "1234567890:VerificationSmsDeliveredEvent:Failed", false},
    {"sms_delivered_successful.json", "1234567905", Channel::kSms,
     DeliveryStatus::kDelivered, "Successful", "", "+447700900134",
     "1234567905:VerificationSmsDeliveredEvent:Successful", false},
    {"sms_delivered_unknown_result.json", "1234567906", Channel::kSms,
     DeliveryStatus::kUnknown, "Pending", "", "+447700900135",
     "1234567906:VerificationSmsDeliveredEvent:Pending", false},
    {"identity_without_type.json", "1234567909", Channel::kSms,
     DeliveryStatus::kDelivered, "Successful", "", "+447700900138",
     "1234567909:VerificationSmsDeliveredEvent:Successful", false},
};

// --- Bodies that are accepted with no event and no reply ------------------

const char* const kIgnoredCases[] = {
    "unknown_event.json", "unknown_event_without_status.json",
    "lowercase_event_name.json",  // event names are matched exactly
};

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"not_json.txt", "body: not valid JSON"},
    {"truncated.json", "body: not valid JSON"},
    {"array_body.json", "body: not a JSON object"},
    {"missing_id.json", "id: missing"},
    {"empty_id.json", "id: must not be empty"},
    {"id_float.json", "id: must be a string or integer"},
    {"missing_event.json", "event: missing"},
    {"event_number.json", "event: must be a string"},
    {"result_missing_status.json", "status: missing"},
    {"result_empty_status.json", "status: must not be empty"},
    {"result_status_number.json", "status: must be a string"},
    {"sms_delivered_missing_sms_result.json", "smsResult: missing"},
    {"identity_string.json", "identity: must be an object"},
    {"endpoint_number.json", "identity.endpoint: must be a string"},
    {"identity_type_array.json", "identity.type: must be a string"},
    {"method_number.json", "method: must be a string"},
    {"reason_object.json", "reason: must be a string"},
};

testutil::EventFields Want(const ValidCase& c) {
  return {.verification_id = c.id,
          .message_id = "",
          .channel = c.channel,
          .status = c.status,
          .raw_status = c.raw_status,
          .error_code = c.error_code,
          .latency_ms = std::nullopt,
          .recipient = c.recipient,
          .country = std::string(testutil::FixtureCountry(c.recipient)),
          .dedupe_key = c.dedupe_key};
}

TEST(SinchVerificationFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 28u);
  EXPECT_EQ(std::size(kIgnoredCases), 3u);
  EXPECT_EQ(std::size(kInvalidCases), 18u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 49u, kValidCases,
                                        kIgnoredCases, kInvalidCases);
}

class SinchVerificationValidTest : public testing::TestWithParam<ValidCase> {};

void ExpectReply(const ValidCase& c, const Normalized& n, const char* body) {
  if (!c.request) {
    EXPECT_EQ(n.reply, std::nullopt) << "only a request event is answered";
    return;
  }
  ASSERT_TRUE(n.reply.has_value());
  EXPECT_EQ(n.reply->content_type, "application/json");
  EXPECT_EQ(n.reply->body, body);
}

TEST_P(SinchVerificationValidTest, NormalizesEveryField) {
  const ValidCase& c = GetParam();
  testutil::ExpectValidFixture(
      Allowing(), kFormat, c.file, {Want(c)},
      [&c](const Normalized& n) { ExpectReply(c, n, kAllow); });
}

TEST_P(SinchVerificationValidTest, SignatureEventIdIsTheDedupeKey) {
  testutil::ExpectValidFixtureWithEventId(Allowing(), kFormat, GetParam().file,
                                          {Want(GetParam())});
}

TEST_P(SinchVerificationValidTest, DenyOptionChangesOnlyTheReply) {
  const ValidCase& c = GetParam();
  testutil::ExpectValidFixture(
      SinchVerificationNormalizer(Action("deny")), kFormat, c.file, {Want(c)},
      [&c](const Normalized& n) { ExpectReply(c, n, kDeny); });
}

TEST_P(SinchVerificationValidTest, KeyIsStableAcrossIdenticalBodies) {
  testutil::ExpectStableDedupeKeys(Allowing(), HookFor(GetParam().file),
                                   Context());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SinchVerificationValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class SinchVerificationIgnoredTest
    : public testing::TestWithParam<const char*> {};

TEST_P(SinchVerificationIgnoredTest, AcceptedWithoutEventOrReply) {
  for (const char* action : {"allow", "deny"}) {
    SCOPED_TRACE(action);
    testutil::ExpectAcceptedWithoutEvents(
        SinchVerificationNormalizer(Action(action)), kFormat, GetParam());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SinchVerificationIgnoredTest,
                         testing::ValuesIn(kIgnoredCases),
                         testutil::FixtureParamName());

class SinchVerificationInvalidTest
    : public testing::TestWithParam<InvalidCase> {};

// No digit of the number (+44 7700 900123), nor of the id.
TEST_P(SinchVerificationInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(Allowing(), kFormat, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SinchVerificationInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Mappings -------------------------------------------------------------

std::string ResultBody(std::string_view status, std::string_view method) {
  nlohmann::json body = {
      {"id", "1234567999"},
      {"event", "VerificationResultEvent"},
      {"method", method},
      {"identity", {{"type", "number"}, {"endpoint", "+447700900150"}}},
      {"status", status}};
  return body.dump();
}

TEST(SinchVerificationNormalizerTest, MapsEveryDocumentedResultStatus) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"PENDING", DeliveryStatus::kSent},
      {"SUCCESSFUL", DeliveryStatus::kVerified},
      {"FAIL", DeliveryStatus::kFailed},
      {"ERROR", DeliveryStatus::kFailed},
      {"DENIED", DeliveryStatus::kRejected},
      {"ABORTED", DeliveryStatus::kRejected},
      {"Successful", DeliveryStatus::kVerified},
      {"FAILED", DeliveryStatus::kUnknown},
      {"EXPIRED", DeliveryStatus::kUnknown},
      {"NEW_STATE", DeliveryStatus::kUnknown},
  };
  for (const auto& c : kCases) {
    Result<Normalized> r =
        Allowing().Normalize(HookWithBody(ResultBody(c.raw, "sms")), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u);
    EXPECT_EQ(r.value().events[0].status, c.status)
        << c.raw << " -> " << ToString(r.value().events[0].status);
    EXPECT_EQ(r.value().events[0].raw_status, c.raw);
  }
}

TEST(SinchVerificationNormalizerTest, MapsEveryMethodToAChannel) {
  const struct {
    const char* method;
    Channel channel;
  } kCases[] = {
      {"sms", Channel::kSms},
      {"SMS", Channel::kSms},
      {"whatsapp", Channel::kWhatsapp},
      {"callout", Channel::kVoice},
      {"flashcall", Channel::kVoice},
      {"flashCall", Channel::kVoice},
      {"seamless", Channel::kOther},
      {"rcs", Channel::kOther},
      {"", Channel::kOther},
  };
  for (const auto& c : kCases) {
    Result<Normalized> r = Allowing().Normalize(
        HookWithBody(ResultBody("SUCCESSFUL", c.method)), Context());
    ASSERT_TRUE(r.ok()) << c.method << ": " << r.status().message();
    EXPECT_EQ(r.value().events[0].channel, c.channel)
        << c.method << " -> " << ToString(r.value().events[0].channel);
  }
}

TEST(SinchVerificationNormalizerTest, MapsEverySmsResult) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"Successful", DeliveryStatus::kDelivered},
      {"Failed", DeliveryStatus::kFailed},
      {"FAILED", DeliveryStatus::kFailed},
      {"Delivered", DeliveryStatus::kUnknown},
  };
  for (const auto& c : kCases) {
    nlohmann::json body = {{"id", "1234567998"},
                           {"event", "VerificationSmsDeliveredEvent"},
                           {"method", "whatsapp"},
                           {"smsResult", c.raw}};
    Result<Normalized> r =
        Allowing().Normalize(HookWithBody(body.dump()), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    EXPECT_EQ(r.value().events[0].status, c.status) << c.raw;
    EXPECT_EQ(r.value().events[0].channel, Channel::kSms);
  }
}

// --- The reply ------------------------------------------------------------

TEST(SinchVerificationNormalizerTest, ReplyIsMinimalSinchAnswer) {
  for (const char* action : {"allow", "deny"}) {
    SinchVerificationNormalizer n(Action(action));
    Result<Normalized> r = n.Normalize(HookFor("request_sms.json"), Context());
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r.value().reply.has_value());
    nlohmann::json reply = nlohmann::json::parse(r.value().reply->body);
    EXPECT_EQ(reply, nlohmann::json({{"action", action}}));
  }
}

TEST(SinchVerificationNormalizerTest, DefaultOptionsAllow) {
  Result<Normalized> r =
      SinchVerificationNormalizer(FormatOptions{})
          .Normalize(HookFor("request_whatsapp.json"), Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r.value().reply.has_value());
  EXPECT_EQ(r.value().reply->body, kAllow);
}

TEST(SinchVerificationNormalizerTest, DenyRepliesDenyToEveryMethod) {
  SinchVerificationNormalizer n(Action("deny"));
  for (const char* file :
       {"request_sms.json", "request_whatsapp.json", "request_callout.json",
        "request_flashcall.json", "request_minimal.json"}) {
    Result<Normalized> r = n.Normalize(HookFor(file), Context());
    ASSERT_TRUE(r.ok()) << file << ": " << r.status().message();
    ASSERT_TRUE(r.value().reply.has_value()) << file;
    EXPECT_EQ(r.value().reply->body, kDeny) << file;
    // The request is recorded whatever the answer.
    EXPECT_EQ(r.value().events[0].status, DeliveryStatus::kQueued);
  }
}

// --- Dedupe and error codes -----------------------------------------------

TEST(SinchVerificationNormalizerTest, EventsOfOneVerificationKeyApart) {
  // Four fixtures share id 1234567890: request, PENDING, DENIED, SMS failed.
  std::set<std::string> keys;
  for (const char* file :
       {"request_sms.json", "result_pending_docs_example.json",
        "result_denied_fraud.json", "sms_delivered_failed.json"}) {
    Result<Normalized> r = Allowing().Normalize(HookFor(file), Context());
    ASSERT_TRUE(r.ok()) << file << ": " << r.status().message();
    EXPECT_EQ(r.value().events[0].verification_id, "1234567890");
    keys.insert(r.value().events[0].dedupe_key);
  }
  EXPECT_EQ(keys.size(), 4u);
}

TEST(SinchVerificationNormalizerTest,
     FraudIsDistinguishableFromDeliveryFailure) {
  Result<Normalized> fraud =
      Allowing().Normalize(HookFor("result_denied_fraud.json"), Context());
  Result<Normalized> callback = Allowing().Normalize(
      HookFor("result_denied_by_callback_whatsapp.json"), Context());
  Result<Normalized> delivery = Allowing().Normalize(
      HookFor("result_error_sms_delivery_failure.json"), Context());
  ASSERT_TRUE(fraud.ok() && callback.ok() && delivery.ok());
  EXPECT_EQ(fraud.value().events[0].error_code, "Fraud");
  EXPECT_EQ(callback.value().events[0].error_code, "Denied by callback");
  EXPECT_EQ(delivery.value().events[0].error_code, "SMS delivery failure");
  EXPECT_EQ(fraud.value().events[0].status, callback.value().events[0].status);
}

// --- Content types, provider and the factory ------------------------------

TEST(SinchVerificationNormalizerTest, AcceptsJsonContentTypesOnly) {
  testutil::ExpectContentTypes(
      Allowing(),
      {"application/json", "application/json; charset=utf-8",
       " Application/JSON ;charset=UTF-8"},
      {"", "text/plain", "application/x-www-form-urlencoded"});
}

TEST(SinchVerificationNormalizerTest, ProviderName) {
  EXPECT_EQ(Allowing().provider(), "sinch");
}

TEST(SinchVerificationNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(
      Allowing(), HookFor("result_successful.json"), Context());
}

TEST(SinchVerificationFactoryTest, MakesSinchVerificationWithOptions) {
  for (const char* action : {"allow", "deny"}) {
    Result<std::unique_ptr<PayloadNormalizer>> r =
        MakePayloadNormalizer("sinch-verification", Action(action));
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_NE(r.value(), nullptr);
    EXPECT_EQ(r.value()->provider(), "sinch");
    EXPECT_NE(dynamic_cast<SinchVerificationNormalizer*>(r.value().get()),
              nullptr);
    Result<Normalized> n =
        r.value()->Normalize(HookFor("request_sms.json"), Context());
    ASSERT_TRUE(n.ok()) << n.status().message();
    ASSERT_TRUE(n.value().reply.has_value());
    EXPECT_EQ(nlohmann::json::parse(n.value().reply->body)["action"], action);
  }
}

TEST(SinchVerificationFactoryTest, DefaultFactoryOptionsAllow) {
  Result<std::unique_ptr<PayloadNormalizer>> r =
      MakePayloadNormalizer("sinch-verification");
  ASSERT_TRUE(r.ok()) << r.status().message();
  Result<Normalized> n =
      r.value()->Normalize(HookFor("request_sms.json"), Context());
  ASSERT_TRUE(n.ok()) << n.status().message();
  ASSERT_TRUE(n.value().reply.has_value());
  EXPECT_EQ(n.value().reply->body, kAllow);
}

}  // namespace
}  // namespace dlrd
