#include "core/providers/vonage/vonage_messages_normalizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <memory>
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

using testutil::kEventId;
using testutil::kReceivedAtMs;

constexpr char kDir[] = "vonage_messages";
constexpr char kSource[] = "vonage-messages-prod";

InboundWebhook HookWithBody(std::string body) {
  return testutil::MakeHook(kSource, testutil::kJsonType, std::move(body));
}

InboundWebhook HookFor(std::string_view file) {
  return HookWithBody(testutil::ReadFixture(kDir, file));
}

NormalizeContext Context(std::string event_id = "") {
  return testutil::MakeContext(kSource, kReceivedAtMs, std::move(event_id));
}

// A status body with the given fields; `to` is a fictional GB number.
std::string StatusBody(std::string_view status, std::string_view channel,
                       std::string_view to = "447700900150") {
  return R"({"message_uuid":"eeeeeeee-0001-4ccc-8ddd-0123456789ab","to":")" +
         std::string(to) + R"(","status":")" + std::string(status) +
         R"(","channel":")" + std::string(channel) + R"("})";
}

// --- Bodies that normalize to one event -----------------------------------

struct ValidCase {
  const char* file;
  const char* message_uuid;
  Channel channel;
  DeliveryStatus status;
  const char* raw_status;
  const char* error_code;
  const char* recipient;
  const char* dedupe_key;  // without a signature event id
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

constexpr char kDocsUuid[] = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";

const ValidCase kValidCases[] = {
    {"delivered_sms_symfony.json", kDocsUuid, Channel::kSms,
     DeliveryStatus::kDelivered, "delivered", "", "+447700900000",
     "aaaaaaaa-bbbb-cccc-dddd-0123456789ab:delivered"},
    {"rejected_sms_symfony.json", kDocsUuid, Channel::kSms,
     DeliveryStatus::kRejected, "rejected", "1000", "+447700900000",
     "aaaaaaaa-bbbb-cccc-dddd-0123456789ab:rejected"},
    {"undeliverable_sms_symfony.json", kDocsUuid, Channel::kSms,
     DeliveryStatus::kUndelivered, "undeliverable", "1260", "+447700900000",
     "aaaaaaaa-bbbb-cccc-dddd-0123456789ab:undeliverable"},
    {"submitted_sms_docs.json", kDocsUuid, Channel::kSms, DeliveryStatus::kSent,
     "submitted", "", "+447700900000",
     "aaaaaaaa-bbbb-cccc-dddd-0123456789ab:submitted"},
    {"submitted_error_dotnet_sdk.json", "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
     Channel::kSms, DeliveryStatus::kSent, "submitted", "1000", "+447700900000",
     "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab:submitted"},
    {"read_whatsapp.json", "bbbbbbbb-0001-4ccc-8ddd-0123456789ab",
     Channel::kWhatsapp, DeliveryStatus::kRead, "read", "", "+447700900123",
     "bbbbbbbb-0001-4ccc-8ddd-0123456789ab:read"},
    // A text title: the numeric fragment of the type URL is the code.
    {"rejected_whatsapp_title_text.json",
     "bbbbbbbb-0002-4ccc-8ddd-0123456789ab", Channel::kWhatsapp,
     DeliveryStatus::kRejected, "rejected", "1020", "+447700900124",
     "bbbbbbbb-0002-4ccc-8ddd-0123456789ab:rejected"},
    {"rejected_type_only.json", "bbbbbbbb-0003-4ccc-8ddd-0123456789ab",
     Channel::kSms, DeliveryStatus::kRejected, "rejected", "1300",
     "+447700900125", "bbbbbbbb-0003-4ccc-8ddd-0123456789ab:rejected"},
    // No number anywhere: the title is kept as received.
    {"rejected_text_code.json", "bbbbbbbb-0004-4ccc-8ddd-0123456789ab",
     Channel::kSms, DeliveryStatus::kRejected, "rejected", "Rejected",
     "+447700900126", "bbbbbbbb-0004-4ccc-8ddd-0123456789ab:rejected"},
    {"delivered_mms_us.json", "bbbbbbbb-0005-4ccc-8ddd-0123456789ab",
     Channel::kOther, DeliveryStatus::kDelivered, "delivered", "",
     "+12025550143", "bbbbbbbb-0005-4ccc-8ddd-0123456789ab:delivered"},
    {"read_rcs.json", "bbbbbbbb-0006-4ccc-8ddd-0123456789ab", Channel::kOther,
     DeliveryStatus::kRead, "read", "", "+447700900127",
     "bbbbbbbb-0006-4ccc-8ddd-0123456789ab:read"},
    {"delivered_viber.json", "bbbbbbbb-0007-4ccc-8ddd-0123456789ab",
     Channel::kOther, DeliveryStatus::kDelivered, "delivered", "",
     "+447700900128", "bbbbbbbb-0007-4ccc-8ddd-0123456789ab:delivered"},
    // Messenger's `to` is a page-scoped id, not a phone number.
    {"delivered_messenger.json", "bbbbbbbb-0008-4ccc-8ddd-0123456789ab",
     Channel::kOther, DeliveryStatus::kDelivered, "delivered", "", "",
     "bbbbbbbb-0008-4ccc-8ddd-0123456789ab:delivered"},
    {"unknown_status.json", "bbbbbbbb-0009-4ccc-8ddd-0123456789ab",
     Channel::kSms, DeliveryStatus::kUnknown, "accepted", "", "+447700900129",
     "bbbbbbbb-0009-4ccc-8ddd-0123456789ab:accepted"},
    {"uppercase_values.json", "bbbbbbbb-0010-4ccc-8ddd-0123456789ab",
     Channel::kSms, DeliveryStatus::kDelivered, "DELIVERED", "",
     "+447700900130", "bbbbbbbb-0010-4ccc-8ddd-0123456789ab:DELIVERED"},
    // Without a channel the kind of `to` is unknown: no recipient.
    {"no_channel.json", "bbbbbbbb-0011-4ccc-8ddd-0123456789ab", Channel::kOther,
     DeliveryStatus::kDelivered, "delivered", "", "",
     "bbbbbbbb-0011-4ccc-8ddd-0123456789ab:delivered"},
    {"null_optionals.json", "bbbbbbbb-0012-4ccc-8ddd-0123456789ab",
     Channel::kOther, DeliveryStatus::kSent, "submitted", "", "",
     "bbbbbbbb-0012-4ccc-8ddd-0123456789ab:submitted"},
    {"short_to.json", "bbbbbbbb-0013-4ccc-8ddd-0123456789ab", Channel::kSms,
     DeliveryStatus::kDelivered, "delivered", "", "",
     "bbbbbbbb-0013-4ccc-8ddd-0123456789ab:delivered"},
    {"colon_in_uuid.json", "msg:1%", Channel::kSms, DeliveryStatus::kDelivered,
     "delivered", "", "+447700900132", "msg%3A1%25:delivered"},
    {"empty_error_object.json", "bbbbbbbb-0014-4ccc-8ddd-0123456789ab",
     Channel::kSms, DeliveryStatus::kRejected, "rejected", "", "+447700900133",
     "bbbbbbbb-0014-4ccc-8ddd-0123456789ab:rejected"},
};

// --- Inbound messages: accepted, no event ---------------------------------

const char* const kInboundCases[] = {
    "inbound_sms_dotnet_sdk.json",
    "inbound_whatsapp_text.json",
};

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"not_json.txt", "body: not valid JSON"},
    {"truncated.json", "body: not valid JSON"},
    {"array_body.json", "body: not a JSON object"},
    {"missing_message_uuid.json", "message_uuid: missing"},
    {"empty_message_uuid.json", "message_uuid: must not be empty"},
    {"message_uuid_number.json", "message_uuid: must be a string"},
    {"missing_status.json", "status: missing"},
    {"status_number.json", "status: must be a string"},
    {"empty_status.json", "status: must not be empty"},
    {"channel_object.json", "channel: must be a string"},
    // Messages API v0.1 bodies ({"to": {"type", "number"}}) are not read.
    {"to_object_v0_1.json", "to: must be a string"},
    {"error_string.json", "error: must be an object"},
    {"error_title_bool.json", "error.title: must be a string or integer"},
    {"error_type_number.json", "error.type: must be a string"},
};

