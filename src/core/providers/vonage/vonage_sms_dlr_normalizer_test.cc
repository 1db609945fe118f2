#include "core/providers/vonage/vonage_sms_dlr_normalizer.h"

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

constexpr const char* kJson = testutil::kJsonType;
constexpr const char* kForm = testutil::kFormType;

// Fixtures ending in .txt are form bodies, the others JSON.
constexpr testutil::FixtureFormat kFormat{.dir = "vonage_sms_dlr",
                                          .source = "vonage-dlr-prod",
                                          .provider = "vonage",
                                          .form_suffix = ".txt"};

InboundWebhook HookWithBody(std::string body, std::string_view content_type) {
  return testutil::MakeHook(kFormat.source, content_type, std::move(body));
}

InboundWebhook HookFor(std::string_view file) { return kFormat.Hook(file); }

NormalizeContext Context(std::string event_id = "") {
  return kFormat.Context(std::move(event_id));
}

// --- Bodies that normalize to one event -----------------------------------

struct ValidCase {
  const char* file;
  const char* message_id;
  DeliveryStatus status;
  const char* raw_status;
  const char* error_code;
  const char* recipient;
  const char* dedupe_key;  // without a signature event id
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.file; }

const ValidCase kValidCases[] = {
    {"delivered_docs.json", "0B00000127FDBC63", DeliveryStatus::kDelivered,
     "delivered", "", "+447700900000", "0B00000127FDBC63:delivered:0"},
    {"accepted_docs.json", "0B00000127FDBC63", DeliveryStatus::kSent,
     "accepted", "", "+447700900000", "0B00000127FDBC63:accepted:0"},
    {"failed_absent_subscriber.json", "0B00000127FDBC70",
     DeliveryStatus::kFailed, "failed", "2", "+447700900123",
     "0B00000127FDBC70:failed:2"},
    {"rejected_anti_spam.json", "0B00000127FDBC71", DeliveryStatus::kRejected,
     "rejected", "6", "+447700900123", "0B00000127FDBC71:rejected:6"},
    {"unknown_status.json", "0B00000127FDBC72", DeliveryStatus::kUnknown,
     "unknown", "1", "+447700900123", "0B00000127FDBC72:unknown:1"},
    {"undocumented_status.json", "0B00000127FDBC73", DeliveryStatus::kUnknown,
     "deleted", "1", "+447700900123", "0B00000127FDBC73:deleted:1"},
    {"us_recipient.json", "0B00000127FDBC74", DeliveryStatus::kDelivered,
     "delivered", "", "+12025550143", "0B00000127FDBC74:delivered:0"},
    {"integer_fields.json", "0B00000127FDBC75", DeliveryStatus::kDelivered,
     "delivered", "", "+447700900124", "0B00000127FDBC75:delivered:0"},
    {"no_msisdn_no_err_code.json", "0B00000127FDBC76",
     DeliveryStatus::kDelivered, "delivered", "", "",
     "0B00000127FDBC76:delivered:"},
    {"uppercase_status.json", "0B00000127FDBC77", DeliveryStatus::kDelivered,
     "DELIVERED", "", "+447700900123", "0B00000127FDBC77:DELIVERED:0"},
    {"colon_in_message_id.json", "0B:1%", DeliveryStatus::kDelivered,
     "delivered", "", "+447700900123", "0B%3A1%25:delivered:0"},
    {"signed_json.json", "0B00000127FDBC78", DeliveryStatus::kExpired,
     "expired", "5", "+447700900123", "0B00000127FDBC78:expired:5"},
    {"null_optionals.json", "0B00000127FDBC79", DeliveryStatus::kSent,
     "buffered", "", "", "0B00000127FDBC79:buffered:"},
    {"delivered_form.txt", "0B00000127FDBC80", DeliveryStatus::kDelivered,
     "delivered", "", "+447700900125", "0B00000127FDBC80:delivered:0"},
    {"buffered_form.txt", "0B00000127FDBC81", DeliveryStatus::kSent, "buffered",
     "", "+447700900126", "0B00000127FDBC81:buffered:0"},
    {"expired_signed_form.txt", "0B00000127FDBC82", DeliveryStatus::kExpired,
     "expired", "1", "+447700900127", "0B00000127FDBC82:expired:1"},
    {"encoded_plus_msisdn_form.txt", "0B00000127FDBC83",
     DeliveryStatus::kFailed, "failed", "99", "+447700900128",
     "0B00000127FDBC83:failed:99"},
};

// --- Inbound messages: accepted, no event ---------------------------------

const char* const kInboundCases[] = {
    "inbound_sms_form.txt",
    "inbound_sms_json.json",
};

// --- Bodies that are rejected ---------------------------------------------

using testutil::InvalidCase;

