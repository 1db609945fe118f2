// Provider send adapters: the exact request each one builds, the class of
// every reply, Retry-After forms, factory errors, and that no detail or
// error text carries the recipient number or a credential.
// Numbers are from fictional ranges only (UK 07700 900xxx, NANP 555-01xx).
#include "dlrd/core/outbound/send_adapter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/phone.h"
#include "core/providers/sinch/sinch_send.h"
#include "core/providers/twilio/twilio_send.h"
#include "core/providers/verifynow/verifynow_send.h"
#include "core/providers/vonage/vonage_send.h"
// dlrd_send_adapter_test links dlrd_core only (no dlrd_testutil target).
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

constexpr char kBase[] = "https://mock.test:8443/api";
constexpr char kNumber[] = "+447700900123";
// Substrings that must never appear in a detail or an error message.
constexpr const char* kSecrets[] = {
    "7700900",       "vn-secret-token", "C-CUST1",  "tw-secret-token",
    "ACtestsid",     "vonage-secret-1", "vkey1",    "sinch-secret-1",
    "sinch-app-key", "QUN0ZXN0",        "dmtleTE6", "c2luY2gt"};

void ExpectNoSecrets(std::string_view text) {
  for (const char* s : kSecrets) {
    EXPECT_EQ(text.find(s), std::string_view::npos)
        << "'" << text << "' contains '" << s << "'";
  }
}

ProviderConfig ConfigFor(std::string_view name) {
  ProviderConfig c;
  c.name = std::string(name);
  c.base_url = kBase;
  if (name == "verifynow") {
    c.credentials = {{"auth_token", "vn-secret-token"},
                     {"customer_id", "C-CUST1"}};
  } else if (name == "twilio") {
    c.credentials = {{"account_sid", "ACtestsid"},
                     {"auth_token", "tw-secret-token"},
                     {"service_sid", "VAservice1"}};
  } else if (name == "vonage") {
    c.credentials = {{"api_key", "vkey1"},
                     {"api_secret", "vonage-secret-1"},
                     {"brand", "Acme"},
                     {"whatsapp_from", "447700400080"}};
  } else if (name == "sinch") {
    c.credentials = {{"application_key", "sinch-app-key"},
                     {"application_secret", "sinch-secret-1"}};
  }
  return c;
}

std::unique_ptr<SendAdapter> AdapterFor(std::string_view name) {
  auto made = MakeSendAdapter(ConfigFor(name));
  EXPECT_OK(made);
  return made.ok() ? std::move(made).value() : nullptr;
}

SendRequest RequestFor(Channel channel, std::string recipient = kNumber) {
  SendRequest r;
  r.root_id = "root-1";
  r.step = 1;
  r.channel = channel;
  r.recipient = std::move(recipient);
  r.idempotency_key = "root-1:1";
  return r;
}

// --- Build: the exact request -------------------------------------------

struct BuildCase {
  const char* provider;
  Channel channel;
  const char* url;
  HeaderList headers;
  const char* body;
};

void PrintTo(const BuildCase& c, std::ostream* os) {
  *os << c.provider << "/" << ToString(c.channel);
}

const HeaderList kTwilioHeaders = {
    {"Authorization", "Basic QUN0ZXN0c2lkOnR3LXNlY3JldC10b2tlbg=="},
    {"Content-Type", "application/x-www-form-urlencoded"}};
const HeaderList kVonageHeaders = {
    {"Authorization", "Basic dmtleTE6dm9uYWdlLXNlY3JldC0x"},
    {"Content-Type", "application/json"}};
const HeaderList kSinchHeaders = {
    {"Authorization", "Basic c2luY2gtYXBwLWtleTpzaW5jaC1zZWNyZXQtMQ=="},
    {"Content-Type", "application/json"}};

const BuildCase kBuildCases[] = {
    {"verifynow",
     Channel::kSms,
     "https://mock.test:8443/api/verification/v3/send?countryCode=44"
     "&customerId=C-CUST1&flowType=SMS&mobileNumber=7700900123",
     {{"authToken", "vn-secret-token"}},
     ""},
    {"verifynow",
     Channel::kWhatsapp,
     "https://mock.test:8443/api/verification/v3/send?countryCode=44"
     "&customerId=C-CUST1&flowType=WHATSAPP&mobileNumber=7700900123",
     {{"authToken", "vn-secret-token"}},
     ""},
    {"twilio", Channel::kSms,
     "https://mock.test:8443/api/v2/Services/VAservice1/Verifications",
     kTwilioHeaders, "To=%2B447700900123&Channel=sms"},
    {"twilio", Channel::kWhatsapp,
     "https://mock.test:8443/api/v2/Services/VAservice1/Verifications",
     kTwilioHeaders, "To=%2B447700900123&Channel=whatsapp"},
    {"twilio", Channel::kVoice,
     "https://mock.test:8443/api/v2/Services/VAservice1/Verifications",
     kTwilioHeaders, "To=%2B447700900123&Channel=call"},
    {"vonage", Channel::kSms, "https://mock.test:8443/api/v2/verify",
     kVonageHeaders,
     R"({"brand":"Acme","workflow":[{"channel":"sms","to":"447700900123"}]})"},
    {"vonage", Channel::kWhatsapp, "https://mock.test:8443/api/v2/verify",
     kVonageHeaders,
     R"({"brand":"Acme","workflow":[{"channel":"whatsapp",)"
     R"("from":"447700400080","to":"447700900123"}]})"},
    {"vonage", Channel::kVoice, "https://mock.test:8443/api/v2/verify",
     kVonageHeaders,
     R"({"brand":"Acme","workflow":[{"channel":"voice","to":"447700900123"}]})"},
    {"sinch", Channel::kSms,
     "https://mock.test:8443/api/verification/v1/verifications", kSinchHeaders,
     R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
     R"("method":"sms","reference":"root-1:1"})"},
    {"sinch", Channel::kWhatsapp,
     "https://mock.test:8443/api/verification/v1/verifications", kSinchHeaders,
     R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
     R"("method":"whatsapp","reference":"root-1:1"})"},
    {"sinch", Channel::kVoice,
     "https://mock.test:8443/api/verification/v1/verifications", kSinchHeaders,
     R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
     R"("method":"callout","reference":"root-1:1"})"},
};

class BuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(BuildTest, ExactRequest) {
  const BuildCase& c = GetParam();
  auto adapter = AdapterFor(c.provider);
  ASSERT_NE(adapter, nullptr);
  Result<HttpCall> call = adapter->Build(RequestFor(c.channel));
  ASSERT_OK(call);
  EXPECT_EQ(call.value().method, "POST");
  EXPECT_EQ(call.value().url, c.url);
  EXPECT_EQ(call.value().headers, c.headers);
  EXPECT_EQ(call.value().body, c.body);
}

INSTANTIATE_TEST_SUITE_P(Providers, BuildTest,
                         ::testing::ValuesIn(kBuildCases));

TEST(Build, NanpAndThreeDigitCallingCodes) {
  auto vn = AdapterFor("verifynow");
  ASSERT_NE(vn, nullptr);
  auto us = vn->Build(RequestFor(Channel::kSms, "+12125550123"));
  ASSERT_OK(us);
  EXPECT_NE(us.value().url.find("countryCode=1&"), std::string::npos);
  EXPECT_NE(us.value().url.find("mobileNumber=2125550123"), std::string::npos);
  auto ie = vn->Build(RequestFor(Channel::kSms, "+353855550123"));
  ASSERT_OK(ie);
  EXPECT_NE(ie.value().url.find("countryCode=353&"), std::string::npos);
  EXPECT_NE(ie.value().url.find("mobileNumber=855550123"), std::string::npos);
}

TEST(Build, SinchWithoutKeyOmitsReference) {
  auto sinch = AdapterFor("sinch");
  ASSERT_NE(sinch, nullptr);
  SendRequest r = RequestFor(Channel::kSms);
  r.idempotency_key.clear();
  auto call = sinch->Build(r);
  ASSERT_OK(call);
  EXPECT_EQ(call.value().body,
            R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
            R"("method":"sms"})");
}

TEST(Build, CustomerIdIsPercentEncoded) {
  ProviderConfig c = ConfigFor("verifynow");
  c.credentials["customer_id"] = "C 1&x=y";
  auto made = MakeSendAdapter(c);
  ASSERT_OK(made);
  auto call = made.value()->Build(RequestFor(Channel::kSms));
  ASSERT_OK(call);
  EXPECT_NE(call.value().url.find("customerId=C%201%26x%3Dy&"),
            std::string::npos);
}

struct BuildErrorCase {
  const char* provider;
  Channel channel;
  const char* recipient;
  const char* error;
};

void PrintTo(const BuildErrorCase& c, std::ostream* os) {
  *os << c.provider << "/" << ToString(c.channel) << "/" << c.recipient;
}

const BuildErrorCase kBuildErrorCases[] = {
    {"verifynow", Channel::kVoice, kNumber,
     "verifynow: channel voice not supported"},
    {"verifynow", Channel::kOther, kNumber,
     "verifynow: channel other not supported"},
    {"verifynow", Channel::kSms, "+999770090012",
     "verifynow: recipient has no known calling code"},
    {"twilio", Channel::kOther, kNumber, "twilio: channel other not supported"},
    {"vonage", Channel::kOther, kNumber, "vonage: channel other not supported"},
    {"sinch", Channel::kOther, kNumber, "sinch: channel other not supported"},
    // Not E.164: the error names the field, never the value.
    {"verifynow", Channel::kSms, "447700900123",
     "verifynow: recipient is not E.164 (+ and 8-15 digits)"},
    {"twilio", Channel::kSms, "+44 7700 900123",
     "twilio: recipient is not E.164 (+ and 8-15 digits)"},
    {"twilio", Channel::kSms, "+4477009001234567",
     "twilio: recipient is not E.164 (+ and 8-15 digits)"},
    {"vonage", Channel::kSms, "+0447700900",
     "vonage: recipient is not E.164 (+ and 8-15 digits)"},
    {"sinch", Channel::kSms, "+4477009",
     "sinch: recipient is not E.164 (+ and 8-15 digits)"},
    {"sinch", Channel::kSms, "",
     "sinch: recipient is not E.164 (+ and 8-15 digits)"},
};

