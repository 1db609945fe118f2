#include "core/providers/sinch/sinch_sms_normalizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <regex>
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

constexpr testutil::FixtureFormat kFormat{
    .dir = "sinch_sms", .source = "sinch-sms", .provider = "sinch"};
constexpr char kSdkBatch[] = "01FC66621XXXXX119Z8PMV1QPQ";

InboundWebhook HookWithBody(std::string body) {
  return kFormat.HookWithBody(std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

// --- Bodies that normalize (to zero or more events) -----------------------

struct ExpectedEvent {
  Channel channel;
  DeliveryStatus status;
  std::string raw_status;
  std::string error_code;
  std::string recipient;
  std::string dedupe_key;  // without a signature event id
};

struct ValidCase {
  std::string file;
  std::string batch_id;
  bool single;  // a recipient report: a signature event id is its key
  std::vector<ExpectedEvent> events;
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

constexpr Channel kSms = Channel::kSms;
constexpr Channel kMms = Channel::kOther;
using S = DeliveryStatus;

const std::vector<ValidCase>& ValidCases() {
  static const std::vector<ValidCase> kCases = {
      // Recipient reports: one event each.
      {"recipient_dispatched.json",
       kSdkBatch,
       true,
       {{kSms, S::kSent, "Dispatched", "401", "+447700900123",
         "01FC66621XXXXX119Z8PMV1QPQ:+447700900123:Dispatched"}}},
      {"recipient_delivered.json",
       "01J06CY78GZ2F74YZNNH2VBWR6",
       true,
       {{kSms, S::kDelivered, "Delivered", "0", "+447700900124",
         "01J06CY78GZ2F74YZNNH2VBWR6:+447700900124:Delivered"}}},
      {"recipient_failed.json",
       "01J06CY78GZ2F74YZNNH2VBWR7",
       true,
       {{kSms, S::kFailed, "Failed", "2", "+447700900125",
         "01J06CY78GZ2F74YZNNH2VBWR7:+447700900125:Failed"}}},
      {"recipient_expired_no_code.json",
       "01J06CY78GZ2F74YZNNH2VBWR8",
       true,
       {{kSms, S::kExpired, "Expired", "", "+447700900126",
         "01J06CY78GZ2F74YZNNH2VBWR8:+447700900126:Expired"}}},
      {"recipient_queued.json",
       "01J06CY78GZ2F74YZNNH2VBWR9",
       true,
       {{kSms, S::kQueued, "Queued", "400", "+447700900127",
         "01J06CY78GZ2F74YZNNH2VBWR9:+447700900127:Queued"}}},
      {"recipient_aborted.json",
       "01J06CY78GZ2F74YZNNH2VBWRA",
       true,
       {{kSms, S::kRejected, "Aborted", "402", "+447700900128",
         "01J06CY78GZ2F74YZNNH2VBWRA:+447700900128:Aborted"}}},
      {"recipient_cancelled.json",
       "01J06CY78GZ2F74YZNNH2VBWRB",
       true,
       {{kSms, S::kRejected, "Cancelled", "407", "+447700900129",
         "01J06CY78GZ2F74YZNNH2VBWRB:+447700900129:Cancelled"}}},
      {"recipient_rejected.json",
       "01J06CY78GZ2F74YZNNH2VBWRC",
       true,
       {{kSms, S::kRejected, "Rejected", "408", "+447700900130",
         "01J06CY78GZ2F74YZNNH2VBWRC:+447700900130:Rejected"}}},
      {"recipient_deleted.json",
       "01J06CY78GZ2F74YZNNH2VBWRD",
       true,
       {{kSms, S::kRejected, "Deleted", "5", "+447700900131",
         "01J06CY78GZ2F74YZNNH2VBWRD:+447700900131:Deleted"}}},
      {"recipient_unknown.json",
       "01J06CY78GZ2F74YZNNH2VBWRE",
       true,
       {{kSms, S::kUnknown, "Unknown", "0", "+447700900132",
         "01J06CY78GZ2F74YZNNH2VBWRE:+447700900132:Unknown"}}},
      {"recipient_new_status.json",
       "01J06CY78GZ2F74YZNNH2VBWRF",
       true,
       {{kSms, S::kUnknown, "Scheduled", "400", "+447700900133",
         "01J06CY78GZ2F74YZNNH2VBWRF:+447700900133:Scheduled"}}},
      {"recipient_lowercase_status.json",
       "01J06CY78GZ2F74YZNNH2VBWRG",
       true,
       {{kSms, S::kDelivered, "delivered", "0", "+447700900134",
         "01J06CY78GZ2F74YZNNH2VBWRG:+447700900134:delivered"}}},
      {"recipient_code_string.json",
       "01J06CY78GZ2F74YZNNH2VBWRH",
       true,
       {{kSms, S::kSent, "Dispatched", "401", "+447700900135",
         "01J06CY78GZ2F74YZNNH2VBWRH:+447700900135:Dispatched"}}},
      {"recipient_without_plus.json",
       "01J06CY78GZ2F74YZNNH2VBWRJ",
       true,
       {{kSms, S::kDelivered, "Delivered", "0", "+447700900136",
         "01J06CY78GZ2F74YZNNH2VBWRJ:+447700900136:Delivered"}}},
      // Not a usable number: no recipient, the raw value keys the event.
      {"recipient_unusable.json",
       "01J06CY78GZ2F74YZNNH2VBWRK",
       true,
       {{kSms, S::kDelivered, "Delivered", "0", "",
         "01J06CY78GZ2F74YZNNH2VBWRK:12345:Delivered"}}},
      {"recipient_us.json",
       "01J06CY78GZ2F74YZNNH2VBWRM",
       true,
       {{kSms, S::kDelivered, "Delivered", "0", "+12025550143",
         "01J06CY78GZ2F74YZNNH2VBWRM:+12025550143:Delivered"}}},
      {"recipient_mms_delivered.json",
       "01J06CY78GZ2F74YZNNH2VBWRN",
       true,
       {{kMms, S::kDelivered, "Delivered", "0", "+447700900137",
         "01J06CY78GZ2F74YZNNH2VBWRN:+447700900137:Delivered"}}},
      {"recipient_extra_fields.json",
       "01J06CY78GZ2F74YZNNH2VBWRP",
       true,
       {{kSms, S::kDelivered, "Delivered", "0", "+447700900138",
         "01J06CY78GZ2F74YZNNH2VBWRP:+447700900138:Delivered"}}},
      {"colon_in_batch_id.json",
       "bt:1%",
       true,
       {{kSms, S::kDelivered, "Delivered", "0", "+447700900139",
         "bt%3A1%25:+447700900139:Delivered"}}},
      // Full batch reports: one event per (status, recipient).
      {"batch_full_sms.json",
       kSdkBatch,
       false,
       {{kSms, S::kDelivered, "Delivered", "0", "+447700900123",
         "01FC66621XXXXX119Z8PMV1QPQ:+447700900123:Delivered"}}},
      {"batch_full_mms.json",
       kSdkBatch,
       false,
       {{kMms, S::kDelivered, "Delivered", "0", "+447700900123",
         "01FC66621XXXXX119Z8PMV1QPQ:+447700900123:Delivered"}}},
      {"batch_full_multi.json",
       "01J0BATCHFULL0000000000001",
       false,
       {{kSms, S::kDelivered, "Delivered", "0", "+447700900140",
         "01J0BATCHFULL0000000000001:+447700900140:Delivered"},
        {kSms, S::kDelivered, "Delivered", "0", "+12025550144",
         "01J0BATCHFULL0000000000001:+12025550144:Delivered"},
        {kSms, S::kFailed, "Failed", "2", "+447700900141",
         "01J0BATCHFULL0000000000001:+447700900141:Failed"},
        {kSms, S::kRejected, "Aborted", "406", "+447700900142",
         "01J0BATCHFULL0000000000001:+447700900142:Aborted"}}},
      // Summary reports: one event per status entry, no recipient.
      {"batch_summary.json",
       "01J06CY78GZ2F74YZNNH2VBWR6",
       false,
       {{kSms, S::kRejected, "Aborted", "412", "",
         "01J06CY78GZ2F74YZNNH2VBWR6:summary:Aborted:412"}}},
      {"batch_summary_two_failed_codes.json",
       "01J0BATCHSUMMARY000000001",
       false,
       {{kSms, S::kDelivered, "Delivered", "0", "",
         "01J0BATCHSUMMARY000000001:summary:Delivered:0"},
        {kSms, S::kFailed, "Failed", "2", "",
         "01J0BATCHSUMMARY000000001:summary:Failed:2"},
        {kSms, S::kFailed, "Failed", "11", "",
         "01J0BATCHSUMMARY000000001:summary:Failed:11"}}},
      {"batch_empty_recipients.json",
       "01J0BATCHEMPTYRCPT0000001",
       false,
       {{kSms, S::kDelivered, "Delivered", "0", "",
         "01J0BATCHEMPTYRCPT0000001:summary:Delivered:0"}}},
      {"batch_empty_statuses.json", "01J0BATCHNOSTATUS00000001", false, {}},
      // Other callback types on the same URL: accepted, no event.
      {"inbound_mo_text.json", "", false, {}},
      {"unknown_type.json", "", false, {}},
  };
  return kCases;
}

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_body.txt", "body: empty"},
    {"not_json.txt", "body: not valid JSON"},
    {"array_body.json", "body: not a JSON object"},
    {"missing_type.json", "type: missing"},
    {"type_number.json", "type: must be a string"},
    {"missing_batch_id.json", "batch_id: missing"},
    {"empty_batch_id.json", "batch_id: must not be empty"},
    {"recipient_missing_status.json", "status: missing"},
    {"recipient_missing_recipient.json", "recipient: missing"},
    {"recipient_number_recipient.json", "recipient: must be a string"},
    {"recipient_code_float.json", "code: must be a string or integer"},
    {"batch_missing_statuses.json", "statuses: missing"},
    {"batch_statuses_object.json", "statuses: must be an array"},
    {"batch_entry_not_object.json", "statuses[1]: must be an object"},
    {"batch_entry_missing_status.json", "statuses[2].status: missing"},
    {"batch_recipients_string.json",
     "statuses[0].recipients: must be an array"},
    {"batch_recipient_number.json",
     "statuses[0].recipients[1]: must be a string"},
    {"batch_recipient_empty.json",
     "statuses[0].recipients[0]: must not be empty"},
    {"batch_code_bool.json", "statuses[0].code: must be a string or integer"},
};

std::vector<testutil::EventFields> Want(const ValidCase& c) {
  std::vector<testutil::EventFields> events;
  for (const ExpectedEvent& x : c.events) {
    events.push_back(
        {.verification_id = c.batch_id,
         .message_id = c.batch_id,
         .channel = x.channel,
         .status = x.status,
         .raw_status = x.raw_status,
         .error_code = x.error_code,
         .latency_ms = std::nullopt,
         .recipient = x.recipient,
         .country = std::string(testutil::FixtureCountry(x.recipient)),
         .dedupe_key = x.dedupe_key});
  }
  return events;
}

TEST(SinchSmsFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(ValidCases().size(), 28u);
  EXPECT_EQ(std::size(kInvalidCases), 19u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 47u, ValidCases(),
                                        kInvalidCases);
}

class SinchSmsValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(SinchSmsValidTest, NormalizesEveryField) {
  testutil::ExpectValidFixture(SinchSmsNormalizer(), kFormat, GetParam().file,
                               Want(GetParam()));
}

// A recipient report is one event, keyed by the signature event id; a batch
// keeps its per-(status, recipient) parts after the event id.
TEST_P(SinchSmsValidTest, SignatureEventIdHeadsTheDedupeKey) {
  const ValidCase& c = GetParam();
  testutil::ExpectValidFixtureWithEventId(
      SinchSmsNormalizer(), kFormat, c.file, Want(c),
      [&c](size_t i, const std::string& got) {
        if (c.single) {
          EXPECT_EQ(got, kEventId);
          return;
        }
        // Batch ids in the batch fixtures have no ':' or '%', so the key
        // starts with the batch id as is.
        const std::string& key = c.events[i].dedupe_key;
        ASSERT_EQ(key.rfind(c.batch_id + ":", 0), 0u) << key;
        EXPECT_EQ(got, kEventId + key.substr(c.batch_id.size()));
      });
}

TEST_P(SinchSmsValidTest, KeysAreUniqueWithinTheBodyAndStable) {
  const ValidCase& c = GetParam();
  for (const char* event_id : {"", kEventId}) {
    SCOPED_TRACE(testing::Message() << "event id \"" << event_id << "\"");
    Result<Normalized> r =
        SinchSmsNormalizer().Normalize(HookFor(c.file), Context(event_id));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(testutil::HaveDistinctDedupeKeys(r.value().events));
    testutil::ExpectStableDedupeKeys(SinchSmsNormalizer(), HookFor(c.file),
                                     Context(event_id));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SinchSmsValidTest,
                         testing::ValuesIn(ValidCases()),
                         testutil::FixtureParamName());

class SinchSmsInvalidTest : public testing::TestWithParam<InvalidCase> {};

// Every rejecting fixture that carries a number uses +44 7700 900xxx. Apart
// from element indices ("[2]"), no error message may contain a digit.
void ExpectNoNumberButIndices(const std::string& message) {
  EXPECT_EQ(message.find("7700"), std::string::npos) << message;
  const std::string no_index =
      std::regex_replace(message, std::regex(R"(\[[0-9]+\])"), "");
  EXPECT_TRUE(testutil::HasNoDigit(no_index)) << message;
}

TEST_P(SinchSmsInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(SinchSmsNormalizer(), kFormat, GetParam(),
                                 ExpectNoNumberButIndices);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SinchSmsInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Mapping and dedupe ---------------------------------------------------

std::string RecipientReport(std::string_view status, std::string_view type,
                            std::string_view recipient = "+447700900150") {
  nlohmann::json body = {{"type", type},
                         {"batch_id", "01J0MAPPING00000000000001"},
                         {"recipient", recipient},
                         {"code", 0},
                         {"status", status}};
  return body.dump();
}

TEST(SinchSmsNormalizerTest, MapsEveryDocumentedStatus) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"Queued", S::kQueued},       {"Dispatched", S::kSent},
      {"Delivered", S::kDelivered}, {"Failed", S::kFailed},
      {"Expired", S::kExpired},     {"Rejected", S::kRejected},
      {"Aborted", S::kRejected},    {"Cancelled", S::kRejected},
      {"Deleted", S::kRejected},    {"Unknown", S::kUnknown},
      {"DELIVERED", S::kDelivered}, {"Canceled", S::kUnknown},
      {"Undelivered", S::kUnknown}, {"Accepted", S::kUnknown},
  };
  for (const char* type :
       {"recipient_delivery_report_sms", "recipient_delivery_report_mms"}) {
    for (const auto& c : kCases) {
      Result<Normalized> r = SinchSmsNormalizer().Normalize(
          HookWithBody(RecipientReport(c.raw, type)), Context());
      ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
      ASSERT_EQ(r.value().events.size(), 1u);
      EXPECT_EQ(r.value().events[0].status, c.status)
          << c.raw << " -> " << ToString(r.value().events[0].status);
      EXPECT_EQ(r.value().events[0].raw_status, c.raw);
    }
  }
}

// per_recipient and full reports of the same fact key alike, so a batch
// whose delivery_report setting changed never double-counts a recipient.
TEST(SinchSmsNormalizerTest, SameFactKeysAlikeAcrossReportTypes) {
  nlohmann::json report = {{"type", "recipient_delivery_report_sms"},
                           {"batch_id", kSdkBatch},
                           {"recipient", "+447700900123"},
                           {"code", 0},
                           {"status", "Delivered"}};
  Result<Normalized> single =
      SinchSmsNormalizer().Normalize(HookWithBody(report.dump()), Context());
  Result<Normalized> batch =
      SinchSmsNormalizer().Normalize(HookFor("batch_full_sms.json"), Context());
  ASSERT_TRUE(single.ok() && batch.ok());
  EXPECT_EQ(single.value().events[0].dedupe_key,
            batch.value().events[0].dedupe_key);
}

TEST(SinchSmsNormalizerTest, StatusesOfOneRecipientKeyApart) {
  std::set<std::string> keys;
  for (const char* status : {"Queued", "Dispatched", "Delivered"}) {
    Result<Normalized> r = SinchSmsNormalizer().Normalize(
        HookWithBody(RecipientReport(status, "recipient_delivery_report_sms")),
        Context());
    ASSERT_TRUE(r.ok()) << r.status().message();
    keys.insert(r.value().events[0].dedupe_key);
  }
  EXPECT_EQ(keys.size(), 3u);
}

TEST(SinchSmsNormalizerTest, RecipientsOfOneBatchKeyApart) {
  std::set<std::string> keys;
  for (const char* recipient : {"+447700900150", "+447700900151"}) {
    Result<Normalized> r = SinchSmsNormalizer().Normalize(
        HookWithBody(RecipientReport(
            "Delivered", "recipient_delivery_report_sms", recipient)),
        Context());
    ASSERT_TRUE(r.ok()) << r.status().message();
    keys.insert(r.value().events[0].dedupe_key);
  }
  EXPECT_EQ(keys.size(), 2u);
}

// A summary entry and a full entry of one batch never share a key, even
// when a "recipient" looks like the summary marker.
TEST(SinchSmsNormalizerTest, SummaryKeysCannotCollideWithRecipientKeys) {
  nlohmann::json body = {{"type", "delivery_report_sms"},
                         {"batch_id", "01J0COLLIDE00000000000001"},
                         {"statuses",
                          {{{"code", 0}, {"count", 1}, {"status", "Delivered"}},
                           {{"code", 0},
                            {"count", 1},
                            {"status", "Delivered"},
                            {"recipients", {"summary"}}}}}};
  Result<Normalized> r =
      SinchSmsNormalizer().Normalize(HookWithBody(body.dump()), Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r.value().events.size(), 2u);
  EXPECT_NE(r.value().events[0].dedupe_key, r.value().events[1].dedupe_key);
}

// --- Content types, provider and the factory ------------------------------

TEST(SinchSmsNormalizerTest, AcceptsJsonContentTypesOnly) {
  testutil::ExpectContentTypes(
      SinchSmsNormalizer(),
      {"application/json", "application/json; charset=utf-8",
       " APPLICATION/JSON ;charset=UTF-8"},
      {"", "text/plain", "application/x-www-form-urlencoded"});
}

TEST(SinchSmsNormalizerTest, ProviderName) {
  EXPECT_EQ(SinchSmsNormalizer().provider(), "sinch");
}

TEST(SinchSmsNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(
      SinchSmsNormalizer(), HookFor("recipient_delivered.json"), Context());
}

TEST(SinchSmsFactoryTest, MakesSinchSms) {
  testutil::ExpectFactoryMakes<SinchSmsNormalizer>("sinch-sms", "sinch");
}

TEST(SinchSmsInboundTest, MoStopOptsTheSenderOut) {
  SinchSmsNormalizer n;
  Result<Normalized> r = n.Normalize(
      HookWithBody(R"({"type":"mo_text","id":"01F","from":"447700900001",)"
                   R"("to":"12345","body":"STOP","received_at":)"
                   R"("2024-01-01T00:00:00Z"})"),
      Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value().events.empty());
  ASSERT_EQ(r.value().opt_changes.size(), 1u);
  EXPECT_EQ(r.value().opt_changes[0].recipient, "+447700900001");
  EXPECT_EQ(r.value().opt_changes[0].reason, "sinch inbound STOP");
}

TEST(SinchSmsInboundTest, MoWithoutSenderIsRejected) {
  SinchSmsNormalizer n;
  Result<Normalized> r = n.Normalize(
      HookWithBody(R"({"type":"mo_text","body":"STOP"})"), Context());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "from: missing");
}

}  // namespace
}  // namespace dlrd
