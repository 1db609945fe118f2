#include "core/providers/vonage/vonage_verify_normalizer.h"

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

using testutil::kEventId;

constexpr testutil::FixtureFormat kFormat{.dir = "vonage_verify",
                                          .source = "vonage-verify-prod",
                                          .provider = "vonage"};

InboundWebhook HookWithBody(std::string body) {
  return kFormat.HookWithBody(std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

// --- Bodies that normalize to events --------------------------------------

struct ExpectedEvent {
  Channel channel;
  DeliveryStatus status;
  std::string raw_status;
  std::optional<int64_t> latency_ms;
  std::string dedupe_key;  // without a signature event id
};

struct ValidCase {
  const char* file;
  const char* request_id;
  std::vector<ExpectedEvent> events;  // in body order
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

constexpr auto kNone = std::nullopt;
constexpr Channel kSms = Channel::kSms;
constexpr Channel kWhatsapp = Channel::kWhatsapp;
constexpr Channel kVoice = Channel::kVoice;
constexpr Channel kOther = Channel::kOther;

const ValidCase kValidCases[] = {
    // --- type "event"
    {"event_completed_java_sdk.json",
     "c11236f4-00bf-4b89-84ba-88b25df97315",
     {{kWhatsapp, DeliveryStatus::kVerified, "completed", 3599969,
       "c11236f4-00bf-4b89-84ba-88b25df97315:event:whatsapp_interactive:"
       "completed"}}},
    {"event_silent_auth_java_sdk.json",
     "c15236f4-00bf-4b89-84ba-88b25df97315",
     {{kOther, DeliveryStatus::kSent, "action_pending", kNone,
       "c15236f4-00bf-4b89-84ba-88b25df97315:event:silent_auth:"
       "action_pending"}}},
    {"event_completed_sms.json",
     "d0000001-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kVerified, "completed", 42500,
       "d0000001-00bf-4b89-84ba-88b25df97315:event:sms:completed"}}},
    {"event_failed_voice.json",
     "d0000002-00bf-4b89-84ba-88b25df97315",
     {{kVoice, DeliveryStatus::kFailed, "failed", 90000,
       "d0000002-00bf-4b89-84ba-88b25df97315:event:voice:failed"}}},
    {"event_user_rejected_whatsapp.json",
     "d0000003-00bf-4b89-84ba-88b25df97315",
     {{kWhatsapp, DeliveryStatus::kRejected, "user_rejected", 5250,
       "d0000003-00bf-4b89-84ba-88b25df97315:event:whatsapp:user_rejected"}}},
    {"event_rejected_sms.json",
     "d0000004-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kRejected, "rejected", 0,
       "d0000004-00bf-4b89-84ba-88b25df97315:event:sms:rejected"}}},
    {"event_blocked_sms.json",
     "d0000005-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kRejected, "blocked", kNone,
       "d0000005-00bf-4b89-84ba-88b25df97315:event:sms:blocked"}}},
    {"event_expired_email.json",
     "d0000006-00bf-4b89-84ba-88b25df97315",
     {{kOther, DeliveryStatus::kExpired, "expired", 300000,
       "d0000006-00bf-4b89-84ba-88b25df97315:event:email:expired"}}},
    // finalized_at carries a +01:00 offset.
    {"event_completed_rcs.json",
     "d0000007-00bf-4b89-84ba-88b25df97315",
     {{kOther, DeliveryStatus::kVerified, "completed", 30000,
       "d0000007-00bf-4b89-84ba-88b25df97315:event:rcs:completed"}}},
    {"event_unknown_status.json",
     "d0000008-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kUnknown, "in_progress", kNone,
       "d0000008-00bf-4b89-84ba-88b25df97315:event:sms:in_progress"}}},
    {"event_negative_latency.json",
     "d0000009-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kVerified, "completed", kNone,
       "d0000009-00bf-4b89-84ba-88b25df97315:event:sms:completed"}}},
    {"event_unparsable_time.json",
     "d0000010-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kVerified, "completed", kNone,
       "d0000010-00bf-4b89-84ba-88b25df97315:event:sms:completed"}}},
    {"event_triggerd_at_spelling.json",
     "d0000011-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kVerified, "completed", 10000,
       "d0000011-00bf-4b89-84ba-88b25df97315:event:sms:completed"}}},
    {"event_no_channel.json",
     "d0000012-00bf-4b89-84ba-88b25df97315",
     {{kOther, DeliveryStatus::kVerified, "completed", 42500,
       "d0000012-00bf-4b89-84ba-88b25df97315:event::completed"}}},
    {"event_uppercase.json",
     "d0000013-00bf-4b89-84ba-88b25df97315",
     {{kSms, DeliveryStatus::kVerified, "COMPLETED", 42500,
       "d0000013-00bf-4b89-84ba-88b25df97315:event:SMS:COMPLETED"}}},
    {"event_colon_in_request_id.json",
     "req:1%",
     {{kSms, DeliveryStatus::kFailed, "failed", 42500,
       "req%3A1%25:event:sms:failed"}}},
    // --- type "summary"
    {"summary_java_sdk.json",
     "c11236f4-00bf-4b89-84ba-88b25df97325",
     {{kSms, DeliveryStatus::kExpired, "expired", kNone,
       "c11236f4-00bf-4b89-84ba-88b25df97325:event:sms:expired"},
      {kWhatsapp, DeliveryStatus::kVerified, "completed", kNone,
       "c11236f4-00bf-4b89-84ba-88b25df97325:event:whatsapp:completed"},
      {kWhatsapp, DeliveryStatus::kRejected, "user_rejected", kNone,
       "c11236f4-00bf-4b89-84ba-88b25df97325:event:whatsapp_interactive:user_"
       "rejected"}}},
    {"summary_same_channel_twice.json",
     "e0000001-00bf-4b89-84ba-88b25df97325",
     {{kSms, DeliveryStatus::kFailed, "failed", kNone,
       "e0000001-00bf-4b89-84ba-88b25df97325:event:sms:failed"},
      {kSms, DeliveryStatus::kVerified, "completed", kNone,
       "e0000001-00bf-4b89-84ba-88b25df97325:event:sms:completed"}}},
    {"summary_all_unused.json",
     "e0000002-00bf-4b89-84ba-88b25df97325",
     {{kOther, DeliveryStatus::kFailed, "failed", kNone,
       "e0000002-00bf-4b89-84ba-88b25df97325:summary:failed"}}},
    {"summary_no_workflow.json",
     "e0000003-00bf-4b89-84ba-88b25df97325",
     {{kOther, DeliveryStatus::kExpired, "expired", kNone,
       "e0000003-00bf-4b89-84ba-88b25df97325:summary:expired"}}},
    {"summary_empty_workflow.json",
     "e0000004-00bf-4b89-84ba-88b25df97325",
     {{kOther, DeliveryStatus::kVerified, "completed", kNone,
       "e0000004-00bf-4b89-84ba-88b25df97325:summary:completed"}}},
    {"summary_unknown_step_status.json",
     "e0000005-00bf-4b89-84ba-88b25df97325",
     {{kOther, DeliveryStatus::kUnknown, "pending", kNone,
       "e0000005-00bf-4b89-84ba-88b25df97325:event:email:pending"},
      {kOther, DeliveryStatus::kExpired, "expired", kNone,
       "e0000005-00bf-4b89-84ba-88b25df97325:event:silent_auth:expired"}}},
};