class BuildErrorTest : public ::testing::TestWithParam<BuildErrorCase> {};

TEST_P(BuildErrorTest, Refused) {
  const BuildErrorCase& c = GetParam();
  auto adapter = AdapterFor(c.provider);
  ASSERT_NE(adapter, nullptr);
  auto call = adapter->Build(RequestFor(c.channel, c.recipient));
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().message(), c.error);
  ExpectNoSecrets(call.status().message());
}

INSTANTIATE_TEST_SUITE_P(Providers, BuildErrorTest,
                         ::testing::ValuesIn(kBuildErrorCases));

TEST(Build, VonageWhatsappNeedsSender) {
  ProviderConfig c = ConfigFor("vonage");
  c.credentials.erase("whatsapp_from");
  auto made = MakeSendAdapter(c);
  ASSERT_OK(made);
  auto call = made.value()->Build(RequestFor(Channel::kWhatsapp));
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().message(),
            "vonage: channel whatsapp needs credentials.whatsapp_from");
  EXPECT_OK(made.value()->Build(RequestFor(Channel::kSms)));
}

// --- Classify: every reply class ----------------------------------------

constexpr int64_t kNowMs = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT

struct ClassifyCase {
  const char* name;
  const char* provider;
  int status;
  const char* retry_after;  // nullptr: no header
  const char* body;
  SendErrorClass error;
  const char* provider_ref;
  int64_t retry_after_ms;
  const char* provider_code;
  const char* detail;
};

void PrintTo(const ClassifyCase& c, std::ostream* os) { *os << c.name; }

using E = SendErrorClass;