// The tables cover the fixture directory exactly, so no test passes
// vacuously and no fixture goes unchecked.
TEST(VonageMessagesFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 20u);
  EXPECT_EQ(std::size(kInboundCases), 2u);
  EXPECT_EQ(std::size(kInvalidCases), 15u);

  std::multiset<std::string> listed;
  for (const ValidCase& c : kValidCases) listed.insert(c.file);
  for (const char* file : kInboundCases) listed.insert(file);
  for (const InvalidCase& c : kInvalidCases) listed.insert(c.file);
  const std::multiset<std::string> on_disk = testutil::ListFixtures(kDir);
  EXPECT_EQ(on_disk.size(), 37u);
  EXPECT_EQ(listed, on_disk);
}

class VonageMessagesValidTest : public testing::TestWithParam<ValidCase> {};

void ExpectEvent(const ValidCase& c, const DeliveryEvent& e) {
  EXPECT_EQ(e.source, kSource);
  EXPECT_EQ(e.provider, "vonage");
  EXPECT_EQ(e.verification_id, c.message_uuid);
  EXPECT_EQ(e.message_id, c.message_uuid);
  EXPECT_EQ(e.channel, c.channel) << ToString(e.channel);
  EXPECT_EQ(e.status, c.status) << ToString(e.status);
  EXPECT_EQ(e.raw_status, c.raw_status);
  EXPECT_EQ(e.error_code, c.error_code);
  EXPECT_EQ(e.latency_ms, std::nullopt);
  EXPECT_EQ(e.recipient, c.recipient);
  EXPECT_EQ(e.country, testutil::FixtureCountry(c.recipient));
  EXPECT_EQ(e.received_at_ms, kReceivedAtMs);
}

