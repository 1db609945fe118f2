#include "core/providers/verifynow/verifynow_normalizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <memory>
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

constexpr testutil::FixtureFormat kFormat{
    .dir = "verifynow", .source = "mc-prod", .provider = "verifynow"};

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

// --- Bodies that normalize to one event -----------------------------------

struct ValidCase {
  const char* file;
  const char* verification_id;
  Channel channel;
  DeliveryStatus status;
  const char* raw_status;
  std::optional<int64_t> latency_ms;
  const char* recipient;
  const char* dedupe_key;  // without a signature event id
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

const ValidCase kValidCases[] = {
    {"delivered_sms.json", "1204587", Channel::kSms, DeliveryStatus::kDelivered,
     "DELIVERED", 1840, "+447700900123", "1204587:SMS:DELIVERED"},
    {"failed_sms_error_code.json", "1204588", Channel::kSms,
     DeliveryStatus::kFailed, "FAILED", 30012, "+447700900124",
     "1204588:SMS:FAILED"},
    {"pending_sms.json", "1204589", Channel::kSms, DeliveryStatus::kSent,
     "PENDING", std::nullopt, "+447700900125", "1204589:SMS:PENDING"},
    {"delivered_whatsapp.json", "1204590", Channel::kWhatsapp,
     DeliveryStatus::kDelivered, "DELIVERED", 950, "+12025550143",
     "1204590:WHATSAPP:DELIVERED"},
    {"failed_voice.json", "1204591", Channel::kVoice, DeliveryStatus::kFailed,
     "FAILED", 45000, "", "1204591:VOICE:FAILED"},
    {"extra_fields.json", "1204592", Channel::kSms, DeliveryStatus::kDelivered,
     "DELIVERED", 2100, "+447700900126", "1204592:SMS:DELIVERED"},
    {"numeric_verification_id.json", "987654321", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", 2210, "+447700900456",
     "987654321:SMS:DELIVERED"},
    {"lowercase_values.json", "1204593", Channel::kWhatsapp,
     DeliveryStatus::kDelivered, "delivered", 1200, "",
     "1204593:whatsapp:delivered"},
    {"unknown_status_and_channel.json", "1204594", Channel::kOther,
     DeliveryStatus::kUnknown, "SUBMITTED", 300, "", "1204594:RCS:SUBMITTED"},
    {"null_optionals.json", "1204595", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "",
     "1204595:SMS:DELIVERED"},
    {"formatted_number.json", "1204596", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "+447700900789",
     "1204596:SMS:DELIVERED"},
    {"short_number.json", "1204597", Channel::kSms, DeliveryStatus::kDelivered,
     "DELIVERED", std::nullopt, "", "1204597:SMS:DELIVERED"},
    {"min_length_number.json", "1204598", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "+44770090",
     "1204598:SMS:DELIVERED"},
    {"max_length_number.json", "1204599", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "+447700900123456",
     "1204599:SMS:DELIVERED"},
    {"long_number.json", "1204600", Channel::kSms, DeliveryStatus::kDelivered,
     "DELIVERED", std::nullopt, "", "1204600:SMS:DELIVERED"},
    {"letters_in_number.json", "1204601", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "",
     "1204601:SMS:DELIVERED"},
    {"number_without_country_code.json", "1204602", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "",
     "1204602:SMS:DELIVERED"},
    {"negative_number.json", "1204603", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "",
     "1204603:SMS:DELIVERED"},
    {"zero_latency.json", "1204604", Channel::kSms, DeliveryStatus::kDelivered,
     "DELIVERED", 0, "", "1204604:SMS:DELIVERED"},
    {"colon_in_id.json", "vn:1204605%", Channel::kSms,
     DeliveryStatus::kDelivered, "DELIVERED", std::nullopt, "",
     "vn%3A1204605%25:SMS:DELIVERED"},
};

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"whitespace_body.txt", "body: not valid JSON"},
    {"not_json.txt", "body: not valid JSON"},
    {"truncated.json", "body: not valid JSON"},
    {"trailing_garbage.json", "body: not valid JSON"},
    {"array_body.json", "body: not a JSON object"},
    {"string_body.json", "body: not a JSON object"},
    {"null_body.json", "body: not a JSON object"},
    {"missing_verification_id.json", "verificationId: missing"},
    {"missing_delivery_status.json", "deliveryStatus: missing"},
    {"missing_channel.json", "channel: missing"},
    {"null_channel.json", "channel: missing"},
    {"verification_id_float.json",
     "verificationId: must be a string or integer"},
    {"verification_id_bool.json",
     "verificationId: must be a string or integer"},
    {"empty_verification_id.json", "verificationId: must not be empty"},
    {"delivery_status_number.json", "deliveryStatus: must be a string"},
    {"empty_delivery_status.json", "deliveryStatus: must not be empty"},
    {"channel_array.json", "channel: must be a string"},
    {"negative_latency.json", "latencyMs: must be a non-negative integer"},
    {"float_latency.json", "latencyMs: must be a non-negative integer"},
    {"string_latency.json", "latencyMs: must be a non-negative integer"},
    {"huge_latency.json", "latencyMs: must be a non-negative integer"},
    {"mobile_number_object.json", "mobileNumber: must be a string or integer"},
    {"mobile_number_bool.json", "mobileNumber: must be a string or integer"},
    {"country_code_float.json", "countryCode: must be a string or integer"},
};