const ClassifyCase kClassifyCases[] = {
    // VerifyNow: the body responseCode decides.
    {"vn_accepted", "verifynow", 200, nullptr,
     R"({"responseCode":200,"message":"SUCCESS","data":{"verificationId":)"
     R"("1204587","mobileNumber":"7700900123","responseCode":"200",)"
     R"("errorMessage":null,"timeout":"60"}})",
     E::kNone, "1204587", -1, "", "verifynow 200: accepted"},
    {"vn_accepted_numeric_id", "verifynow", 200, nullptr,
     R"({"responseCode":200,"data":{"verificationId":1204588}})", E::kNone,
     "1204588", -1, "", "verifynow 200: accepted"},
    {"vn_no_id", "verifynow", 200, nullptr,
     R"({"responseCode":200,"message":"SUCCESS","data":{}})", E::kRejected, "",
     -1, "", "verifynow 200: no id in reply"},
    {"vn_not_json", "verifynow", 200, nullptr, "<html>ok</html>", E::kRejected,
     "", -1, "", "verifynow 200: no id in reply"},
    {"vn_invalid_country", "verifynow", 400, nullptr,
     R"({"responseCode":511,"message":"INVALID_COUNTRY_CODE"})",
     E::kInvalidNumber, "", -1, "511",
     "verifynow 400 511: INVALID_COUNTRY_CODE"},
    {"vn_code_in_200", "verifynow", 200, nullptr,
     R"({"responseCode":"511","message":"INVALID_COUNTRY_CODE","data":null})",
     E::kInvalidNumber, "", -1, "511",
     "verifynow 200 511: INVALID_COUNTRY_CODE"},
    {"vn_bad_mobile", "verifynow", 400, nullptr,
     R"({"responseCode":400,"message":"Invalid mobile number 447700900123"})",
     E::kInvalidNumber, "", -1, "400",
     "verifynow 400 400: invalid mobile number"},
    {"vn_bad_request", "verifynow", 400, nullptr,
     R"({"responseCode":400,"message":"BAD_REQUEST"})", E::kRejected, "", -1,
     "400", "verifynow 400 400: BAD_REQUEST"},
    {"vn_already_exists", "verifynow", 400, "30",
     R"({"responseCode":506,"message":"REQUEST_ALREADY_EXISTS"})",
     E::kRateLimited, "", 30000, "506",
     "verifynow 400 506: REQUEST_ALREADY_EXISTS"},
    {"vn_max_limit", "verifynow", 400, nullptr,
     R"({"responseCode":800,"message":"MAXIMUM_LIMIT_REACHED"})",
     E::kRateLimited, "", -1, "800",
     "verifynow 400 800: MAXIMUM_LIMIT_REACHED"},
    {"vn_customer", "verifynow", 400, nullptr,
     R"({"responseCode":501,"message":"INVALID_CUSTOMER_ID"})", E::kRejected,
     "", -1, "501", "verifynow 400 501: INVALID_CUSTOMER_ID"},
    {"vn_server_code", "verifynow", 200, nullptr,
     R"({"responseCode":500,"message":"SERVER_ERROR"})", E::kServer, "", -1,
     "500", "verifynow 200 500: SERVER_ERROR"},
    {"vn_fraud", "verifynow", 403, nullptr,
     R"({"responseCode":403,"message":"FRAUD_DETECTED"})", E::kFraud, "", -1,
     "403", "verifynow 403 403: fraud or blocked"},
    {"vn_unauthorized", "verifynow", 401, nullptr, "", E::kRejected, "", -1, "",
     "verifynow 401: unauthorized"},
    {"vn_429", "verifynow", 429, "2", R"({"responseCode":429})",
     E::kRateLimited, "", 2000, "", "verifynow 429: too many requests"},
    {"vn_503", "verifynow", 503, "Sun, 06 Nov 1994 08:50:37 GMT", "",
     E::kServer, "", 60000, "", "verifynow 503: server error"},
    {"vn_other_code", "verifynow", 400, nullptr, R"({"responseCode":777})",
     E::kRejected, "", -1, "777", "verifynow 400 777: rejected"},

    // Twilio: code first, then status.
    {"tw_accepted", "twilio", 201, nullptr,
     R"({"sid":"VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"pending",)"
     R"("to":"+447700900123","channel":"sms"})",
     E::kNone, "VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, "",
     "twilio 201: accepted"},
    {"tw_no_sid", "twilio", 201, nullptr, R"({"status":"pending"})",
     E::kRejected, "", -1, "", "twilio 201: no id in reply"},
    {"tw_bad_sid", "twilio", 201, nullptr, R"({"sid":"VE\nforged log line"})",
     E::kRejected, "", -1, "", "twilio 201: malformed id in reply"},
    {"tw_21211", "twilio", 400, nullptr,
     R"({"code":21211,"message":"Invalid 'To' Phone Number: +447700900123",)"
     R"("more_info":"https://www.twilio.com/docs/errors/21211","status":400})",
     E::kInvalidNumber, "", -1, "21211", "twilio 400 21211: invalid To number"},
    {"tw_21614", "twilio", 400, nullptr,
     R"({"code":21614,"message":"'To' number is not a valid mobile number"})",
     E::kInvalidNumber, "", -1, "21614",
     "twilio 400 21614: not a mobile number"},
    {"tw_60200", "twilio", 400, nullptr,
     R"({"code":60200,"message":"Invalid parameter `To`: +447700900123",)"
     R"("status":400})",
     E::kInvalidNumber, "", -1, "60200",
     "twilio 400 60200: invalid parameter (To)"},
    {"tw_21610", "twilio", 400, nullptr,
     R"({"code":21610,"message":"Attempt to send to unsubscribed recipient"})",
     E::kInvalidNumber, "", -1, "21610",
     "twilio 400 21610: recipient unsubscribed"},
    {"tw_60410", "twilio", 403, nullptr,
     R"({"code":60410,"message":"Verification delivery attempt blocked",)"
     R"("status":403})",
     E::kFraud, "", -1, "60410",
     "twilio 403 60410: verification delivery blocked (fraud)"},
    {"tw_60412", "twilio", 403, nullptr, R"({"code":"60412"})", E::kFraud, "",
     -1, "60412", "twilio 403 60412: blocked as a fraudulent sign-up"},
    {"tw_60203", "twilio", 429, "600",
     R"({"code":60203,"message":"Max send attempts reached","status":429})",
     E::kRateLimited, "", 600000, "60203",
     "twilio 429 60203: max send attempts reached"},
    {"tw_20429", "twilio", 429, "2",
     R"({"code":20429,"message":"Too Many Requests","status":429})",
     E::kRateLimited, "", 2000, "20429", "twilio 429 20429: too many requests"},
    {"tw_429_plain", "twilio", 429, nullptr, "", E::kRateLimited, "", -1, "",
     "twilio 429: too many requests"},
    {"tw_60205", "twilio", 400, nullptr,
     R"({"code":60205,"message":"SMS is not supported by landline phone number"})",
     E::kRejected, "", -1, "60205",
     "twilio 400 60205: SMS not supported by landline"},
    {"tw_auth", "twilio", 401, nullptr,
     R"({"code":20003,"message":"Authenticate","status":401})", E::kRejected,
     "", -1, "20003", "twilio 401 20003: unauthorized"},
    {"tw_404", "twilio", 404, nullptr,
     R"({"code":20404,"message":"The requested resource was not found"})",
     E::kRejected, "", -1, "20404", "twilio 404 20404: rejected"},
    {"tw_503", "twilio", 503, "5",
     R"({"code":20503,"message":"Service unavailable"})", E::kServer, "", 5000,
     "20503", "twilio 503 20503: server error"},
    {"tw_500_no_ra", "twilio", 500, nullptr, "", E::kServer, "", -1, "",
     "twilio 500: server error"},
    {"tw_500_fraud_code", "twilio", 500, nullptr, R"({"code":60410})",
     E::kServer, "", -1, "60410", "twilio 500 60410: server error"},

    // Vonage: RFC 7807 problems.
    {"vo_accepted", "vonage", 202, nullptr,
     R"({"request_id":"c11236f4-00bf-4b89-84ba-88b25df97315"})", E::kNone,
     "c11236f4-00bf-4b89-84ba-88b25df97315", -1, "", "vonage 202: accepted"},
    {"vo_no_id", "vonage", 202, nullptr, "{}", E::kRejected, "", -1, "",
     "vonage 202: no id in reply"},
    {"vo_concurrent", "vonage", 409, nullptr,
     R"({"title":"Conflict","type":"https://developer.vonage.com/en/)"
     R"(api-errors/verify-v2#concurrent","detail":"Concurrent verifications )"
     R"(to the same number are not allowed.","instance":"738f9313"})",
     E::kRateLimited, "", -1, "concurrent",
     "vonage 409 concurrent: concurrent verification to the number"},
    {"vo_invalid_to", "vonage", 422, nullptr,
     R"({"title":"Invalid params","type":"https://developer.vonage.com/en/)"
     R"(api-errors#invalid-params","detail":"The value of one or more )"
     R"(parameters is invalid.","invalid_parameters":[{"name":)"
     R"("workflow[0].to","reason":"447700900123 is not a valid number"}]})",
     E::kInvalidNumber, "", -1, "invalid-params",
     "vonage 422 invalid-params: invalid number"},
    {"vo_invalid_to_plain", "vonage", 422, nullptr,
     R"({"title":"Invalid params","invalid_parameters":[{"name":"to"}]})",
     E::kInvalidNumber, "", -1, "", "vonage 422: invalid number"},
    {"vo_invalid_detail", "vonage", 422, nullptr,
     R"({"title":"Invalid params","detail":"Invalid phone number"})",
     E::kInvalidNumber, "", -1, "", "vonage 422: invalid number"},
    {"vo_invalid_brand", "vonage", 422, nullptr,
     R"({"title":"Invalid params","invalid_parameters":[{"name":"brand",)"
     R"("reason":"Brand is required"}]})",
     E::kRejected, "", -1, "", "vonage 422: invalid parameters"},
    {"vo_fraud", "vonage", 403, nullptr,
     R"({"title":"Forbidden","type":"https://developer.vonage.com/en/)"
     R"(api-errors/verify-v2#fraud-check","detail":"Fraud Check: the )"
     R"(request was blocked"})",
     E::kFraud, "", -1, "fraud-check",
     "vonage 403 fraud-check: fraud check blocked the request"},
    {"vo_forbidden", "vonage", 403, nullptr,
     R"({"title":"Forbidden","detail":"Templates management is not enabled"})",
     E::kRejected, "", -1, "", "vonage 403: forbidden"},
    {"vo_low_balance", "vonage", 402, nullptr,
     R"({"title":"Low balance","type":"https://developer.vonage.com/en/)"
     R"(api-errors/#low-balance"})",
     E::kRejected, "", -1, "low-balance",
     "vonage 402 low-balance: low balance"},
    {"vo_unauthorized", "vonage", 401, nullptr,
     R"({"title":"Unauthorized","type":"https://developer.vonage.com/)"
     R"(api-errors#unauthorized"})",
     E::kRejected, "", -1, "unauthorized",
     "vonage 401 unauthorized: unauthorized"},
    {"vo_429", "vonage", 429, "3",
     R"({"title":"Rate Limit Hit","type":"https://developer.vonage.com/en/)"
     R"(api-errors#throttled"})",
     E::kRateLimited, "", 3000, "throttled",
     "vonage 429 throttled: too many requests"},
    {"vo_500", "vonage", 500, nullptr,
     R"({"title":"Internal error","type":"https://developer.vonage.com/)"
     R"(api-errors#internal-error"})",
     E::kServer, "", -1, "internal-error",
     "vonage 500 internal-error: server error"},
    {"vo_weird_type", "vonage", 404, nullptr,
     R"({"type":"https://x#<script>"})", E::kRejected, "", -1, "",
     "vonage 404: rejected"},

    // Sinch.
    {"si_accepted", "sinch", 200, nullptr,
     R"({"id":"1234567890","method":"sms","sms":{"template":"Your code is )"
     R"({{CODE}}"},"_links":[]})",
     E::kNone, "1234567890", -1, "", "sinch 200: accepted"},
    {"si_no_id", "sinch", 200, nullptr, R"({"method":"sms"})", E::kRejected, "",
     -1, "", "sinch 200: no id in reply"},
    {"si_duplicate", "sinch", 409, nullptr,
     R"({"errorCode":40900,"message":"Reference already defined.",)"
     R"("reference":"a2028355"})",
     E::kNone, "", -1, "40900",
     "sinch 409 40900: duplicate reference, accepted earlier"},
    {"si_409_other", "sinch", 409, nullptr, R"({"errorCode":40901})",
     E::kRejected, "", -1, "40901", "sinch 409 40901: rejected"},
    {"si_blacklisted", "sinch", 403, nullptr,
     R"({"errorCode":40300,"message":"Identity is blacklisted."})", E::kFraud,
     "", -1, "40300", "sinch 403 40300: identity is blacklisted"},
    {"si_restricted", "sinch", 403, nullptr,
     R"({"errorCode":"40303","message":"Callback URL must be set"})",
     E::kRejected, "", -1, "40303", "sinch 403 40303: rejected"},
    {"si_invalid_number", "sinch", 400, nullptr,
     R"({"errorCode":40001,"message":"Number +447700900123 is invalid. )"
     R"(Too long."})",
     E::kInvalidNumber, "", -1, "40001", "sinch 400 40001: invalid number"},
    {"si_invalid_identity", "sinch", 400, nullptr,
     R"({"errorCode":"40003","message":"Invalid identity or code."})",
     E::kInvalidNumber, "", -1, "40003", "sinch 400 40003: invalid number"},
    {"si_invalid_method", "sinch", 400, nullptr,
     R"({"errorCode":40001,"message":"Method must be one of ..."})",
     E::kRejected, "", -1, "40001", "sinch 400 40001: rejected"},
    {"si_credit", "sinch", 402, nullptr,
     R"({"errorCode":40200,"message":"Not enough credit."})", E::kRejected, "",
     -1, "40200", "sinch 402 40200: not enough credit"},
    {"si_no_route", "sinch", 422, nullptr,
     R"({"errorCode":42201,"message":"No route to destination."})",
     E::kRejected, "", -1, "42201", "sinch 422 42201: no route to destination"},
    {"si_auth", "sinch", 401, nullptr,
     R"({"errorCode":40100,"message":"Invalid authorization header."})",
     E::kRejected, "", -1, "40100", "sinch 401 40100: unauthorized"},
    {"si_429", "sinch", 429, "2",
     R"({"errorCode":42901,"message":"Cannot initiate verification to the )"
     R"(same number too quickly."})",
     E::kRateLimited, "", 2000, "42901", "sinch 429 42901: too many requests"},
    {"si_503", "sinch", 503, "garbage",
     R"({"errorCode":50300,"message":"Service is temporarily unavailable"})",
     E::kServer, "", -1, "50300", "sinch 503 50300: server error"},
};

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Outcome) {
  const ClassifyCase& c = GetParam();
  auto adapter = AdapterFor(c.provider);
  ASSERT_NE(adapter, nullptr);
  HttpReply reply;
  reply.status = c.status;
  reply.headers = {{"Content-Type", "application/json"}};
  if (c.retry_after) reply.headers.emplace_back("retry-after", c.retry_after);
  reply.body = c.body;
  SendOutcome out = adapter->Classify(reply, kNowMs);
  EXPECT_EQ(ToString(out.error), ToString(c.error));
  EXPECT_EQ(out.accepted(), c.error == E::kNone);
  EXPECT_EQ(out.provider_ref, c.provider_ref);
  EXPECT_EQ(out.retry_after_ms, c.retry_after_ms);
  EXPECT_EQ(out.provider_code, c.provider_code);
  EXPECT_EQ(out.detail, c.detail);
  ExpectNoSecrets(out.detail);
  ExpectNoSecrets(out.provider_code);
}