// --- Callback types this format does not know: accepted, no event ---------

const char* const kIgnoredCases[] = {
    "unknown_type.json",
};

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"not_json.txt", "body: not valid JSON"},
    {"array_body.json", "body: not a JSON object"},
    {"missing_request_id.json", "request_id: missing"},
    {"request_id_number.json", "request_id: must be a string"},
    {"missing_type.json", "type: missing"},
    {"type_number.json", "type: must be a string"},
    {"missing_status_event.json", "status: missing"},
    {"missing_status_summary.json", "status: missing"},
    {"channel_number.json", "channel: must be a string"},
    {"finalized_at_number.json", "finalized_at: must be a string"},
    {"workflow_object.json", "workflow: must be an array"},
    {"workflow_step_string.json", "workflow[1]: must be an object"},
    {"workflow_step_missing_status.json", "workflow[2].status: missing"},
    {"workflow_step_channel_number.json",
     "workflow[0].channel: must be a string"},
};

// Verify v2 callbacks carry no phone number, no message id and no error code.
std::vector<testutil::EventFields> Want(const ValidCase& c) {
  std::vector<testutil::EventFields> events;
  for (const ExpectedEvent& x : c.events) {
    events.push_back({.verification_id = c.request_id,
                      .message_id = "",
                      .channel = x.channel,
                      .status = x.status,
                      .raw_status = x.raw_status,
                      .error_code = "",
                      .latency_ms = x.latency_ms,
                      .recipient = "",
                      .country = "",
                      .dedupe_key = x.dedupe_key});
  }
  return events;
}

TEST(VonageVerifyFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 22u);
  EXPECT_EQ(std::size(kIgnoredCases), 1u);
  EXPECT_EQ(std::size(kInvalidCases), 15u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 38u, kValidCases,
                                        kIgnoredCases, kInvalidCases);
}

class VonageVerifyValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(VonageVerifyValidTest, NormalizesEveryField) {
  testutil::ExpectValidFixture(VonageVerifyNormalizer(), kFormat,
                               GetParam().file, Want(GetParam()));
}

// A single event takes the signature event id as is; summary steps get
// their index appended so that they keep distinct keys.
TEST_P(VonageVerifyValidTest, SignatureEventIdIsTheDedupeKey) {
  testutil::ExpectValidFixtureWithEventId(
      VonageVerifyNormalizer(), kFormat, GetParam().file, Want(GetParam()),
      [](size_t, const std::string& key) {
        EXPECT_EQ(key.rfind(kEventId, 0), 0u) << key;
      });
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageVerifyValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class VonageVerifyIgnoredTest : public testing::TestWithParam<const char*> {};

TEST_P(VonageVerifyIgnoredTest, AcceptedWithoutEvents) {
  testutil::ExpectAcceptedWithoutEvents(VonageVerifyNormalizer(), kFormat,
                                        GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageVerifyIgnoredTest,
                         testing::ValuesIn(kIgnoredCases),
                         testutil::FixtureParamName());

class VonageVerifyInvalidTest : public testing::TestWithParam<InvalidCase> {};

// Values never appear, only field paths (array indexes are the only digits).
void ExpectNoValues(const std::string& message) {
  EXPECT_EQ(message.find("00bf"), std::string::npos) << message;
  EXPECT_EQ(message.find("2025"), std::string::npos) << message;
}

TEST_P(VonageVerifyInvalidTest, RejectsWithExactMessage) {
  testutil::ExpectInvalidFixture(VonageVerifyNormalizer(), kFormat, GetParam(),
                                 ExpectNoValues);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageVerifyInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Every documented status and channel ----------------------------------

std::string EventBody(std::string_view channel, std::string_view status) {
  return R"({"request_id":"aaaaaaaa-0000-4b89-84ba-88b25df97315",)"
         R"("type":"event","channel":")" +
         std::string(channel) + R"(","status":")" + std::string(status) +
         R"("})";
}

std::string StepBody(std::string_view channel, std::string_view status) {
  return R"({"request_id":"aaaaaaaa-0000-4b89-84ba-88b25df97325",)"
         R"("type":"summary","status":"completed","workflow":[)"
         R"({"channel":")" +
         std::string(channel) + R"(","status":")" + std::string(status) +
         R"("}]})";
}

TEST(VonageVerifyNormalizerTest, MapsEveryDocumentedEventStatus) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"completed", DeliveryStatus::kVerified},
      {"failed", DeliveryStatus::kFailed},
      {"user_rejected", DeliveryStatus::kRejected},
      {"rejected", DeliveryStatus::kRejected},
      {"blocked", DeliveryStatus::kRejected},
      {"expired", DeliveryStatus::kExpired},
      {"action_pending", DeliveryStatus::kSent},
      {"Completed", DeliveryStatus::kVerified},
      {"unused", DeliveryStatus::kUnknown},
      {"approved", DeliveryStatus::kUnknown},
  };
  VonageVerifyNormalizer n;
  for (const auto& c : kCases) {
    Result<Normalized> r =
        n.Normalize(HookWithBody(EventBody("sms", c.raw)), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u) << c.raw;
    EXPECT_EQ(r.value().events[0].status, c.status)
        << c.raw << " -> " << ToString(r.value().events[0].status);
    EXPECT_EQ(r.value().events[0].raw_status, c.raw);
  }
}

TEST(VonageVerifyNormalizerTest, MapsEveryDocumentedStepStatus) {
  const struct {
    const char* raw;
    std::optional<DeliveryStatus> status;  // nullopt: no step event
  } kCases[] = {
      {"completed", DeliveryStatus::kVerified},
      {"failed", DeliveryStatus::kFailed},
      {"expired", DeliveryStatus::kExpired},
      {"user_rejected", DeliveryStatus::kRejected},
      {"unused", std::nullopt},
      {"UNUSED", std::nullopt},
      {"pending", DeliveryStatus::kUnknown},
  };
  VonageVerifyNormalizer n;
  for (const auto& c : kCases) {
    Result<Normalized> r =
        n.Normalize(HookWithBody(StepBody("sms", c.raw)), Context());
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
    ASSERT_EQ(r.value().events.size(), 1u) << c.raw;
    const DeliveryEvent& e = r.value().events[0];
    if (c.status) {
      EXPECT_EQ(e.status, *c.status) << c.raw << " -> " << ToString(e.status);
      EXPECT_EQ(e.raw_status, c.raw);
      EXPECT_EQ(e.channel, Channel::kSms);
    } else {
      // The only step is unused: the overall status stands in.
      EXPECT_EQ(e.status, DeliveryStatus::kVerified);
      EXPECT_EQ(e.raw_status, "completed");
      EXPECT_EQ(e.channel, Channel::kOther);
    }
  }
}

