#include "core/providers/twilio/twilio_normalizer.h"

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

constexpr testutil::FixtureFormat kFormat{.dir = "twilio",
                                          .source = "twilio-prod",
                                          .provider = "twilio",
                                          .content_type = testutil::kFormType};

InboundWebhook HookWithBody(std::string body) {
  return kFormat.HookWithBody(std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

// --- Bodies that normalize to one event -----------------------------------

struct ValidCase {
  const char* file;
  const char* message_sid;
  Channel channel;
  DeliveryStatus status;
  const char* raw_status;
  const char* error_code;
  const char* recipient;
  const char* dedupe_key;  // without a signature event id
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

const ValidCase kValidCases[] = {
    {"undelivered_30003.txt", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
     Channel::kSms, DeliveryStatus::kUndelivered, "undelivered", "30003",
     "+12025550143", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9:undelivered"},
    {"delivered_sms.txt", "SM1b2c3d4e5f60718293a4b5c6d7e8f90a", Channel::kSms,
     DeliveryStatus::kDelivered, "delivered", "", "+447700900123",
     "SM1b2c3d4e5f60718293a4b5c6d7e8f90a:delivered"},
    {"whatsapp_read.txt", "SM2c3d4e5f60718293a4b5c6d7e8f90a1b",
     Channel::kWhatsapp, DeliveryStatus::kRead, "read", "", "+447700900124",
     "SM2c3d4e5f60718293a4b5c6d7e8f90a1b:read"},
    {"extra_fields.txt", "SM3d4e5f60718293a4b5c6d7e8f90a1b2c", Channel::kSms,
     DeliveryStatus::kDelivered, "delivered", "", "+447700900125",
     "SM3d4e5f60718293a4b5c6d7e8f90a1b2c:delivered"},
    {"sent_sms.txt", "SM4e5f60718293a4b5c6d7e8f90a1b2c3d", Channel::kSms,
     DeliveryStatus::kSent, "sent", "", "+447700900126",
     "SM4e5f60718293a4b5c6d7e8f90a1b2c3d:sent"},
    {"failed_30008.txt", "SM5f60718293a4b5c6d7e8f90a1b2c3d4e", Channel::kSms,
     DeliveryStatus::kFailed, "failed", "30008", "+447700900127",
     "SM5f60718293a4b5c6d7e8f90a1b2c3d4e:failed"},
    {"canceled_scheduled.txt", "SM60718293a4b5c6d7e8f90a1b2c3d4e5f",
     Channel::kSms, DeliveryStatus::kRejected, "canceled", "", "+447700900128",
     "SM60718293a4b5c6d7e8f90a1b2c3d4e5f:canceled"},
    {"queued_whatsapp_from_only.txt", "SM718293a4b5c6d7e8f90a1b2c3d4e5f60",
     Channel::kWhatsapp, DeliveryStatus::kQueued, "queued", "", "+447700900129",
     "SM718293a4b5c6d7e8f90a1b2c3d4e5f60:queued"},
    {"partially_delivered.txt", "MM8293a4b5c6d7e8f90a1b2c3d4e5f6071",
     Channel::kSms, DeliveryStatus::kUnknown, "partially_delivered", "",
     "+447700900130", "MM8293a4b5c6d7e8f90a1b2c3d4e5f6071:partially_delivered"},
    {"messenger_channel.txt", "SM93a4b5c6d7e8f90a1b2c3d4e5f607182",
     Channel::kOther, DeliveryStatus::kDelivered, "delivered", "", "",
     "SM93a4b5c6d7e8f90a1b2c3d4e5f607182:delivered"},
    {"no_to.txt", "SMa4b5c6d7e8f90a1b2c3d4e5f60718293", Channel::kSms,
     DeliveryStatus::kSent, "sent", "", "",
     "SMa4b5c6d7e8f90a1b2c3d4e5f60718293:sent"},
    // A literal '+' in a form value is a space, so the number is unusable.
    {"unencoded_plus_to.txt", "SMb5c6d7e8f90a1b2c3d4e5f60718293a4",
     Channel::kSms, DeliveryStatus::kDelivered, "delivered", "", "",
     "SMb5c6d7e8f90a1b2c3d4e5f60718293a4:delivered"},
    {"alphanumeric_from.txt", "SMc6d7e8f90a1b2c3d4e5f60718293a4b5",
     Channel::kSms, DeliveryStatus::kQueued, "sending", "", "+447700900132",
     "SMc6d7e8f90a1b2c3d4e5f60718293a4b5:sending"},
    {"uppercase_status.txt", "SMd7e8f90a1b2c3d4e5f60718293a4b5c6",
     Channel::kSms, DeliveryStatus::kDelivered, "DELIVERED", "",
     "+447700900133", "SMd7e8f90a1b2c3d4e5f60718293a4b5c6:DELIVERED"},
    {"empty_error_code.txt", "SMe8f90a1b2c3d4e5f60718293a4b5c6d7",
     Channel::kSms, DeliveryStatus::kDelivered, "delivered", "",
     "+447700900134", "SMe8f90a1b2c3d4e5f60718293a4b5c6d7:delivered"},
    {"colon_in_sid.txt", "SM:f90a%", Channel::kSms, DeliveryStatus::kDelivered,
     "delivered", "", "+447700900135", "SM%3Af90a%25:delivered"},
};

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"bad_percent.txt", "body: malformed form encoding"},
    {"truncated_percent.txt", "body: malformed form encoding"},
    {"missing_message_sid.txt", "MessageSid: missing"},
    {"empty_message_sid.txt", "MessageSid: must not be empty"},
    {"missing_message_status.txt", "MessageStatus: missing"},
    {"empty_message_status.txt", "MessageStatus: must not be empty"},
    {"repeated_message_status.txt", "MessageStatus: repeated"},
    {"repeated_to.txt", "To: repeated"},
    {"json_body.txt", "body: malformed form encoding"},
    {"lowercase_field_names.txt", "MessageSid: missing"},
};

testutil::EventFields Want(const ValidCase& c) {
  return {.verification_id = c.message_sid,
          .message_id = c.message_sid,
          .channel = c.channel,
          .status = c.status,
          .raw_status = c.raw_status,
          .error_code = c.error_code,
          .latency_ms = std::nullopt,
          .recipient = c.recipient,
          .country = std::string(testutil::FixtureCountry(c.recipient)),
          .dedupe_key = c.dedupe_key};
}

TEST(TwilioFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 16u);
  EXPECT_EQ(std::size(kInvalidCases), 11u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 27u, kValidCases,
                                        kInvalidCases);
}

class TwilioValidTest : public testing::TestWithParam<ValidCase> {};

// Form fixtures carry no trailing newline (checked by ExpectValidFixture).
TEST_P(TwilioValidTest, NormalizesEveryField) {
  testutil::ExpectValidFixture(TwilioMessagingNormalizer(), kFormat,
                               GetParam().file, {Want(GetParam())});
}

TEST_P(TwilioValidTest, SignatureEventIdIsTheDedupeKey) {
  testutil::ExpectValidFixtureWithEventId(TwilioMessagingNormalizer(), kFormat,
                                          GetParam().file, {Want(GetParam())});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TwilioValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class TwilioInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(TwilioInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(TwilioMessagingNormalizer(), kFormat,
                                 GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TwilioInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Every documented status value ----------------------------------------

TEST(TwilioMessagingNormalizerTest, MapsEveryDocumentedStatus) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"queued", DeliveryStatus::kQueued},
      {"accepted", DeliveryStatus::kQueued},
      {"scheduled", DeliveryStatus::kQueued},
      {"sending", DeliveryStatus::kQueued},
      {"sent", DeliveryStatus::kSent},
      {"delivered", DeliveryStatus::kDelivered},
      {"read", DeliveryStatus::kRead},
      {"undelivered", DeliveryStatus::kUndelivered},
      {"failed", DeliveryStatus::kFailed},
      {"canceled", DeliveryStatus::kRejected},
      {"partially_delivered", DeliveryStatus::kUnknown},
      {"receiving", DeliveryStatus::kUnknown},
      {"cancelled", DeliveryStatus::kUnknown},
  };
  TwilioMessagingNormalizer n;
  for (const auto& c : kCases) {
    std::string body =
        "MessageSid=SM00000000000000000000000000000001"
        "&MessageStatus=" +
        std::string(c.raw) + "&To=%2B447700900150";
    Result<Normalized> r = n.Normalize(HookWithBody(body), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u);
    EXPECT_EQ(r.value().events[0].status, c.status)
        << c.raw << " -> " << ToString(r.value().events[0].status);
    EXPECT_EQ(r.value().events[0].raw_status, c.raw);
  }
}

TEST(TwilioMessagingNormalizerTest, AcceptsFormContentTypesOnly) {
  testutil::ExpectContentTypes(
      TwilioMessagingNormalizer(),
      {"application/x-www-form-urlencoded",
       "application/x-www-form-urlencoded; charset=utf-8",
       " Application/X-WWW-Form-Urlencoded ;charset=UTF-8"},
      {"", "application/json", "multipart/form-data", "text/plain"});
}

TEST(TwilioMessagingNormalizerTest, ProviderName) {
  EXPECT_EQ(TwilioMessagingNormalizer().provider(), "twilio");
}

TEST(TwilioMessagingNormalizerTest, DedupeKeysDifferPerMessageAndStatus) {
  TwilioMessagingNormalizer n;
  std::set<std::string> keys;
  for (const char* file :
       {"undelivered_30003.txt", "delivered_sms.txt", "whatsapp_read.txt",
        "sent_sms.txt", "failed_30008.txt"}) {
    Result<Normalized> r = n.Normalize(HookFor(file), Context());
    ASSERT_TRUE(r.ok()) << file << ": " << r.status().message();
    keys.insert(r.value().events[0].dedupe_key);
  }
  EXPECT_EQ(keys.size(), 5u);
}

TEST(TwilioMessagingNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(TwilioMessagingNormalizer(),
                                    HookFor("delivered_sms.txt"), Context());
}

TEST(TwilioMessagingFactoryTest, MakesTwilioMessaging) {
  testutil::ExpectFactoryMakes<TwilioMessagingNormalizer>("twilio-messaging",
                                                          "twilio");
}

TEST(TwilioMessagingFactoryTest, ErrorListsEveryFormat) {
  for (const char* format :
       {"twilio", "Twilio-Messaging", "twilio-messaging "}) {
    Result<std::unique_ptr<PayloadNormalizer>> r =
        MakePayloadNormalizer(format);
    ASSERT_FALSE(r.ok()) << format;
    EXPECT_EQ(r.status().message(),
              "format: \"" + std::string(format) +
                  "\" is not one of verifynow, twilio-messaging, "
                  "twilio-verify-events, vonage-messages, vonage-sms-dlr, "
                  "vonage-verify, sinch-verification, sinch-sms");
  }
}

// --- Incoming messages: STOP and START ---------------------------------------

TEST(TwilioMessagingNormalizerTest, IncomingStopOptsTheSenderOut) {
  TwilioMessagingNormalizer n;
  Result<Normalized> r = n.Normalize(
      HookWithBody(
          "ToCountry=GB&SmsStatus=received&Body=Stop.&From=%2B447700900"
          "123&To=%2B447700900001&MessageSid=SM11&NumMedia=0"),
      Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value().events.empty());
  ASSERT_EQ(r.value().opt_changes.size(), 1u);
  EXPECT_EQ(r.value().opt_changes[0].recipient, "+447700900123");
  EXPECT_TRUE(r.value().opt_changes[0].opt_out);
  EXPECT_EQ(r.value().opt_changes[0].reason, "twilio inbound STOP");
}

TEST(TwilioMessagingNormalizerTest, IncomingStartOnWhatsappOptsBackIn) {
  TwilioMessagingNormalizer n;
  Result<Normalized> r = n.Normalize(
      HookWithBody("SmsStatus=received&Body=START&From=whatsapp%3A%2B4477009001"
                   "24&To=whatsapp%3A%2B447700900001&MessageSid=SM12"),
      Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r.value().opt_changes.size(), 1u);
  EXPECT_EQ(r.value().opt_changes[0].recipient, "+447700900124");
  EXPECT_FALSE(r.value().opt_changes[0].opt_out);
}

TEST(TwilioMessagingNormalizerTest, OtherIncomingTextChangesNothing) {
  TwilioMessagingNormalizer n;
  for (const char* text : {"stop%20please", "Hello", ""}) {
    Result<Normalized> r = n.Normalize(
        HookWithBody(std::string("SmsStatus=received&Body=") + text +
                     "&From=%2B447700900125&MessageSid=SM13"),
        Context());
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_TRUE(r.value().events.empty()) << text;
    EXPECT_TRUE(r.value().opt_changes.empty()) << text;
  }
}

}  // namespace
}  // namespace dlrd