INSTANTIATE_TEST_SUITE_P(
    Providers, ClassifyTest, ::testing::ValuesIn(kClassifyCases),
    [](const ::testing::TestParamInfo<ClassifyCase>& info) {
      return std::string(info.param.name);
    });

// Every class an HTTP reply can have is produced by every provider; the
// transport classes (kTimeout, kNetwork) never come from Classify().
TEST(Classify, EveryProviderCoversTheReplyClasses) {
  for (const char* provider : {"verifynow", "twilio", "vonage", "sinch"}) {
    std::vector<E> seen;
    for (const ClassifyCase& c : kClassifyCases) {
      if (std::string_view(c.provider) == provider) seen.push_back(c.error);
    }
    for (E want : {E::kNone, E::kInvalidNumber, E::kFraud, E::kRateLimited,
                   E::kServer, E::kRejected}) {
      EXPECT_NE(std::find(seen.begin(), seen.end(), want), seen.end())
          << provider << " has no case for " << ToString(want);
    }
  }
}

TEST(Classify, UnknownStatusesByRange) {
  for (const char* provider : {"verifynow", "twilio", "vonage", "sinch"}) {
    SCOPED_TRACE(provider);
    auto adapter = AdapterFor(provider);
    ASSERT_NE(adapter, nullptr);
    for (int status : {400, 404, 405, 410, 413, 418}) {
      EXPECT_EQ(adapter->Classify({status, {}, ""}, kNowMs).error,
                E::kRejected);
    }
    for (int status : {500, 502, 503, 504, 599}) {
      EXPECT_EQ(adapter->Classify({status, {}, "{}"}, kNowMs).error,
                E::kServer);
    }
    EXPECT_EQ(adapter->Classify({429, {}, "null"}, kNowMs).error,
              E::kRateLimited);
  }
}