testutil::EventFields Want(const ValidCase& c) {
  return {.verification_id = c.verification_id,
          .message_id = "",
          .channel = c.channel,
          .status = c.status,
          .raw_status = c.raw_status,
          .error_code = "",
          .latency_ms = c.latency_ms,
          .recipient = c.recipient,
          .country = std::string(testutil::FixtureCountry(c.recipient)),
          .dedupe_key = c.dedupe_key};
}

TEST(VerifyNowFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 20u);
  EXPECT_EQ(std::size(kInvalidCases), 25u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 45u, kValidCases,
                                        kInvalidCases);
}

class VerifyNowValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(VerifyNowValidTest, NormalizesEveryField) {
  testutil::ExpectValidFixture(VerifyNowNormalizer(), kFormat, GetParam().file,
                               {Want(GetParam())});
}

TEST_P(VerifyNowValidTest, SignatureEventIdIsTheDedupeKey) {
  testutil::ExpectValidFixtureWithEventId(VerifyNowNormalizer(), kFormat,
                                          GetParam().file, {Want(GetParam())});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VerifyNowValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class VerifyNowInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(VerifyNowInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(VerifyNowNormalizer(), kFormat, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VerifyNowInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Content types and the factory ----------------------------------------

struct MediaCase {
  const char* content_type;
  const char* media;
  bool matches;
};

TEST(MediaTypeIsTest, Table) {
  const MediaCase kCases[] = {
      {"application/json", "application/json", true},
      {"Application/JSON", "application/json", true},
      {"application/json; charset=utf-8", "application/json", true},
      {"application/json;charset=UTF-8", "application/json", true},
      {"  application/json  ; charset=utf-8", "application/json", true},
      {"\tapplication/json\t", "application/json", true},
      {"application/json;", "application/json", true},
      {"application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
       true},
      {"", "application/json", false},
      {";application/json", "application/json", false},
      {"text/plain", "application/json", false},
      {"application/jsonp", "application/json", false},
      {"application/json-patch+json", "application/json", false},
      {"application/problem+json", "application/json", false},
      {"application / json", "application/json", false},
      {"application/json, text/plain", "application/json", false},
      {"text/json", "application/json", false},
  };
  for (const MediaCase& c : kCases) {
    EXPECT_EQ(MediaTypeIs(c.content_type, c.media), c.matches)
        << '"' << c.content_type << "\" vs " << c.media;
  }
}

TEST(VerifyNowNormalizerTest, AcceptsJsonContentTypesOnly) {
  testutil::ExpectContentTypes(
      VerifyNowNormalizer(),
      {"application/json", "APPLICATION/JSON; charset=utf-8",
       " application/json ;charset=UTF-8"},
      {"", "text/plain", "application/x-www-form-urlencoded",
       "application/jsonl"});
}

TEST(VerifyNowNormalizerTest, ProviderName) {
  EXPECT_EQ(VerifyNowNormalizer().provider(), "verifynow");
}

TEST(VerifyNowNormalizerTest, DedupeKeysDifferPerStatusAndChannel) {
  VerifyNowNormalizer n;
  std::set<std::string> keys;
  for (const char* file :
       {"delivered_sms.json", "failed_sms_error_code.json", "pending_sms.json",
        "delivered_whatsapp.json", "failed_voice.json"}) {
    Result<Normalized> r = n.Normalize(HookFor(file), Context());
    ASSERT_TRUE(r.ok()) << file << ": " << r.status().message();
    keys.insert(r.value().events[0].dedupe_key);
  }
  EXPECT_EQ(keys.size(), 5u);
}

TEST(VerifyNowNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(VerifyNowNormalizer(),
                                    HookFor("delivered_sms.json"), Context());
}

TEST(PayloadNormalizerFactoryTest, MakesVerifyNow) {
  testutil::ExpectFactoryMakes<VerifyNowNormalizer>("verifynow", "verifynow");
}

TEST(PayloadNormalizerFactoryTest, RejectsUnknownFormats) {
  const struct {
    const char* format;
    const char* error;
  } kCases[] = {
      {"twilio",
       "format: \"twilio\" is not one of verifynow, twilio-messaging, "
       "twilio-verify-events, vonage-messages, vonage-sms-dlr, vonage-verify, "
       "sinch-verification, sinch-sms"},
      {"",
       "format: \"\" is not one of verifynow, twilio-messaging, "
       "twilio-verify-events, vonage-messages, vonage-sms-dlr, vonage-verify, "
       "sinch-verification, sinch-sms"},
      {"VerifyNow",
       "format: \"VerifyNow\" is not one of verifynow, twilio-messaging, "
       "twilio-verify-events, vonage-messages, vonage-sms-dlr, vonage-verify, "
       "sinch-verification, sinch-sms"},
      {"verifynow ",
       "format: \"verifynow \" is not one of verifynow, twilio-messaging, "
       "twilio-verify-events, vonage-messages, vonage-sms-dlr, vonage-verify, "
       "sinch-verification, sinch-sms"},
  };
  for (const auto& c : kCases) {
    Result<std::unique_ptr<PayloadNormalizer>> r =
        MakePayloadNormalizer(c.format);
    ASSERT_FALSE(r.ok()) << c.format;
    EXPECT_EQ(r.status().message(), c.error);
  }
}

}  // namespace
}  // namespace dlrd