const InvalidCase kInvalidCases[] = {
    {"empty_form.txt", "body: empty"},
    {"empty_json.json", "body: empty"},
    {"bad_percent_form.txt", "body: malformed form encoding"},
    {"truncated.json", "body: not valid JSON"},
    {"array_body.json", "body: not a JSON object"},
    {"form_sent_as_json.json", "body: not valid JSON"},
    {"missing_message_id_form.txt", "messageId: missing"},
    {"missing_status.json", "status: missing"},
    {"empty_status_form.txt", "status: must not be empty"},
    {"repeated_status_form.txt", "status: repeated"},
    {"repeated_msisdn_form.txt", "msisdn: repeated"},
    {"status_number.json", "status: must be a string"},
    {"message_id_bool.json", "messageId: must be a string or integer"},
    {"msisdn_object.json", "msisdn: must be a string or integer"},
    {"err_code_float.json", "err-code: must be a string or integer"},
};

// Every receipt is of an SMS.
testutil::EventFields Want(const ValidCase& c) {
  return {.verification_id = c.message_id,
          .message_id = c.message_id,
          .channel = Channel::kSms,
          .status = c.status,
          .raw_status = c.raw_status,
          .error_code = c.error_code,
          .latency_ms = std::nullopt,
          .recipient = c.recipient,
          .country = std::string(testutil::FixtureCountry(c.recipient)),
          .dedupe_key = c.dedupe_key};
}

TEST(VonageSmsDlrFixturesTest, TablesMatchFixtureDirectory) {
  EXPECT_EQ(std::size(kValidCases), 17u);
  EXPECT_EQ(std::size(kInboundCases), 2u);
  EXPECT_EQ(std::size(kInvalidCases), 15u);
  testutil::ExpectTablesCoverFixtureDir(kFormat.dir, 34u, kValidCases,
                                        kInboundCases, kInvalidCases);
}

class VonageSmsDlrValidTest : public testing::TestWithParam<ValidCase> {};

// Form fixtures carry no trailing newline (checked by ExpectValidFixture).
TEST_P(VonageSmsDlrValidTest, NormalizesEveryField) {
  testutil::ExpectValidFixture(VonageSmsDlrNormalizer(), kFormat,
                               GetParam().file, {Want(GetParam())});
}

TEST_P(VonageSmsDlrValidTest, SignatureEventIdIsTheDedupeKey) {
  testutil::ExpectValidFixtureWithEventId(VonageSmsDlrNormalizer(), kFormat,
                                          GetParam().file, {Want(GetParam())});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageSmsDlrValidTest,
                         testing::ValuesIn(kValidCases),
                         testutil::FixtureParamName());

class VonageSmsDlrInboundTest : public testing::TestWithParam<const char*> {};

TEST_P(VonageSmsDlrInboundTest, AcceptedWithoutEvents) {
  testutil::ExpectAcceptedWithoutEvents(VonageSmsDlrNormalizer(), kFormat,
                                        GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageSmsDlrInboundTest,
                         testing::ValuesIn(kInboundCases),
                         testutil::FixtureParamName());

class VonageSmsDlrInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(VonageSmsDlrInvalidTest, RejectsWithoutLeakingTheNumber) {
  testutil::ExpectInvalidFixture(VonageSmsDlrNormalizer(), kFormat, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VonageSmsDlrInvalidTest,
                         testing::ValuesIn(kInvalidCases),
                         testutil::FixtureParamName());

// --- Every documented status, both encodings ------------------------------

TEST(VonageSmsDlrNormalizerTest, MapsEveryDocumentedStatus) {
  const struct {
    const char* raw;
    DeliveryStatus status;
  } kCases[] = {
      {"accepted", DeliveryStatus::kSent},
      {"buffered", DeliveryStatus::kSent},
      {"delivered", DeliveryStatus::kDelivered},
      {"expired", DeliveryStatus::kExpired},
      {"failed", DeliveryStatus::kFailed},
      {"rejected", DeliveryStatus::kRejected},
      {"unknown", DeliveryStatus::kUnknown},
      {"Rejected", DeliveryStatus::kRejected},
      {"undelivered", DeliveryStatus::kUnknown},
      {"DELIVRD", DeliveryStatus::kUnknown},
  };
  VonageSmsDlrNormalizer n;
  for (const auto& c : kCases) {
    const std::string form =
        "messageId=0B00000127FDBCA0&msisdn=447700900150"
        "&err-code=0&status=" +
        std::string(c.raw);
    const std::string json =
        R"({"messageId":"0B00000127FDBCA0","msisdn":"447700900150",)"
        R"("err-code":"0","status":")" +
        std::string(c.raw) + R"("})";
    for (const InboundWebhook& hook :
         {HookWithBody(form, kForm), HookWithBody(json, kJson)}) {
      Result<Normalized> r = n.Normalize(hook, Context());
      ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().message();
      ASSERT_EQ(r.value().events.size(), 1u);
      const DeliveryEvent& e = r.value().events[0];
      EXPECT_EQ(e.status, c.status) << c.raw << " -> " << ToString(e.status);
      EXPECT_EQ(e.raw_status, c.raw);
      EXPECT_EQ(e.channel, Channel::kSms);
      EXPECT_EQ(e.recipient, "+447700900150");
      EXPECT_EQ(e.country, "GB");
    }
  }
}

