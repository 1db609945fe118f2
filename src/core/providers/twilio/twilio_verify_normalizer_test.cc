#include "core/providers/twilio/twilio_verify_normalizer.h"

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
using nlohmann::json;

using testutil::kEventId;

// Its fixtures carry no trailing newline.
constexpr testutil::FixtureFormat kFormat{.dir = "twilio_verify",
                                          .source = "twilio-verify",
                                          .provider = "twilio",
                                          .no_trailing_newline = true};

InboundWebhook HookWithBody(std::string body) {
  return kFormat.HookWithBody(std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

// Fixture SIDs: VE/VL + 32 hex digits ending in the fixture's number.
std::string Ve(const char* tail) {
  return "VE0000000000000000000000000005e0" + std::string(tail);
}
std::string Vl(const char* tail) {
  return "VL0000000000000000000000000007a0" + std::string(tail);
}

// --- Bodies that normalize (to any number of events) ----------------------

struct ExpectedEvent {
  std::string ce_id;  // the CloudEvent id; the dedupe key is derived
  std::string verification_id;
  std::string message_id;
  Channel channel;
  DeliveryStatus status;
  std::string raw_status;
  std::string error_code;
  std::optional<int64_t> latency_ms;
  std::string recipient;
  std::string country;
};

struct ValidCase {
  std::string file;
  std::vector<ExpectedEvent> events;
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

constexpr auto kSms = Channel::kSms;
constexpr auto kWhatsapp = Channel::kWhatsapp;
constexpr auto kVoice = Channel::kVoice;
constexpr auto kOther = Channel::kOther;
constexpr std::optional<int64_t> kNoLatency;

const std::vector<ValidCase>& ValidCases() {
  static const std::vector<ValidCase> kCases = {
      {"message_delivered_sms.json",
       {{"c9c7b38103160b833c81b5aa4686f42599d1c1b08120d17732087d3066a5c6ae",
         Ve("01"), Vl("01"), kSms, DeliveryStatus::kDelivered, "DELIVERED", "",
         3250, "+447700900123", "GB"}}},
      {"message_failed_30008.json",
       {{"a8f595298aea9c56bfff7c7f9c7b272a007d21b5df3ef4e4493e90d2faac17af",
         Ve("02"), Vl("02"), kSms, DeliveryStatus::kFailed, "FAILED", "30008",
         kNoLatency, "+12025550143", "US"}}},
      {"message_undelivered_whatsapp.json",
       {{"fd0434f423c946d5ee5f533ac64964f124dc63070e4d3418b5dc629e437e524c",
         Ve("03"), Vl("03"), kWhatsapp, DeliveryStatus::kUndelivered,
         "UNDELIVERED", "63024", kNoLatency, "+447700900124", "GB"}}},
      {"message_read_whatsapp.json",
       {{"40f495c9a4620d41f5c10504945fa530eaa020c6ba60b4e6a9e01f6a88a902dd",
         Ve("04"), Vl("04"), kWhatsapp, DeliveryStatus::kRead, "READ", "",
         kNoLatency, "+447700900125", "GB"}}},
      {"message_sent_call.json",
       {{"3b02eaa4d4fdd1d838c9e3d86b643176c9aee46583600939fc2b79d69e88820d",
         Ve("05"), Vl("05"), kVoice, DeliveryStatus::kSent, "SENT", "",
         kNoLatency, "+447700900126", "GB"}}},
      {"attempt_dlr_delivered_voice.json",
       {{"3b228bd4a6f8ab0af243d8bb680e0eb0183bfae56da187d92636dc5ba345e7e5",
         Ve("06"), Vl("06"), kVoice, DeliveryStatus::kDelivered, "DELIVERED",
         "", 20000, "+447700900127", "GB"}}},
      {"verification_pending.json",
       {{"bd464d69d108b9d6668762b6f4164910c4bcbcd6a83d090fd9c8c7085105ce61",
         Ve("07"), "", kSms, DeliveryStatus::kSent, "PENDING", "", kNoLatency,
         "+447700900128", "GB"}}},
      // SMS, then the WhatsApp fallback: the last attempt's channel.
      {"verification_approved_fallback.json",
       {{"d6096a70ed290ad6fb811d37ee9947b02013400d6d8af27363b3e9bb854d0c71",
         Ve("08"), "", kWhatsapp, DeliveryStatus::kVerified, "APPROVED", "",
         kNoLatency, "+447700900129", "GB"}}},
      {"verification_expired.json",
       {{"531f488ceba1440740fe0ab359a74122c76cfc42986afd0c9e6a6115c54a8828",
         Ve("09"), "", kSms, DeliveryStatus::kExpired, "EXPIRED", "",
         kNoLatency, "+12025550144", "US"}}},
      {"verification_canceled.json",
       {{"6e9ddb501404d935e05eff18688fe728e9d27a85e9af2fc8e6702157404fec32",
         Ve("0a"), "", kVoice, DeliveryStatus::kRejected, "CANCELED", "",
         kNoLatency, "+447700900130", "GB"}}},
      {"verification_max_attempts.json",
       {{"1f8f536b6a19c20740a39f8f118f948c618ce19d847adda4a14fbc776f291ce3",
         Ve("0b"), "", kVoice, DeliveryStatus::kFailed, "MAX_ATTEMPTS_REACHED",
         "", kNoLatency, "+447700900131", "GB"}}},
      // pending, message sent, a Messaging event (skipped), message
      // delivered, approved: four events, in body order.
      {"batch_mixed.json",
       {{"90804ac4da129d358310c0ba6f6dd806e2c28153517e284bba02a01d36e56b31",
         Ve("0c"), "", kSms, DeliveryStatus::kSent, "PENDING", "", kNoLatency,
         "+447700900132", "GB"},
        {"af4a9c922fdf671e248b7f71a1f6bbfba8787cead65f0293e2886efcceef30d3",
         Ve("0c"), Vl("0c"), kSms, DeliveryStatus::kSent, "SENT", "",
         kNoLatency, "+447700900132", "GB"},
        {"00f801443224b75b768c4c6b47010824375781bc992f082ec26b98136495e3cc",
         Ve("0c"), Vl("0c"), kSms, DeliveryStatus::kDelivered, "DELIVERED", "",
         4500, "+447700900132", "GB"},
        {"8cf8671c7b462332028200cfbcdf235efb29a47d12e1d47db1aefaa5e3a1643e",
         Ve("0c"), "", kSms, DeliveryStatus::kVerified, "APPROVED", "",
         kNoLatency, "+447700900132", "GB"}}},
      {"empty_array.json", {}},
      // The sink's test event, a Voice event without data, a bare family
      // name and an unknown Verify family: no events, no error.
      {"unknown_types_skipped.json", {}},
      // A sink created with "batch_events": false posts one object.
      {"single_object_unbatched.json",
       {{"be6ac1fa28a530cea07e65a8c47013539a7f3900ab12272046af549d899def35",
         Ve("0d"), Vl("0d"), kSms, DeliveryStatus::kDelivered, "DELIVERED", "",
         2000, "+447700900133", "GB"}}},
      {"email_channel.json",
       {{"453560711d9884336280b7d9a3a0104ba8d8eba016c35e0e8c3b83fb5eea1cba",
         Ve("0e"), Vl("0e"), kOther, DeliveryStatus::kDelivered, "DELIVERED",
         "", 9000, "", ""}}},
      {"integer_error_code.json",
       {{"0aea25dba86b3d567f0d0eda90b396186889d7a1207af7cb3bb3ad4cddb255ed",
         Ve("0f"), Vl("0f"), kSms, DeliveryStatus::kUndelivered, "UNDELIVERED",
         "30003", kNoLatency, "+447700900134", "GB"}}},
      {"unknown_status.json",
       {{"034b88c82af53162771078db0fdb86320ec4d28ac0749bbbf2e7365ea16236cf",
         Ve("10"), Vl("10"), kOther, DeliveryStatus::kUnknown,
         "PARTIALLY_DELIVERED", "", kNoLatency, "+447700900135", "GB"}}},
      // Reported delivered before the attempt was created: no latency.
      {"clock_skew_no_latency.json",
       {{"59aafcc481f34613f3c3207abe92e7f1aa146b23116b7935ff30fc3d8e75b120",
         Ve("11"), Vl("11"), kSms, DeliveryStatus::kDelivered, "DELIVERED", "",
         kNoLatency, "+447700900136", "GB"}}},
      // As in Twilio's own message.failed example: the type decides.
      {"status_field_disagrees.json",
       {{"0e18d41ecf7cb8af8e77c8a755b90f7fe5f70bc133f149be3cb3475517bffc0f",
         Ve("12"), Vl("12"), kSms, DeliveryStatus::kFailed, "DELIVERED",
         "30005", kNoLatency, "+447700900137", "GB"}}},
      {"nulls_and_extras.json",
       {{"31bf46075b03294e1f295e113bcbc667b34c259d7799535a578d1d7bb68a54d8",
         Ve("13"), "", kWhatsapp, DeliveryStatus::kDelivered, "DELIVERED", "",
         kNoLatency, "+447700900138", "GB"}}},
      {"colon_in_id.json",
       {{"NO:1%", Ve("14"), Vl("14"), kSms, DeliveryStatus::kSent, "SENT", "",
         kNoLatency, "+447700900139", "GB"}}},
  };
  return kCases;
}

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"not_json.txt", "body: not valid JSON"},
    {"truncated.json", "body: not valid JSON"},
    {"string_body.json", "body: not a JSON array or object"},
    {"number_body.json", "body: not a JSON array or object"},
    {"element_not_object.json", "[1]: must be an object"},
    {"missing_id.json", "[0].id: missing"},
    {"empty_id.json", "[0].id: must not be empty"},
    {"missing_type.json", "[1].type: missing"},
    {"type_not_string.json", "[0].type: must be a string"},
    {"missing_data.json", "[0].data: missing"},
    {"data_not_object.json", "[0].data: must be an object"},
    // Two good elements first: the whole batch is still rejected.
    {"missing_verification_sid.json", "[2].data.verification_sid: missing"},
    {"verification_sid_number.json",
     "[0].data.verification_sid: must be a string"},
    {"to_not_string.json", "[0].data.to: must be a string"},
    {"single_object_missing_verification_sid.json",
     "data.verification_sid: missing"},
};

// The events of `c`, keyed by their CloudEvent ids.
std::vector<testutil::EventFields> Want(const ValidCase& c) {
  std::vector<testutil::EventFields> events;
  for (const ExpectedEvent& x : c.events) {
    events.push_back({.verification_id = x.verification_id,
                      .message_id = x.message_id,
                      .channel = x.channel,
                      .status = x.status,
                      .raw_status = x.raw_status,
                      .error_code = x.error_code,
                      .latency_ms = x.latency_ms,
                      .recipient = x.recipient,
                      .country = x.country,
                      .dedupe_key = JoinKeyParts({x.ce_id})});
  }
  return events;
}

TEST(TwilioVerifyFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(ValidCases().size(), 22u);
  EXPECT_EQ(std::size(kInvalidCases), 16u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 38u, ValidCases(),
                                        kInvalidCases);
}

class TwilioVerifyValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(TwilioVerifyValidTest, NormalizesEveryEvent) {
  testutil::ExpectValidFixture(TwilioVerifyEventsNormalizer(), kFormat,
                               GetParam().file, Want(GetParam()));
}

TEST_P(TwilioVerifyValidTest, SignatureEventIdPrefixesEveryKey) {
  const ValidCase& c = GetParam();
  testutil::ExpectValidFixtureWithEventId(
      TwilioVerifyEventsNormalizer(), kFormat, c.file, Want(c),
      [&c](size_t i, const std::string& key) {
        EXPECT_EQ(key, JoinKeyParts({kEventId, c.events[i].ce_id}));
      });
}

TEST_P(TwilioVerifyValidTest, KeysAreStableAcrossIdenticalBodies) {
  testutil::ExpectStableDedupeKeys(TwilioVerifyEventsNormalizer(),
                                   HookFor(GetParam().file), Context());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TwilioVerifyValidTest,
                         testing::ValuesIn(ValidCases()),
                         testutil::FixtureParamName());

class TwilioVerifyInvalidTest : public testing::TestWithParam<InvalidCase> {};

// The rejected fixtures carry +44 7700 900xxx numbers, some of them where the
// error points; no message may echo one. Element indices are the only digits
// allowed.
void ExpectNoNumberButIndices(const std::string& message) {
  EXPECT_EQ(message.find("7700"), std::string::npos) << message;
  int run = 0;
  for (char ch : message) {
    run = (ch >= '0' && ch <= '9') ? run + 1 : 0;
    EXPECT_LT(run, 3) << message;
  }
}

TEST_P(TwilioVerifyInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(TwilioVerifyEventsNormalizer(), kFormat,
                                 GetParam(), ExpectNoNumberButIndices);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TwilioVerifyInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Every documented type, status and channel ----------------------------

// One CloudEvent of `type` whose data has `data_extra` merged in. No status
// member, so raw_status falls back to the type's last segment.
json Event(const std::string& id, const std::string& type,
           const json& data_extra = json::object()) {
  json data = {{"verification_sid", "VE00000000000000000000000000000001"},
               {"attempt_sid", "VL00000000000000000000000000000001"},
               {"to", "+447700900150"}};
  data.update(data_extra);
  return {{"specversion", "1.0"},
          {"type", type},
          {"source", "s"},
          {"id", id},
          {"data", data}};
}

Result<Normalized> NormalizeJson(const json& body) {
  return TwilioVerifyEventsNormalizer().Normalize(HookWithBody(body.dump()),
                                                  Context());
}

TEST(TwilioVerifyEventsNormalizerTest, MapsEveryDocumentedType) {
  const struct {
    const char* type;
    DeliveryStatus status;
    const char* raw;
  } kCases[] = {
      {"com.twilio.accountsecurity.verify.message.sent", DeliveryStatus::kSent,
       "sent"},
      {"com.twilio.accountsecurity.verify.message.delivered",
       DeliveryStatus::kDelivered, "delivered"},
      {"com.twilio.accountsecurity.verify.message.read", DeliveryStatus::kRead,
       "read"},
      {"com.twilio.accountsecurity.verify.message.undelivered",
       DeliveryStatus::kUndelivered, "undelivered"},
      {"com.twilio.accountsecurity.verify.message.failed",
       DeliveryStatus::kFailed, "failed"},
      // The Messaging vocabulary, should Verify ever emit it.
      {"com.twilio.accountsecurity.verify.message.queued",
       DeliveryStatus::kQueued, "queued"},
      {"com.twilio.accountsecurity.verify.message.accepted",
       DeliveryStatus::kQueued, "accepted"},
      {"com.twilio.accountsecurity.verify.message.scheduled",
       DeliveryStatus::kQueued, "scheduled"},
      {"com.twilio.accountsecurity.verify.message.sending",
       DeliveryStatus::kQueued, "sending"},
      {"com.twilio.accountsecurity.verify.message.canceled",
       DeliveryStatus::kRejected, "canceled"},
      {"com.twilio.accountsecurity.verify.message.partially_delivered",
       DeliveryStatus::kUnknown, "partially_delivered"},
      {"com.twilio.accountsecurity.verify.message.Delivered",
       DeliveryStatus::kDelivered, "Delivered"},
      {"com.twilio.accountsecurity.verify.attempt-dlr.sent",
       DeliveryStatus::kSent, "sent"},
      {"com.twilio.accountsecurity.verify.attempt-dlr.delivered",
       DeliveryStatus::kDelivered, "delivered"},
      {"com.twilio.accountsecurity.verify.attempt-dlr.undelivered",
       DeliveryStatus::kUndelivered, "undelivered"},
      {"com.twilio.accountsecurity.verify.attempt-dlr.failed",
       DeliveryStatus::kFailed, "failed"},
      {"com.twilio.accountsecurity.verify.verification.pending",
       DeliveryStatus::kSent, "pending"},
      {"com.twilio.accountsecurity.verify.verification.approved",
       DeliveryStatus::kVerified, "approved"},
      {"com.twilio.accountsecurity.verify.verification.canceled",
       DeliveryStatus::kRejected, "canceled"},
      {"com.twilio.accountsecurity.verify.verification.expired",
       DeliveryStatus::kExpired, "expired"},
      {"com.twilio.accountsecurity.verify.verification.max-attempts-reached",
       DeliveryStatus::kFailed, "max-attempts-reached"},
      {"com.twilio.accountsecurity.verify.verification.deleted",
       DeliveryStatus::kUnknown, "deleted"},
      // A message status is not a verification status and vice versa.
      {"com.twilio.accountsecurity.verify.verification.delivered",
       DeliveryStatus::kUnknown, "delivered"},
      {"com.twilio.accountsecurity.verify.message.approved",
       DeliveryStatus::kUnknown, "approved"},
  };
  for (const auto& c : kCases) {
    Result<Normalized> r = NormalizeJson(json::array({Event("NO1", c.type)}));
    ASSERT_TRUE(r.ok()) << c.type << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u) << c.type;
    EXPECT_EQ(r.value().events[0].status, c.status)
        << c.type << " -> " << ToString(r.value().events[0].status);
    EXPECT_EQ(r.value().events[0].raw_status, c.raw) << c.type;
  }
}

TEST(TwilioVerifyEventsNormalizerTest, SkipsTypesOfOtherProducts) {
  for (const char* type : {
           "com.twilio.messaging.message.delivered",
           "com.twilio.eventstreams.test-event",
           "com.twilio.accountsecurity.verify.message",
           "com.twilio.accountsecurity.verify.message.",
           "com.twilio.accountsecurity.verify.message.delivered.v2",
           "com.twilio.accountsecurity.verify.other.delivered",
           "COM.TWILIO.ACCOUNTSECURITY.VERIFY.MESSAGE.DELIVERED",
           "x.com.twilio.accountsecurity.verify.message.delivered",
       }) {
    // Without data: a skipped element needs only id and type.
    json element = {{"id", "NO1"}, {"type", type}};
    Result<Normalized> r = NormalizeJson(json::array({element}));
    ASSERT_TRUE(r.ok()) << type << ": " << r.status().message();
    EXPECT_TRUE(r.value().events.empty()) << type;
  }
}

TEST(TwilioVerifyEventsNormalizerTest, MapsEveryChannel) {
  const struct {
    json channel;
    Channel want;
  } kCases[] = {
      {"SMS", Channel::kSms},           {"sms", Channel::kSms},
      {"WHATSAPP", Channel::kWhatsapp}, {"whatsapp", Channel::kWhatsapp},
      {"CALL", Channel::kVoice},        {"call", Channel::kVoice},
      {"VOICE", Channel::kVoice},       {"EMAIL", Channel::kOther},
      {"SNA", Channel::kOther},         {"RCS", Channel::kOther},
      {"AUTO", Channel::kOther},        {"", Channel::kOther},
      {nullptr, Channel::kOther},
  };
  for (const auto& c : kCases) {
    json body = json::array(
        {Event("NO1", "com.twilio.accountsecurity.verify.message.sent",
               {{"channel", c.channel}})});
    Result<Normalized> r = NormalizeJson(body);
    ASSERT_TRUE(r.ok()) << c.channel << ": " << r.status().message();
    EXPECT_EQ(r.value().events[0].channel, c.want)
        << c.channel << " -> " << ToString(r.value().events[0].channel);
  }
}

TEST(TwilioVerifyEventsNormalizerTest, VerificationChannelFromLastAttempt) {
  const std::string type =
      "com.twilio.accountsecurity.verify.verification.approved";
  const struct {
    json data;
    Channel want;
  } kCases[] = {
      {{{"send_code_attempts",
         {{"attempts", {{{"channel", "SMS"}}, {{"channel", "CALL"}}}}}}},
       Channel::kVoice},
      // data.channel, when present, wins.
      {{{"channel", "WHATSAPP"},
        {"send_code_attempts", {{"attempts", {{{"channel", "SMS"}}}}}}},
       Channel::kWhatsapp},
      // Malformed or empty attempt lists only lose the channel.
      {{{"send_code_attempts", {{"attempts", json::array()}}}},
       Channel::kOther},
      {{{"send_code_attempts", {{"attempts", "SMS"}}}}, Channel::kOther},
      {{{"send_code_attempts", {{"attempts", {{{"channel", 1}}}}}}},
       Channel::kOther},
      {{{"send_code_attempts", {{"attempts", {"SMS"}}}}}, Channel::kOther},
      {{{"send_code_attempts", "SMS"}}, Channel::kOther},
      {json::object(), Channel::kOther},
  };
  for (const auto& c : kCases) {
    Result<Normalized> r =
        NormalizeJson(json::array({Event("NO1", type, c.data)}));
    ASSERT_TRUE(r.ok()) << c.data << ": " << r.status().message();
    EXPECT_EQ(r.value().events[0].channel, c.want) << c.data;
  }
  // Message events never look at send_code_attempts.
  Result<Normalized> r = NormalizeJson(json::array({Event(
      "NO1", "com.twilio.accountsecurity.verify.message.sent",
      {{"send_code_attempts", {{"attempts", {{{"channel", "SMS"}}}}}}})}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value().events[0].channel, Channel::kOther);
}

TEST(TwilioVerifyEventsNormalizerTest, LatencyOnlyForDeliveryReports) {
  const json times = {{"created_at", "2025-01-01T10:00:00.000Z"}};
  const struct {
    std::string type;
    json time;
    std::optional<int64_t> want;
  } kCases[] = {
      {"com.twilio.accountsecurity.verify.message.delivered",
       "2025-01-01T10:00:01.500Z", 1500},
      {"com.twilio.accountsecurity.verify.attempt-dlr.delivered",
       "2025-01-01T10:00:00Z", 0},
      {"com.twilio.accountsecurity.verify.message.delivered", "yesterday",
       std::nullopt},
      {"com.twilio.accountsecurity.verify.message.delivered", nullptr,
       std::nullopt},
      {"com.twilio.accountsecurity.verify.message.read",
       "2025-01-01T10:00:01.500Z", std::nullopt},
      {"com.twilio.accountsecurity.verify.message.failed",
       "2025-01-01T10:00:01.500Z", std::nullopt},
      {"com.twilio.accountsecurity.verify.verification.approved",
       "2025-01-01T10:00:01.500Z", std::nullopt},
  };
  for (const auto& c : kCases) {
    json element = Event("NO1", c.type, times);
    element["time"] = c.time;
    Result<Normalized> r = NormalizeJson(json::array({element}));
    ASSERT_TRUE(r.ok()) << c.type << ": " << r.status().message();
    EXPECT_EQ(r.value().events[0].latency_ms, c.want)
        << c.type << " " << c.time;
  }
  // Without created_at there is nothing to subtract.
  json element =
      Event("NO1", "com.twilio.accountsecurity.verify.message.delivered");
  element["time"] = "2025-01-01T10:00:01.500Z";
  Result<Normalized> r = NormalizeJson(json::array({element}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value().events[0].latency_ms, std::nullopt);
}

TEST(TwilioVerifyEventsNormalizerTest, OptionalFieldsMustHaveTheirType) {
  const std::string type = "com.twilio.accountsecurity.verify.message.failed";
  const struct {
    json data;
    const char* error;
  } kCases[] = {
      {{{"attempt_sid", 7}}, "[0].data.attempt_sid: must be a string"},
      {{{"message_status", true}}, "[0].data.message_status: must be a string"},
      {{{"channel", {"SMS"}}}, "[0].data.channel: must be a string"},
      {{{"created_at", 1}}, "[0].data.created_at: must be a string"},
      {{{"error_code", 1.5}},
       "[0].data.error_code: must be a string or integer"},
      {{{"verification_sid", ""}},
       "[0].data.verification_sid: must not be empty"},
  };
  for (const auto& c : kCases) {
    Result<Normalized> r =
        NormalizeJson(json::array({Event("NO1", type, c.data)}));
    ASSERT_FALSE(r.ok()) << c.data;
    EXPECT_EQ(r.status().message(), c.error);
  }
  json element = Event("NO1", type);
  element["time"] = 1735725600;
  Result<Normalized> r = NormalizeJson(json::array({element}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "[0].time: must be a string");
  // Each family reads its own status member only.
  r = NormalizeJson(json::array(
      {Event("NO1", type, {{"dlr_status", 1}, {"verification_status", 2}})}));
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST(TwilioVerifyEventsNormalizerTest, DedupeKeysAreDistinctAcrossFixtures) {
  std::set<std::string> keys;
  size_t total = 0;
  for (const ValidCase& c : ValidCases()) {
    Result<Normalized> r =
        TwilioVerifyEventsNormalizer().Normalize(HookFor(c.file), Context());
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.status().message();
    for (const DeliveryEvent& e : r.value().events) {
      EXPECT_FALSE(e.dedupe_key.empty()) << c.file;
      keys.insert(e.dedupe_key);
      ++total;
    }
  }
  EXPECT_EQ(total, 23u);
  EXPECT_EQ(keys.size(), total);
}

TEST(TwilioVerifyEventsNormalizerTest, AcceptsJsonAndCloudEventsMediaTypes) {
  testutil::ExpectContentTypes(
      TwilioVerifyEventsNormalizer(),
      {"application/json", "application/json; charset=utf-8",
       " Application/JSON ;charset=UTF-8", "application/cloudevents-batch+json",
       "application/cloudevents-batch+json; charset=utf-8",
       "application/cloudevents+json"},
      {"", "application/x-www-form-urlencoded", "text/plain",
       "application/jsonx"});
}

TEST(TwilioVerifyEventsNormalizerTest, ProviderName) {
  EXPECT_EQ(TwilioVerifyEventsNormalizer().provider(), "twilio");
}

TEST(TwilioVerifyEventsNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(TwilioVerifyEventsNormalizer(),
                                    HookFor("batch_mixed.json"), Context());
}

TEST(TwilioVerifyFactoryTest, MakesTwilioVerifyEvents) {
  testutil::ExpectFactoryMakes<TwilioVerifyEventsNormalizer>(
      "twilio-verify-events", "twilio");
}

}  // namespace
}  // namespace dlrd