TEST_P(VonageMessagesValidTest, NormalizesEveryField) {
  const ValidCase& c = GetParam();
  VonageMessagesNormalizer normalizer;
  Result<Normalized> r = normalizer.Normalize(HookFor(c.file), Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r.value().events.size(), 1u);
  EXPECT_FALSE(r.value().reply.has_value());
  ExpectEvent(c, r.value().events[0]);
  EXPECT_EQ(r.value().events[0].dedupe_key, c.dedupe_key);
}

TEST_P(VonageMessagesValidTest, SignatureEventIdIsTheDedupeKey) {
  const ValidCase& c = GetParam();
  VonageMessagesNormalizer normalizer;
  Result<Normalized> r =
      normalizer.Normalize(HookFor(c.file), Context(kEventId));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r.value().events.size(), 1u);
  ExpectEvent(c, r.value().events[0]);
  EXPECT_EQ(r.value().events[0].dedupe_key, kEventId);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageMessagesValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class VonageMessagesInboundTest : public testing::TestWithParam<const char*> {};

TEST_P(VonageMessagesInboundTest, AcceptedWithoutEvents) {
  VonageMessagesNormalizer normalizer;
  Result<Normalized> r = normalizer.Normalize(HookFor(GetParam()), Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value().events.empty());
  EXPECT_FALSE(r.value().reply.has_value());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageMessagesInboundTest,
                         testing::ValuesIn(kInboundCases),
                         testutil::FixtureParamName());

class VonageMessagesInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(VonageMessagesInvalidTest, RejectsWithoutLeakingTheNumber) {
  const InvalidCase& c = GetParam();
  VonageMessagesNormalizer normalizer;
  Result<Normalized> r =
      normalizer.Normalize(HookFor(c.file), Context(kEventId));
  ASSERT_FALSE(r.ok());
  const std::string& message = r.status().message();
  EXPECT_EQ(message, c.error);
  testutil::ExpectNoNumberLeak(message);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageMessagesInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Every documented status and channel ----------------------------------

TEST(VonageMessagesNormalizerTest, MapsEveryDocumentedStatus) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"submitted", DeliveryStatus::kSent},
      {"delivered", DeliveryStatus::kDelivered},
      {"read", DeliveryStatus::kRead},
      {"rejected", DeliveryStatus::kRejected},
      {"undeliverable", DeliveryStatus::kUndelivered},
      {"Undeliverable", DeliveryStatus::kUndelivered},
      {"failed", DeliveryStatus::kUnknown},
      {"undelivered", DeliveryStatus::kUnknown},
      {"sent", DeliveryStatus::kUnknown},
  };
  VonageMessagesNormalizer n;
  for (const auto& c : kCases) {
    Result<Normalized> r =
        n.Normalize(HookWithBody(StatusBody(c.raw, "sms")), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u);
    EXPECT_EQ(r.value().events[0].status, c.status)
        << c.raw << " -> " << ToString(r.value().events[0].status);
    EXPECT_EQ(r.value().events[0].raw_status, c.raw);
  }
}

TEST(VonageMessagesNormalizerTest, MapsEveryDocumentedChannel) {
  const struct {
    const char* raw;
    Channel channel;
    const char* recipient;
  } kCases[] = {
      {"sms", Channel::kSms, "+447700900150"},
      {"whatsapp", Channel::kWhatsapp, "+447700900150"},
      {"mms", Channel::kOther, "+447700900150"},
      {"rcs", Channel::kOther, "+447700900150"},
      {"viber_service", Channel::kOther, "+447700900150"},
      {"messenger", Channel::kOther, ""},
      {"voice", Channel::kOther, ""},
      {"email", Channel::kOther, ""},
      {"WhatsApp", Channel::kWhatsapp, "+447700900150"},
  };
  VonageMessagesNormalizer n;
  for (const auto& c : kCases) {
    Result<Normalized> r =
        n.Normalize(HookWithBody(StatusBody("delivered", c.raw)), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u);
    EXPECT_EQ(r.value().events[0].channel, c.channel) << c.raw;
    EXPECT_EQ(r.value().events[0].recipient, c.recipient) << c.raw;
  }
}

