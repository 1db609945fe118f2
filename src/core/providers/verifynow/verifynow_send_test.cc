// VerifyNow send adapter: the exact request it builds, the requests it
// refuses and the class of every reply, checked by the shared send adapter
// fixture; numbers are from fictional ranges only.
#include "core/providers/verifynow/verifynow_send.h"

#include <gtest/gtest.h>

#include <string>

#include "dlrd/core/outbound/send_adapter.h"
#include "testutil/send_adapter_fixture.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::AdapterFor;
using testutil::BuildCase;
using testutil::BuildErrorCase;
using testutil::ClassifyCase;
using testutil::ConfigFor;
using testutil::kNumber;
using testutil::RequestFor;
using E = SendErrorClass;

// --- Build: the exact request -------------------------------------------

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
};

class BuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(BuildTest, ExactRequest) { testutil::ExpectExactRequest(GetParam()); }

INSTANTIATE_TEST_SUITE_P(VerifyNow, BuildTest,
                         ::testing::ValuesIn(kBuildCases));

const BuildErrorCase kBuildErrorCases[] = {
    {"verifynow", Channel::kVoice, kNumber,
     "verifynow: channel voice not supported"},
    {"verifynow", Channel::kOther, kNumber,
     "verifynow: channel other not supported"},
    {"verifynow", Channel::kSms, "+999770090012",
     "verifynow: recipient has no known calling code"},
    // Not E.164: the error names the field, never the value.
    {"verifynow", Channel::kSms, "447700900123",
     "verifynow: recipient is not E.164 (+ and 8-15 digits)"},
};

class BuildErrorTest : public ::testing::TestWithParam<BuildErrorCase> {};

TEST_P(BuildErrorTest, Refused) { testutil::ExpectRefused(GetParam()); }

INSTANTIATE_TEST_SUITE_P(VerifyNow, BuildErrorTest,
                         ::testing::ValuesIn(kBuildErrorCases));

// --- Classify: every reply class ----------------------------------------

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
};

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Outcome) { testutil::ExpectOutcome(GetParam()); }

INSTANTIATE_TEST_SUITE_P(VerifyNow, ClassifyTest,
                         ::testing::ValuesIn(kClassifyCases),
                         testutil::ClassifyCaseName());

TEST(Classify, CoversTheReplyClasses) {
  testutil::ExpectCoversTheReplyClasses("verifynow", kClassifyCases);
}

// --- VerifyNow only ---

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

}  // namespace
}  // namespace dlrd