// --- Provider properties --------------------------------------------------

TEST(Adapters, NamesAndIdempotency) {
  const struct {
    const char* name;
    bool idempotent;
  } cases[] = {{"verifynow", false},
               {"twilio", false},
               {"vonage", false},
               {"sinch", true}};
  for (const auto& c : cases) {
    auto adapter = AdapterFor(c.name);
    ASSERT_NE(adapter, nullptr);
    EXPECT_EQ(adapter->provider(), c.name);
    EXPECT_EQ(adapter->supports_idempotency_key(), c.idempotent) << c.name;
  }
  EXPECT_NE(dynamic_cast<VerifyNowSendAdapter*>(AdapterFor("verifynow").get()),
            nullptr);
  EXPECT_NE(dynamic_cast<TwilioSendAdapter*>(AdapterFor("twilio").get()),
            nullptr);
  EXPECT_NE(dynamic_cast<VonageSendAdapter*>(AdapterFor("vonage").get()),
            nullptr);
  EXPECT_NE(dynamic_cast<SinchSendAdapter*>(AdapterFor("sinch").get()),
            nullptr);
}

TEST(SendErrorClass, SnakeCaseLabels) {
  EXPECT_EQ(ToString(E::kNone), "none");
  std::vector<std::string_view> labels;
  for (E c : kAllSendErrorClasses) {
    std::string_view label = ToString(c);
    EXPECT_NE(label, "unknown");
    for (char ch : label) {
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_') << label;
    }
    EXPECT_EQ(std::find(labels.begin(), labels.end(), label), labels.end());
    labels.push_back(label);
  }
  EXPECT_EQ(ToString(E::kInvalidNumber), "invalid_number");
  EXPECT_EQ(ToString(E::kRateLimited), "rate_limited");
}