TEST(VonageMessagesNormalizerTest, ErrorCodeTable) {
  const struct {
    const char* error;
    const char* code;
  } kCases[] = {
      {R"({"type":"https://developer.vonage.com/api-errors/messages#1320",)"
       R"("title":"1320"})",
       "1320"},
      {R"({"type":"https://developer.vonage.com/api-errors/messages#1320",)"
       R"("title":1320})",
       "1320"},
      {R"({"type":"https://developer.vonage.com/api-errors/messages#1320",)"
       R"("title":"Invalid sender"})",
       "1320"},
      {R"({"type":"https://developer.vonage.com/api-errors/messages#",)"
       R"("title":"Invalid sender"})",
       "Invalid sender"},
      {R"({"type":"https://developer.vonage.com/api-errors/messages"})", ""},
      {R"({"title":"1420"})", "1420"},
      {R"({"detail":"no code"})", ""},
  };
  VonageMessagesNormalizer n;
  for (const auto& c : kCases) {
    std::string body =
        R"({"message_uuid":"eeeeeeee-0002-4ccc-8ddd-0123456789ab",)"
        R"("status":"rejected","channel":"sms","error":)" +
        std::string(c.error) + "}";
    Result<Normalized> r = n.Normalize(HookWithBody(body), Context());
    ASSERT_TRUE(r.ok()) << c.error << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u);
    EXPECT_EQ(r.value().events[0].error_code, c.code) << c.error;
  }
}

TEST(VonageMessagesNormalizerTest, AcceptsJsonContentTypesOnly) {
  VonageMessagesNormalizer n;
  EXPECT_TRUE(n.AcceptsContentType("application/json"));
  EXPECT_TRUE(n.AcceptsContentType("application/json; charset=utf-8"));
  EXPECT_TRUE(n.AcceptsContentType(" Application/JSON ;charset=UTF-8"));
  EXPECT_FALSE(n.AcceptsContentType(""));
  EXPECT_FALSE(n.AcceptsContentType("application/x-www-form-urlencoded"));
  EXPECT_FALSE(n.AcceptsContentType("text/plain"));
}

TEST(VonageMessagesNormalizerTest, ProviderName) {
  EXPECT_EQ(VonageMessagesNormalizer().provider(), "vonage");
}

TEST(VonageMessagesNormalizerTest, DedupeKeysStableAcrossRetries) {
  VonageMessagesNormalizer n;
  for (const ValidCase& c : kValidCases) {
    SCOPED_TRACE(c.file);
    testutil::ExpectStableDedupeKeys(n, HookFor(c.file), Context());
  }
}

TEST(VonageMessagesNormalizerTest, DedupeKeysDifferPerMessageAndStatus) {
  VonageMessagesNormalizer n;
  std::set<std::string> keys;
  const char* const kFiles[] = {"delivered_sms_symfony.json",
                                "rejected_sms_symfony.json",
                                "undeliverable_sms_symfony.json",
                                "submitted_sms_docs.json",
                                "submitted_error_dotnet_sdk.json",
                                "read_whatsapp.json",
                                "delivered_mms_us.json"};
  for (const char* file : kFiles) {
    Result<Normalized> r = n.Normalize(HookFor(file), Context());
    ASSERT_TRUE(r.ok()) << file << ": " << r.status().message();
    keys.insert(r.value().events[0].dedupe_key);
  }
  EXPECT_EQ(keys.size(), std::size(kFiles));
}

TEST(VonageMessagesNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(VonageMessagesNormalizer(),
                                    HookFor("delivered_sms_symfony.json"),
                                    Context());
}

TEST(VonageMessagesFactoryTest, MakesVonageMessages) {
  Result<std::unique_ptr<PayloadNormalizer>> r =
      MakePayloadNormalizer("vonage-messages");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_NE(r.value(), nullptr);
  EXPECT_EQ(r.value()->provider(), "vonage");
  EXPECT_NE(dynamic_cast<VonageMessagesNormalizer*>(r.value().get()), nullptr);
}

TEST(VonageMessagesInboundTest, StopKeywordOptsTheSenderOut) {
  VonageMessagesNormalizer n;
  Result<Normalized> r = n.Normalize(
      HookWithBody(
          R"({"channel":"sms","message_uuid":"u-1","to":"447700900000",)"
          R"("from":"447700900001","text":" unsubscribe "})"),
      Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value().events.empty());
  ASSERT_EQ(r.value().opt_changes.size(), 1u);
  EXPECT_EQ(r.value().opt_changes[0].recipient, "+447700900001");
  EXPECT_TRUE(r.value().opt_changes[0].opt_out);
}

TEST(VonageMessagesInboundTest, OrdinaryInboundTextChangesNothing) {
  VonageMessagesNormalizer n;
  Result<Normalized> r =
      n.Normalize(HookFor("inbound_sms_dotnet_sdk.json"), Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value().opt_changes.empty());
}

}  // namespace
}  // namespace dlrd