TEST(VonageVerifyNormalizerTest, MapsEveryDocumentedChannel) {
  const struct {
    const char* raw;
    Channel channel;
  } kCases[] = {
      {"sms", Channel::kSms},
      {"whatsapp", Channel::kWhatsapp},
      {"whatsapp_interactive", Channel::kWhatsapp},
      {"voice", Channel::kVoice},
      {"email", Channel::kOther},
      {"silent_auth", Channel::kOther},
      {"rcs", Channel::kOther},
      {"Voice", Channel::kVoice},
      {"telegram", Channel::kOther},
  };
  VonageVerifyNormalizer n;
  for (const auto& c : kCases) {
    for (const std::string& body :
         {EventBody(c.raw, "completed"), StepBody(c.raw, "completed")}) {
      Result<Normalized> r = n.Normalize(HookWithBody(body), Context());
      ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
      ASSERT_EQ(r.value().events.size(), 1u);
      EXPECT_EQ(r.value().events[0].channel, c.channel) << c.raw;
    }
  }
}

TEST(VonageVerifyNormalizerTest, AcceptsJsonContentTypesOnly) {
  testutil::ExpectContentTypes(
      VonageVerifyNormalizer(),
      {"application/json", "application/json; charset=utf-8"},
      {"", "application/x-www-form-urlencoded", "text/plain"});
}

TEST(VonageVerifyNormalizerTest, ProviderName) {
  EXPECT_EQ(VonageVerifyNormalizer().provider(), "vonage");
}

TEST(VonageVerifyNormalizerTest, DedupeKeysStableAcrossRetries) {
  VonageVerifyNormalizer n;
  for (const ValidCase& c : kValidCases) {
    SCOPED_TRACE(c.file);
    testutil::ExpectStableDedupeKeys(n, HookFor(c.file), Context());
  }
}

// No two events of the fixtures share a key (their requests and outcomes all
// differ).
TEST(VonageVerifyNormalizerTest, DedupeKeysDifferAcrossAllEvents) {
  VonageVerifyNormalizer n;
  std::set<std::string> keys;
  size_t count = 0;
  for (const ValidCase& c : kValidCases) {
    Result<Normalized> r = n.Normalize(HookFor(c.file), Context());
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.status().message();
    for (const DeliveryEvent& e : r.value().events) {
      keys.insert(e.dedupe_key);
      ++count;
    }
  }
  EXPECT_EQ(count, 26u);
  EXPECT_EQ(keys.size(), count);
}

TEST(VonageVerifyNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(
      VonageVerifyNormalizer(), HookFor("event_completed_sms.json"), Context());
}

TEST(VonageVerifyFactoryTest, MakesVonageVerify) {
  testutil::ExpectFactoryMakes<VonageVerifyNormalizer>("vonage-verify",
                                                       "vonage");
}

}  // namespace
}  // namespace dlrd

namespace dlrd {
namespace {

// Vonage sends an event callback per outcome and then a summary repeating
// them: the summary's step for that outcome is a duplicate, not a second
// verified/failed event.
TEST(VonageVerifyNormalizerTest, SummaryStepSharesTheKeyOfItsEventCallback) {
  VonageVerifyNormalizer n;
  Result<Normalized> event = n.Normalize(
      HookWithBody(R"({"request_id":"r-1","type":"event","channel":"whatsapp",)"
                   R"("status":"completed"})"),
      Context());
  Result<Normalized> summary = n.Normalize(
      HookWithBody(R"({"request_id":"r-1","type":"summary",)"
                   R"("status":"completed","workflow":[)"
                   R"({"channel":"sms","status":"failed"},)"
                   R"({"channel":"whatsapp","status":"completed"}]})"),
      Context());
  ASSERT_TRUE(event.ok()) << event.status().message();
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  ASSERT_EQ(summary.value().events.size(), 2u);
  EXPECT_NE(summary.value().events[0].dedupe_key,
            event.value().events[0].dedupe_key);
  EXPECT_EQ(summary.value().events[1].dedupe_key,
            event.value().events[0].dedupe_key);
}

}  // namespace
}  // namespace dlrd