// --- ParseRetryAfterMs -----------------------------------------------------

TEST(ParseRetryAfterMs, Forms) {
  const struct {
    const char* value;
    int64_t now_ms;
    int64_t want;
  } cases[] = {
      {"2", kNowMs, 2000},
      {"0", kNowMs, 0},
      {" 120\t", kNowMs, 120000},
      {"007", kNowMs, 7000},
      {"-5", kNowMs, 0},  // negative: clamped
      {"99999999999999999999999", kNowMs, (int64_t{1} << 31) * 1000},
      {"", kNowMs, -1},
      {"   ", kNowMs, -1},
      {"-", kNowMs, -1},
      {"1.5", kNowMs, -1},
      {"2 s", kNowMs, -1},
      {"+2", kNowMs, -1},
      {"soon", kNowMs, -1},
      // IMF-fixdate, RFC 850 and asctime, each 10 s after now.
      {"Sun, 06 Nov 1994 08:49:47 GMT", kNowMs, 10000},
      {"Sunday, 06-Nov-94 08:49:47 GMT", kNowMs, 10000},
      {"Sun Nov  6 08:49:47 1994", kNowMs, 10000},
      {"Sun Nov 16 08:49:37 1994", kNowMs, 10 * 86400000LL},
      // In the past or now: 0.
      {"Sun, 06 Nov 1994 08:49:36 GMT", kNowMs, 0},
      {"Sun, 06 Nov 1994 08:49:37 GMT", kNowMs, 0},
      {"Thu, 01 Jan 1970 00:00:00 GMT", kNowMs, 0},
      // Surrounding OWS is skipped around a date too.
      {" Sun, 06 Nov 1994 08:49:47 GMT\t", kNowMs, 10000},
      // A malformed date is unparsable (the date forms themselves are
      // ParseHttpDateMs's tests).
      {"Sun, 29 Feb 2023 00:00:00 GMT", kNowMs, -1},
      {"2030-11-06T08:49:37Z", kNowMs, -1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    EXPECT_EQ(ParseRetryAfterMs(c.value, c.now_ms), c.want);
  }
}

// --- MakeSendAdapter errors -------------------------------------------------

TEST(MakeSendAdapter, Errors) {
  const struct {
    const char* provider;
    const char* key;    // "credentials.<k>" edits a credential, else a field
    const char* value;  // nullptr: erase the credential
    const char* error;
  } cases[] = {
      {"", "", "", "providers: provider name missing"},
      {"x", "", "",
       "providers.x: unknown provider (verifynow, twilio, "
       "vonage, sinch)"},
      {"twilio", "credentials.service_sid", nullptr,
       "providers.twilio.credentials.service_sid: missing"},
      {"twilio", "credentials.account_sid", nullptr,
       "providers.twilio.credentials.account_sid: missing"},
      {"twilio", "credentials.auth_token", "",
       "providers.twilio.credentials.auth_token: missing"},
      {"twilio", "credentials.auth_token", "tw-secret-token\r\nX-Evil: 1",
       "providers.twilio.credentials.auth_token: contains control characters"},
      {"twilio", "credentials.service_sid", "VA/../Services",
       "providers.twilio.credentials.service_sid: must be letters and digits"},
      {"verifynow", "credentials.auth_token", nullptr,
       "providers.verifynow.credentials.auth_token: missing"},
      {"verifynow", "credentials.customer_id", nullptr,
       "providers.verifynow.credentials.customer_id: missing"},
      {"vonage", "credentials.api_key", nullptr,
       "providers.vonage.credentials.api_key: missing"},
      {"vonage", "credentials.api_secret", nullptr,
       "providers.vonage.credentials.api_secret: missing"},
      {"vonage", "credentials.brand", nullptr,
       "providers.vonage.credentials.brand: missing"},
      {"vonage", "credentials.brand", "A brand far too long for it",
       "providers.vonage.credentials.brand: 1-18 characters, none of / { } : "
       "$"},
      {"vonage", "credentials.brand", "Acme:1",
       "providers.vonage.credentials.brand: 1-18 characters, none of / { } : "
       "$"},
      {"vonage", "credentials.whatsapp_from", "+44-7700",
       "providers.vonage.credentials.whatsapp_from: must be letters and "
       "digits"},
      {"sinch", "credentials.application_key", nullptr,
       "providers.sinch.credentials.application_key: missing"},
      {"sinch", "credentials.application_secret", nullptr,
       "providers.sinch.credentials.application_secret: missing"},
      {"twilio", "base_url", "", "providers.twilio.base_url: missing"},
      {"twilio", "base_url", "/", "providers.twilio.base_url: missing"},
      {"twilio", "base_url", "http://verify.twilio.com",
       "providers.twilio.base_url: must be https://"},
      {"sinch", "base_url", "ftp://verification.api.sinch.com",
       "providers.sinch.base_url: must be https://"},
      {"twilio", "base_url", "verify.twilio.com",
       "providers.twilio.base_url: not an absolute URL"},
      {"twilio", "base_url", "https://verify twilio.com",
       "providers.twilio.base_url: not an absolute URL"},
      {"vonage", "base_url", "https://", "providers.vonage.base_url: no host"},
      {"vonage", "base_url", "https:/api.nexmo.com",
       "providers.vonage.base_url: no host"},
      {"vonage", "base_url", "https://api.nexmo.com?x=1",
       "providers.vonage.base_url: user info, query and fragment are not "
       "allowed"},
      {"vonage", "base_url", "https://vkey1:vonage-secret-1@api.nexmo.com",
       "providers.vonage.base_url: user info, query and fragment are not "
       "allowed"},
      {"vonage", "base_url", "https://api.nexmo.com#x",
       "providers.vonage.base_url: user info, query and fragment are not "
       "allowed"},
      {"sinch", "connect_timeout_ms", "0",
       "providers.sinch.connect_timeout_ms: must be > 0"},
      {"sinch", "request_timeout_ms", "-1",
       "providers.sinch.request_timeout_ms: must be > 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.provider) + " " + c.key);
    ProviderConfig config = ConfigFor(c.provider);
    config.name = c.provider;
    std::string_view key = c.key;
    if (key.starts_with("credentials.")) {
      std::string cred(key.substr(12));
      if (c.value) {
        config.credentials[cred] = c.value;
      } else {
        config.credentials.erase(cred);
      }
    } else if (key == "base_url") {
      config.base_url = c.value;
    } else if (key == "connect_timeout_ms") {
      config.connect_timeout_ms = std::stoll(c.value);
    } else if (key == "request_timeout_ms") {
      config.request_timeout_ms = std::stoll(c.value);
    }
    auto made = MakeSendAdapter(config);
    ASSERT_FALSE(made.ok());
    EXPECT_EQ(made.status().message(), c.error);
    ExpectNoSecrets(made.status().message());
  }
}

TEST(MakeSendAdapter, BaseUrlForms) {
  const struct {
    const char* base_url;
    const char* url;
  } cases[] = {
      {"https://verify.twilio.com",
       "https://verify.twilio.com/v2/Services/VAservice1/Verifications"},
      {"https://verify.twilio.com/",
       "https://verify.twilio.com/v2/Services/VAservice1/Verifications"},
      {"HTTPS://127.0.0.1:8443/twilio//",
       "HTTPS://127.0.0.1:8443/twilio/v2/Services/VAservice1/Verifications"},
      {"https://[::1]:9/",
       "https://[::1]:9/v2/Services/VAservice1/Verifications"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.base_url);
    ProviderConfig config = ConfigFor("twilio");
    config.base_url = c.base_url;
    auto made = MakeSendAdapter(config);
    ASSERT_OK(made);
    auto call = made.value()->Build(RequestFor(Channel::kSms));
    ASSERT_OK(call);
    EXPECT_EQ(call.value().url, c.url);
  }
}

TEST(MakeSendAdapter, VonageSenderPlusIsDropped) {
  ProviderConfig config = ConfigFor("vonage");
  config.credentials["whatsapp_from"] = "+447700400080";
  auto made = MakeSendAdapter(config);
  ASSERT_OK(made);
  auto call = made.value()->Build(RequestFor(Channel::kWhatsapp));
  ASSERT_OK(call);
  EXPECT_NE(call.value().body.find(R"("from":"447700400080")"),
            std::string::npos);
}

// --- CallingCodeOf (added to core/phone.h for the VerifyNow split) -----------

TEST(CallingCodeOf, LongestAssignedPrefix) {
  const struct {
    const char* e164;
    const char* code;
  } cases[] = {
      {"+447700900123", "44"},
      {"+12125550123", "1"},
      {"+14165550123", "1"},
      {"+353855550123", "353"},
      {"+61491570156", "61"},
      {"+74955550123", "7"},
      {"+999770090012", ""},
      {"447700900123", ""},
      {"+", ""},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CallingCodeOf(c.e164), c.code) << c.e164;
  }
}

}  // namespace
}  // namespace dlrd