TEST(VonageSmsDlrNormalizerTest, FormAndJsonOfOneReceiptAreTheSameEvent) {
  const std::string form =
      "msisdn=447700900151&to=Vonage&network-code=23410"
      "&messageId=0B00000127FDBCA1&price=0.03330000&status=failed"
      "&scts=2501101210&err-code=4&message-timestamp=2025-01-10+12%3A10%3A29";
  const std::string json =
      R"({"msisdn":"447700900151","to":"Vonage","network-code":"23410",)"
      R"("messageId":"0B00000127FDBCA1","price":"0.03330000",)"
      R"("status":"failed","scts":"2501101210","err-code":"4",)"
      R"("message-timestamp":"2025-01-10 12:10:29"})";
  VonageSmsDlrNormalizer n;
  Result<Normalized> a = n.Normalize(HookWithBody(form, kForm), Context());
  Result<Normalized> b = n.Normalize(HookWithBody(json, kJson), Context());
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  const DeliveryEvent& x = a.value().events[0];
  const DeliveryEvent& y = b.value().events[0];
  EXPECT_EQ(x.dedupe_key, "0B00000127FDBCA1:failed:4");
  EXPECT_EQ(x.dedupe_key, y.dedupe_key);
  EXPECT_EQ(x.error_code, "4");
  EXPECT_EQ(x.error_code, y.error_code);
  EXPECT_EQ(x.recipient, y.recipient);
  EXPECT_EQ(x.status, y.status);
}

TEST(VonageSmsDlrNormalizerTest, EncodingFollowsTheContentType) {
  const std::string json =
      R"({"messageId":"0B00000127FDBCA2","status":"delivered"})";
  VonageSmsDlrNormalizer n;
  // A parameter on the media type does not change the encoding.
  Result<Normalized> r = n.Normalize(
      HookWithBody(json, "application/json; charset=utf-8"), Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value().events[0].message_id, "0B00000127FDBCA2");
  // Without a Content-Type the body is read as JSON.
  InboundWebhook hook = HookWithBody(json, kJson);
  hook.headers.clear();
  r = n.Normalize(hook, Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value().events[0].message_id, "0B00000127FDBCA2");
  // A form media type (any case, with parameters) selects the form parser,
  // which refuses a JSON body.
  r = n.Normalize(HookWithBody(json, " Application/X-WWW-Form-Urlencoded ;x"),
                  Context());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "body: malformed form encoding");
}

TEST(VonageSmsDlrNormalizerTest, AcceptsJsonAndFormContentTypes) {
  testutil::ExpectContentTypes(
      VonageSmsDlrNormalizer(),
      {"application/json", "application/json; charset=utf-8",
       "application/x-www-form-urlencoded",
       "application/x-www-form-urlencoded; charset=UTF-8"},
      {"", "text/plain", "multipart/form-data"});
}

TEST(VonageSmsDlrNormalizerTest, ProviderName) {
  EXPECT_EQ(VonageSmsDlrNormalizer().provider(), "vonage");
}

TEST(VonageSmsDlrNormalizerTest, DedupeKeysStableAcrossRetries) {
  VonageSmsDlrNormalizer n;
  for (const ValidCase& c : kValidCases) {
    SCOPED_TRACE(c.file);
    testutil::ExpectStableDedupeKeys(n, HookFor(c.file), Context());
  }
}

TEST(VonageSmsDlrNormalizerTest, DedupeKeysDifferPerReceipt) {
  VonageSmsDlrNormalizer n;
  std::set<std::string> keys;
  for (const ValidCase& c : kValidCases) {
    Result<Normalized> r = n.Normalize(HookFor(c.file), Context());
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.status().message();
    keys.insert(r.value().events[0].dedupe_key);
  }
  // The intermediate and the final receipt of one message differ too.
  EXPECT_EQ(keys.size(), std::size(kValidCases));
}

TEST(VonageSmsDlrNormalizerTest, SourceComesFromContext) {
  testutil::ExpectSourceFromContext(VonageSmsDlrNormalizer(),
                                    HookFor("delivered_docs.json"), Context());
}

TEST(VonageSmsDlrFactoryTest, MakesVonageSmsDlr) {
  testutil::ExpectFactoryMakes<VonageSmsDlrNormalizer>("vonage-sms-dlr",
                                                       "vonage");
}

}  // namespace
}  // namespace dlrd
