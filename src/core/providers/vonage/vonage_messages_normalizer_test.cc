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

constexpr testutil::FixtureFormat kFormat{.dir = "vonage_messages",
                                          .source = "vonage-messages-prod",
                                          .provider = "vonage"};

InboundWebhook HookWithBody(std::string body) {
  return kFormat.HookWithBody(std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
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

testutil::EventFields Want(const ValidCase& c) {
  return {.verification_id = c.message_uuid,
          .message_id = c.message_uuid,
          .channel = c.channel,
          .status = c.status,
          .raw_status = c.raw_status,
          .error_code = c.error_code,
          .latency_ms = std::nullopt,
          .recipient = c.recipient,
          .country = std::string(testutil::FixtureCountry(c.recipient)),
          .dedupe_key = c.dedupe_key};
}

TEST(VonageMessagesFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 20u);
  EXPECT_EQ(std::size(kInboundCases), 2u);
  EXPECT_EQ(std::size(kInvalidCases), 15u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 37u, kValidCases,
                                        kInboundCases, kInvalidCases);
}

class VonageMessagesValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(VonageMessagesValidTest, NormalizesEveryField) {
  testutil::ExpectValidFixture(VonageMessagesNormalizer(), kFormat,
                               GetParam().file, {Want(GetParam())});
}

TEST_P(VonageMessagesValidTest, SignatureEventIdIsTheDedupeKey) {
  testutil::ExpectValidFixtureWithEventId(VonageMessagesNormalizer(), kFormat,
                                          GetParam().file, {Want(GetParam())});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageMessagesValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class VonageMessagesInboundTest : public testing::TestWithParam<const char*> {};

TEST_P(VonageMessagesInboundTest, AcceptedWithoutEvents) {
  testutil::ExpectAcceptedWithoutEvents(VonageMessagesNormalizer(), kFormat,
                                        GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageMessagesInboundTest,
                         testing::ValuesIn(kInboundCases),
                         testutil::FixtureParamName());

class VonageMessagesInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(VonageMessagesInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(VonageMessagesNormalizer(), kFormat,
                                 GetParam());
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
  testutil::ExpectContentTypes(
      VonageMessagesNormalizer(),
      {"application/json", "application/json; charset=utf-8",
       " Application/JSON ;charset=UTF-8"},
      {"", "application/x-www-form-urlencoded", "text/plain"});
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
  testutil::ExpectFactoryMakes<VonageMessagesNormalizer>("vonage-messages",
                                                         "vonage");
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
